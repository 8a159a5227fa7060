"""Paths SQL (SEMANTICS §7).

1. The actor's events (inside the date range, minus ``exclude_activities``), ordered by
   (ts, activity_id).
2. Sessions: a new session starts at the actor's first event and after every gap longer than
   ``session_gap`` (no gap: one session per actor). Gaps are measured between consecutive events
   before any collapsing.
3. ``collapse_repeats``: an event with the same activity as the event before it in its session is
   dropped (the step keeps the time of its first event).
4. A path is a session, cut at the anchors: from the session's first ``start_activity`` event; up to
   the session's first ``end_activity`` event (after the start event, when both are given). A
   session missing an anchor has no path.
5. ``step_limit`` keeps the first steps — or, with only ``end_activity``, the last steps, and those
   paths are numbered so the end activity is always step ``step_limit``. With both anchors, a path
   longer than ``step_limit`` steps is dropped (it does not reach the end in time).

How: one window pass over the ordered events (two with collapse or anchors, which need each event's
session flag first) and no per-path sort: a path is
read with ``lead`` (or ``lag`` for end-anchored paths) from the row where it begins.
Output rows: ``kind`` 'total' (paths and actors), 'edge' (step, source, target, count, median
time between) and 'path' (a whole path, count, distinct actors, median first-to-last duration).
"""

from __future__ import annotations

from typing import Any

from ..common.columns import ACTOR_SQL
from ..common.requests import range_end, range_start
from ..common.sqltext import tidy
from .query import PathsActorsRequest, PathsRequest

WINDOW = "WINDOW w AS (PARTITION BY actor ORDER BY ts, id)"
KEY = "{'ts': ts, 'id': id}"


def _event_filter(request: PathsRequest, bind: dict[str, Any]) -> str:
    parts = []
    start, end = range_start(request.date_from), range_end(request.date_to)
    if start is not None:
        bind["range_start"] = start
        parts.append("AND ts >= $range_start")
    if end is not None:
        bind["range_end"] = end
        parts.append("AND ts < $range_end")
    if request.exclude_activities:
        bind["excluded"] = list(request.exclude_activities)
        parts.append("AND NOT list_contains($excluded, activity)")
    return "\n      ".join(parts)


def _gap_test(request: PathsRequest, bind: dict[str, Any], later: str, earlier: str) -> str:
    """SQL: a session break between the events at ``earlier`` and ``later`` (NULL earlier: a start)."""
    if request.session_gap is None:
        return f"({earlier} IS NULL)"
    bind["gap_us"] = request.session_gap.microseconds
    return f"({earlier} IS NULL OR epoch_us({later}) - epoch_us({earlier}) > $gap_us)"


def _events_cte(request: PathsRequest, bind: dict[str, Any]) -> str:
    """``ev``: the events; with an anchor, only actors who did the anchor activity can have a path."""
    anchors = [a for a in (request.start_activity, request.end_activity) if a]
    only = ""
    if anchors:
        bind["anchors"] = anchors
        only = (f"AND {ACTOR_SQL} IN (SELECT {ACTOR_SQL} FROM activities WHERE activity = ANY($anchors)"
                f" {_event_filter(request, bind)})")
    return f"""ev AS (
    SELECT {ACTOR_SQL} AS actor, ts, activity_id AS id, activity
    FROM activities
    WHERE {ACTOR_SQL} IS NOT NULL
      {_event_filter(request, bind)}
      {only}
)"""


def _marked_cte(request: PathsRequest, bind: dict[str, Any]) -> str:
    """``marked``: the events with ``is_new`` (the event starts a session), repeats collapsed."""
    keep = "WHERE is_new OR activity <> prev_activity" if request.collapse_repeats else ""
    return f"""marked AS (
    SELECT actor, ts, id, activity, is_new
    FROM (
        SELECT *, {_gap_test(request, bind, "ts", "prev_ts")} AS is_new
        FROM (SELECT *, lag(ts) OVER w AS prev_ts, lag(activity) OVER w AS prev_activity FROM ev {WINDOW})
    )
    {keep}
)"""


def _first_in_session(anchor: str) -> str:
    """Window columns telling whether this row is the session's first ``anchor`` event."""
    return (f"max({KEY}) FILTER (WHERE activity = ${anchor}) OVER (w ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) "
            f"AS prev_{anchor}_key")


def _is_first(anchor: str) -> str:
    return f"(activity = ${anchor} AND (prev_{anchor}_key IS NULL OR prev_{anchor}_key < session_key))"


def _plain(request: PathsRequest) -> bool:
    """No collapse and no anchor: one window pass suffices (breaks come from the lead times)."""
    return not (request.collapse_repeats or request.start_activity or request.end_activity)


def _forward(request: PathsRequest, bind: dict[str, Any]) -> list[str]:
    """Paths read forward with ``lead`` from their first step (no anchor, start, or start + end)."""
    n = request.step_limit
    leads = [f"lead(activity, {k}) OVER w AS a{k}, lead(ts, {k}) OVER w AS t{k}" for k in range(1, n)]
    source = "ev" if _plain(request) else "marked"
    if _plain(request):
        leads.append("lag(ts) OVER w AS prev_ts")
        breaks = [_gap_test(request, bind, f"t{k}", "ts" if k == 1 else f"t{k - 1}") for k in range(1, n)]
    else:
        leads += [f"lead(is_new, {k}) OVER w AS b{k}" for k in range(1, n)]
        breaks = [f"b{k}" for k in range(1, n)]
    if request.start_activity:
        bind["start_activity"] = request.start_activity
        leads += [_first_in_session("start_activity"),
                  f"max({KEY}) FILTER (WHERE is_new) OVER (w ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS session_key"]
        begins = _is_first("start_activity")
    else:
        begins = _gap_test(request, bind, "ts", "prev_ts") if _plain(request) else "is_new"
    length = "CASE " + " ".join(f"WHEN a{k} IS NULL OR {breaks[k - 1]} THEN {k}" for k in range(1, n)) + f" ELSE {n} END"
    acts = ", ".join(["activity"] + [f"a{k}" for k in range(1, n)])
    times = ", ".join(["ts"] + [f"t{k}" for k in range(1, n)])
    ends, keep = "len", "TRUE"
    if request.end_activity:
        bind["end_activity"] = request.end_activity
        ends = "list_position(acts[2:len], $end_activity) + 1"
        keep = f"{ends} IS NOT NULL"
    return [f"""starts AS (
    SELECT actor, [{acts}] AS acts, [{times}] AS times, {length} AS len
    FROM (SELECT *, {", ".join(leads)} FROM {source} {WINDOW})
    WHERE {begins}
),
aligned AS (
    SELECT actor, acts[1:{ends}] AS path, times[1:{ends}] AS times, 0 AS step_offset
    FROM starts
    WHERE {keep}
)"""]


def _backward(request: PathsRequest, bind: dict[str, Any]) -> list[str]:
    """Paths read backward with ``lag`` from the session's first ``end_activity`` event."""
    n = request.step_limit
    bind["end_activity"] = request.end_activity
    lags = [f"lag(activity, {k}) OVER w AS a{k}, lag(ts, {k}) OVER w AS t{k}" for k in range(1, n)]
    lags += [f"lag(is_new, {k}) OVER w AS b{k}" for k in range(1, n - 1)]
    lags += [_first_in_session("end_activity"),
             f"max({KEY}) FILTER (WHERE is_new) OVER (w ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS session_key"]
    # Step -k belongs to the session if no event after it (up to this one) starts a session.
    breaks = ["is_new"] + [f"b{k}" for k in range(1, n - 1)]
    length = "CASE " + " ".join(f"WHEN {breaks[k - 1]} OR a{k} IS NULL THEN {k}" for k in range(1, n)) + f" ELSE {n} END"
    acts = ", ".join([f"a{k}" for k in range(n - 1, 0, -1)] + ["activity"])
    times = ", ".join([f"t{k}" for k in range(n - 1, 0, -1)] + ["ts"])
    return [f"""ends AS (
    SELECT actor, [{acts}] AS acts, [{times}] AS times, {length} AS len
    FROM (SELECT *, {", ".join(lags)} FROM marked {WINDOW})
    WHERE {_is_first("end_activity")}
),
aligned AS (
    SELECT actor, acts[{n} - len + 1:] AS path, times[{n} - len + 1:] AS times, {n} - len AS step_offset
    FROM ends
)"""]


def _ctes(request: PathsRequest) -> tuple[list[str], dict[str, Any]]:
    bind: dict[str, Any] = {}
    ctes = [_events_cte(request, bind)] + ([] if _plain(request) else [_marked_cte(request, bind)])
    backward = request.end_activity is not None and request.start_activity is None
    ctes += _backward(request, bind) if backward else _forward(request, bind)
    return ctes, bind


def summary_sql(request: PathsRequest) -> tuple[str, dict[str, Any]]:
    ctes, bind = _ctes(request)
    bind.update(top_paths=request.top_paths, edge_limit=request.edge_limit)
    sql = "WITH " + ",\n".join(ctes) + """,
transitions AS (
    SELECT i + step_offset AS step, path[i] AS source, path[i + 1] AS target,
           epoch_us(times[i + 1]) - epoch_us(times[i]) AS gap_us
    FROM (SELECT *, unnest(range(1, len(path))) AS i FROM aligned)
),
edge_counts AS (
    SELECT step, source, target, count(*) AS n
    FROM transitions
    GROUP BY step, source, target
    ORDER BY n DESC, step, source, target
    LIMIT $edge_limit
),
edges AS (
    SELECT e.step, e.source, e.target, any_value(e.n) AS n, quantile_cont(t.gap_us, 0.5) AS median_us
    FROM edge_counts e
    JOIN transitions t ON t.step = e.step AND t.source = e.source AND t.target = e.target
    GROUP BY e.step, e.source, e.target
),
path_counts AS (
    SELECT path, count(*) AS n
    FROM aligned
    GROUP BY path
    ORDER BY n DESC, path
    LIMIT $top_paths
),
top AS (
    SELECT p.path, any_value(p.n) AS n, count(DISTINCT a.actor) AS actors,
           quantile_cont(epoch_us(a.times[-1]) - epoch_us(a.times[1]), 0.5) AS median_us
    FROM path_counts p
    JOIN aligned a ON a.path = p.path
    GROUP BY p.path
)
SELECT 'total' AS kind, NULL AS step, NULL AS source, NULL AS target, count(*) AS n,
       count(DISTINCT actor) AS actors, NULL AS median_us, CAST(NULL AS VARCHAR[]) AS path
FROM aligned
UNION ALL
SELECT 'edge', step, source, target, n, NULL, median_us, NULL FROM edges
UNION ALL
SELECT 'path', NULL, NULL, NULL, n, actors, median_us, path FROM top
"""
    return tidy(sql), bind


def actors_sql(request: PathsActorsRequest) -> tuple[str, dict[str, Any]]:
    """Actors with at least one path equal to (or, with ``prefix``, starting with) the given path."""
    ctes, bind = _ctes(request)
    d = request.drilldown
    bind.update(want=list(d.path), limit=d.limit, offset=d.offset)
    match = "path[1:len($want)] = $want" if d.prefix else "path = $want"
    sql = "WITH " + ",\n".join(ctes) + f"""
SELECT actor, count(*) AS paths, min(times[1]) AS first_at, count(*) OVER () AS total
FROM aligned
WHERE {match}
GROUP BY actor
ORDER BY paths DESC, actor
LIMIT $limit OFFSET $offset
"""
    return tidy(sql), bind
