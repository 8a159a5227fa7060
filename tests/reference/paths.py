"""Brute-force paths reference: the documented rules (docs/paths.md) as plain Python."""

from __future__ import annotations

import statistics
from collections import defaultdict
from datetime import timedelta
from typing import Any

from tests.reference.funnels import Ev, entry_bounds


def sessions_of(evs: list[Ev], request: dict[str, Any]) -> list[list[Ev]]:
    gap = request.get("session_gap", {"minutes": 30})
    limit = None if gap is None else timedelta(**gap)
    out: list[list[Ev]] = []
    prev = None
    for e in evs:
        if prev is None or (limit is not None and e.ts - prev.ts > limit):
            out.append([])
        if not (request.get("collapse_repeats") and out[-1] and prev is not None and prev.activity == e.activity):
            out[-1].append(e)
        prev = e
    return out


def cut(session: list[Ev], request: dict[str, Any]) -> tuple[list[Ev], int] | None:
    """(path, step offset) of one session, or None."""
    n, start, end = request.get("step_limit", 5), request.get("start_activity"), request.get("end_activity")
    acts = [e.activity for e in session]
    if end and not start:
        if end not in acts:
            return None
        e = acts.index(end)
        path = session[max(0, e - n + 1):e + 1]
        return path, n - len(path)
    s = 0
    if start:
        if start not in acts:
            return None
        s = acts.index(start)
    if end:
        later = [i for i in range(s + 1, len(acts)) if acts[i] == end]
        if not later or later[0] - s + 1 > n:
            return None
        return session[s:later[0] + 1], 0
    return session[s:s + n], 0


def paths(events: list[Ev], request: dict[str, Any]) -> dict[str, Any]:
    lo, hi = entry_bounds(request)
    excluded = set(request.get("exclude_activities", []))
    by_actor: dict[str, list[Ev]] = defaultdict(list)
    for e in events:
        if e.actor is not None and e.activity not in excluded and (lo is None or e.ts >= lo) and (hi is None or e.ts < hi):
            by_actor[e.actor].append(e)
    found: list[tuple[str, list[Ev], int]] = []
    for actor, evs in by_actor.items():
        evs.sort(key=lambda e: (e.ts, e.id))
        for session in sessions_of(evs, request):
            got = cut(session, request)
            if got is not None:
                found.append((actor, got[0], got[1]))
    edges: dict[tuple[int, str, str], list[int]] = defaultdict(list)
    whole: dict[tuple[str, ...], list[tuple[str, int]]] = defaultdict(list)
    for actor, path, offset in found:
        for i in range(len(path) - 1):
            edges[(i + 1 + offset, path[i].activity, path[i + 1].activity)].append(
                (path[i + 1].ts - path[i].ts) // timedelta(microseconds=1))
        whole[tuple(e.activity for e in path)].append((actor, (path[-1].ts - path[0].ts) // timedelta(microseconds=1)))
    return {
        "paths_total": len(found),
        "actors_total": len({a for a, _, _ in found}),
        "edges": {k: (len(v), statistics.median(v)) for k, v in edges.items()},
        "paths": {k: (len(v), len({a for a, _ in v}), statistics.median(d for _, d in v)) for k, v in whole.items()},
    }
