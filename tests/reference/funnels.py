"""Brute-force funnel reference: the documented rules (docs/funnels.md) as plain loops over events.

Deliberately naive (per entry, per step, scan every event) so that it is obviously right; the tests
compare it with the SQL engine on random streams.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

OTHER = "$other"


@dataclass(frozen=True)
class Ev:
    id: str
    ts: datetime
    activity: str
    actor: str | None
    features: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)


def from_records(records: list[dict[str, Any]]) -> list[Ev]:
    out = []
    for r in records:
        actor = r.get("customer") or r.get("anonymous_customer_id")
        ts = datetime.fromisoformat(r["ts"].replace("Z", "+00:00")).replace(tzinfo=None)
        out.append(Ev(r["activity_id"], ts, r["activity"], actor, r.get("feature_json") or {}))
    return out


def _value(ev: Ev, column: str) -> Any:
    if column.startswith("feature_json."):
        return ev.features.get(column.split(".", 1)[1])
    return {"activity": ev.activity, "activity_id": ev.id, "actor": ev.actor}[column]


def matches_filter(ev: Ev, f: dict[str, Any]) -> bool:
    v, op, want = _value(ev, f["column"]), f.get("op", "="), f.get("value")
    if op == "is_null":
        return v is None
    if op == "is_not_null":
        return v is not None
    if v is None:
        return False
    if op == "in":
        return str(v) in [str(w) for w in want]
    if op == "not_in":
        return str(v) not in [str(w) for w in want]
    return {"=": v == want, "!=": v != want}[op]


def matches(ev: Ev, step: dict[str, Any] | str) -> bool:
    step = {"activity": step} if isinstance(step, str) else step
    return ev.activity == step["activity"] and all(matches_filter(ev, f) for f in step.get("filters", []))


def window_of(request: dict[str, Any]) -> timedelta:
    w = request.get("window", {"days": 14})
    return timedelta(**{k: v for k, v in w.items()})


def entry_bounds(request: dict[str, Any]) -> tuple[datetime | None, datetime | None]:
    def parse(v: Any, end: bool) -> datetime | None:
        if v is None:
            return None
        if len(v) == 10:
            d = datetime.combine(date.fromisoformat(v), time())
            return d + timedelta(days=1) if end else d
        d = datetime.fromisoformat(v)
        return d + timedelta(microseconds=1) if end else d
    return parse(request.get("date_from"), False), parse(request.get("date_to"), True)


def _in_range(ts: datetime, lo: datetime | None, hi: datetime | None) -> bool:
    return (lo is None or ts >= lo) and (hi is None or ts < hi)


def _ordered_chain(evs: list[Ev], steps: list[Any], e1: Ev, w: timedelta) -> list[datetime]:
    used, times, t_last, deadline = {e1.id}, [e1.ts], e1.ts, e1.ts + w
    for k in range(1, len(steps)):
        cands = [e for e in evs if matches(e, steps[k]) and t_last <= e.ts <= deadline and e.id not in used]
        if not cands:
            break
        later = lambda e, k=k: sum(matches(e, s) for s in steps[k + 1:])  # noqa: E731
        best = min(cands, key=lambda e: (e.ts, later(e), e.id))
        used.add(best.id)
        times.append(best.ts)
        t_last = best.ts
    return times


def _apply_exclusions(evs: list[Ev], times: list[datetime], request: dict[str, Any]) -> list[datetime]:
    n = len(request["steps"])
    for i in range(1, len(times)):  # pair (i, i+1), 1-based: times[i-1] .. times[i]
        for x in request.get("exclusions", []):
            lo, hi = x.get("from_step", 1), x.get("to_step") or n
            if lo <= i < hi and any(matches(e, x) and times[i - 1] < e.ts < times[i] for e in evs):
                return times[:i]
    return times


def _strict_chain(timeline: list[Ev], steps: list[Any], p: int, w: timedelta) -> list[datetime]:
    e1, times = timeline[p], [timeline[p].ts]
    for k in range(1, len(steps)):
        q = p + k
        if q < len(timeline) and matches(timeline[q], steps[k]) and timeline[q].ts <= e1.ts + w:
            times.append(timeline[q].ts)
        else:
            break
    return times


def _unordered_chain(evs: list[Ev], steps: list[Any], e1: Ev, w: timedelta) -> list[datetime]:
    inside = [e for e in evs if e1.ts <= e.ts <= e1.ts + w]
    firsts = [min((e.ts for e in inside if matches(e, s)), default=None) for s in steps]
    return sorted(t for t in firsts if t is not None)


def entries_of(evs: list[Ev], request: dict[str, Any]) -> list[tuple[Ev, list[datetime]]]:
    """Every entry of one actor with its (exclusion-cut) chain of step times."""
    steps, w, order = request["steps"], window_of(request), request.get("order", "ordered")
    lo, hi = entry_bounds(request)
    timeline = sorted(evs, key=lambda e: (e.ts, e.id))
    out = []
    for p, e in enumerate(timeline):
        if not _in_range(e.ts, lo, hi):
            continue
        if order == "unordered":
            if any(matches(e, s) for s in steps):
                out.append((e, _unordered_chain(timeline, steps, e, w)))
        elif matches(e, steps[0]):
            chain = (_strict_chain(timeline, steps, p, w) if order == "strict"
                     else _apply_exclusions(timeline, _ordered_chain(timeline, steps, e, w), request))
            out.append((e, chain))
    return out


def counted(events: list[Ev], request: dict[str, Any]) -> dict[str, tuple[Ev, list[datetime]]]:
    """Per actor: the counted entry (furthest step; earliest (ts, activity_id) wins a tie)."""
    by_actor: dict[str, list[Ev]] = defaultdict(list)
    for e in events:
        if e.actor is not None:
            by_actor[e.actor].append(e)
    out = {}
    for actor, evs in by_actor.items():
        entries = entries_of(evs, request)
        if entries:
            out[actor] = min(entries, key=lambda it: (-len(it[1]), it[0].ts, it[0].id))
    return out


def _us(d: timedelta) -> int:
    return d // timedelta(microseconds=1)


def step_stats(chosen: list[tuple[Ev, list[datetime]]], n: int) -> list[dict[str, Any]]:
    out = []
    for k in range(1, n + 1):
        reached = [times for _, times in chosen if len(times) >= k]
        gaps = [_us(t[k - 1] - t[k - 2]) for t in reached] if k > 1 else []
        out.append({"count": len(reached),
                    "median_us": statistics.median(gaps) if gaps else None,
                    "mean_us": statistics.fmean(gaps) if gaps else None})
    return out


def funnel(events: list[Ev], request: dict[str, Any]) -> dict[str, Any]:
    """Counts and times per step, per breakdown bucket, and the time-to-convert values."""
    n = len(request["steps"])
    chosen = counted(events, request)
    result: dict[str, Any] = {"steps": step_stats(list(chosen.values()), n)}
    result["converted_us"] = sorted(_us(t[-1] - t[0]) for _, t in chosen.values() if len(t) == n)
    if request.get("breakdown"):
        col = request["breakdown"]
        buckets: dict[Any, list[tuple[Ev, list[datetime]]]] = defaultdict(list)
        for e, times in chosen.values():
            v = _value(e, col)
            buckets[None if v is None else str(v)].append((e, times))
        ranked = sorted(buckets, key=lambda v: (-len(buckets[v]), v is None, v or ""))
        limit = request.get("breakdown_limit", 10)
        top, rest = ranked[:limit], ranked[limit:]
        result["breakdown"] = {v: step_stats(buckets[v], n) for v in top}
        if rest:
            result["breakdown"][OTHER] = step_stats([it for v in rest for it in buckets[v]], n)
    return result


def max_chain_level(evs: list[Ev], steps: list[Any], e1: Ev, w: timedelta) -> int:
    """The longest valid ordered chain from e1 (any choice of events), by exhaustive search."""
    timeline = sorted(evs, key=lambda e: (e.ts, e.id))

    def extend(k: int, t_last: datetime, used: frozenset[str]) -> int:
        if k == len(steps):
            return k
        best = k
        for e in timeline:
            if e.id not in used and matches(e, steps[k]) and t_last <= e.ts <= e1.ts + w:
                best = max(best, extend(k + 1, e.ts, used | {e.id}))
                if best == len(steps):
                    break
        return best

    return extend(1, e1.ts, frozenset({e1.id}))
