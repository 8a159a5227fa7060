"""Brute-force retention reference: the documented rules (docs/retention.md) as plain Python."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from typing import Any

from tests.reference.funnels import Ev, entry_bounds, matches


def period_start(d: date, period: str) -> date:
    if period == "week":
        return d - timedelta(days=d.weekday())
    if period == "month":
        return d.replace(day=1)
    return d


def shift(p: date, period: str, k: int) -> date:
    if period == "day":
        return p + timedelta(days=k)
    if period == "week":
        return p + timedelta(weeks=k)
    m = p.year * 12 + p.month - 1 + k
    return date(m // 12, m % 12 + 1, 1)


def retention(events: list[Ev], request: dict[str, Any]) -> dict[date, tuple[int, list[int]]]:
    """{cohort period start: (size, [actors counted in interval k for k < intervals])}."""
    period, n = request.get("period", "week"), request.get("intervals", 8)
    mode, kind = request.get("mode", "on"), request.get("cohort", "first_time")
    start, ret = request["start"], request.get("return")
    lo, hi = entry_bounds(request)
    starts: dict[str, set[date]] = defaultdict(set)
    returns: dict[str, set[date]] = defaultdict(set)
    for e in events:
        if e.actor is None:
            continue
        p = period_start(e.ts.date(), period)
        if matches(e, start):
            starts[e.actor].add(p)
        if ret is None or matches(e, ret):
            returns[e.actor].add(p)
    members: dict[date, set[str]] = defaultdict(set)
    for actor, periods in starts.items():
        for p in ([min(periods)] if kind == "first_time" else periods):
            from datetime import datetime
            at = datetime(p.year, p.month, p.day)
            if (lo is None or at >= lo) and (hi is None or at < hi):
                members[p].add(actor)
    out = {}
    for cohort, actors in members.items():
        counts = []
        for k in range(n):
            target = shift(cohort, period, k)
            if mode == "on":
                counts.append(sum(target in returns[a] for a in actors))
            else:
                counts.append(sum(any(q >= target for q in returns[a]) for a in actors))
        out[cohort] = (len(actors), counts)
    return out
