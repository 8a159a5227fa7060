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

How (the cost is the sort behind the window, so everything sorted is narrow and fixed-width):

- ``activity_codes`` numbers the distinct activities in name order and ``actor_codes`` the actors
  (with an anchor: only actors who did it); ``ev`` is then (actor number, ts in epoch microseconds,
  activity_id, activity number). Numbering in name order keeps every ORDER BY on names valid on
  the numbers; names come back only for the few output rows.
- With a start anchor an actor's events before its first start event cannot be on a path, nor,
  with an end anchor, those after its last end event: they are not read (the session test of the
  first kept event then sees no predecessor, which only matters before the first start event).
- One window pass over the ordered events (two with collapse or anchors, which need each event's
  session flag first; the second pass orders by the first pass's row number, a single integer)
  and no per-path sort: a path is read with ``lead`` (or ``lag`` for end-anchored paths) from the
  row where it begins.

Output rows: ``kind`` 'total' (paths and actors), 'edge' (step, source, target, count, median
time between) and 'path' (a whole path, count, distinct actors, median first-to-last duration).
"""

from __future__ import annotations

from typing import Any

from ..common.columns import ACTOR_SQL
from ..common.requests import range_end, range_start
from ..common.sqltext import tidy
from .query import PathsActorsRequest, PathsRequest

# First pass: the true event order. Later passes: the row number it gave (same order, one integer).
WINDOW = "WINDOW w AS (PARTITION BY aid ORDER BY us, id)"
RN_WINDOW = "WINDOW w AS (PARTITION BY aid ORDER BY rn)"


def _event_filter(request: PathsRequest, bind: dict[str, Any], alias: str = "") -> str:
    """The date range and exclusions, on the columns of ``activities`` (``alias`` e.g. ``"e."``)."""
    parts = []
    start, end = range_start(request.date_from), range_end(request.date_to)
    if start is not None:
        bind["range_start"] = start
        parts.append(f"AND {alias}ts >= $range_start")
    if end is not None:
        bind["range_end"] = end
        parts.append(f"AND {alias}ts < $range_end")
    if request.exclude_activities:
        bind["excluded"] = list(request.exclude_activities)
        parts.append(f"AND NOT list_contains($excluded, {alias}activity)")
    return "\n      ".join(parts)


def _gap_test(request: PathsRequest, bind: dict[str, Any], later: str, earlier: str) -> str:
    """SQL: a session break between the events at ``earlier`` and ``later`` (NULL earlier: a start)."""
    if request.session_gap is None:
        return f"({earlier} IS NULL)"
    bind["gap_us"] = request.session_gap.microseconds
    return f"({earlier} IS NULL OR {later} - {earlier} > $gap_us)"


def _codes_ctes(request: PathsRequest, bind: dict[str, Any]) -> str:
    """``activity_codes`` and ``actor_codes`` (with the anchored actors' bounds ``lo_us`` / ``hi_us``)."""
    where = _event_filter(request, bind)
    bounds = {}
    if request.start_activity:
        bind["start_activity"] = request.start_activity
        bounds["lo_us"] = "min(epoch_us(ts)) FILTER (WHERE activity = $start_activity)"
    if request.end_activity:
        bind["end_activity"] = request.end_activity
        bounds["hi_us"] = "max(epoch_us(ts)) FILTER (WHERE activity = $end_activity)"
    if bounds:
        bind["anchors"] = [a for a in (request.start_activity, request.end_activity) if a]
        actors = f"""SELECT {ACTOR_SQL} AS actor, {", ".join(f"{sql} AS {name}" for name, sql in bounds.items())}
        FROM activities
        WHERE activity = ANY($anchors)
          AND {ACTOR_SQL} IS NOT NULL
          {where}
        GROUP BY actor
        HAVING {" AND ".join(f"{name} IS NOT NULL" for name in bounds)}"""
    else:
        actors = f"""SELECT DISTINCT {ACTOR_SQL} AS actor
        FROM activities
        WHERE {ACTOR_SQL} IS NOT NULL
          {where}"""
    return f"""activity_codes AS (
    SELECT activity, CAST(row_number() OVER (ORDER BY activity) AS INTEGER) AS code
    FROM (SELECT DISTINCT activity FROM activities)
),
actor_codes AS (
    SELECT *, CAST(row_number() OVER (ORDER BY actor) AS INTEGER) AS aid
    FROM (
        {actors}
    )
)"""


def _events_cte(request: PathsRequest, bind: dict[str, Any]) -> str:
    """``ev``: the events as (aid, us, id, act), flagged ``is_start_activity`` / ``is_end_activity``
    with an anchor, and then only from the actor's first start event / up to its last end event."""
    trims, flags = [], ""
    if request.start_activity:
        trims.append("AND epoch_us(e.ts) >= a.lo_us")
        flags += ", e.activity = $start_activity AS is_start_activity"
    if request.end_activity:
        trims.append("AND epoch_us(e.ts) <= a.hi_us")
        flags += ", e.activity = $end_activity AS is_end_activity"
    codes = _codes_ctes(request, bind)
    return f"""{codes},
ev AS (
    SELECT a.aid, epoch_us(e.ts) AS us, e.activity_id AS id, c.code AS act{flags}
    FROM activities e
    JOIN actor_codes a ON a.actor = coalesce(e.customer, e.anonymous_customer_id)
    JOIN activity_codes c ON c.activity = e.activity
    WHERE TRUE
      {_event_filter(request, bind, "e.")}
      {" ".join(trims)}
)"""


def _marked_cte(request: PathsRequest, bind: dict[str, Any]) -> str:
    """``marked``: the events with ``rn`` (their place in the actor's order) and ``is_new`` (the event
    starts a session), repeats collapsed."""
    keep = "WHERE is_new OR act <> prev_act" if request.collapse_repeats else ""
    flags = "".join(f", is_{a}" for a in ("start_activity", "end_activity") if getattr(request, a))
    return f"""marked AS (
    SELECT aid, us, act, rn, is_new{flags}
    FROM (
        SELECT *, {_gap_test(request, bind, "us", "prev_us")} AS is_new
        FROM (SELECT *, lag(us) OVER w AS prev_us, lag(act) OVER w AS prev_act, row_number() OVER w AS rn
              FROM ev {WINDOW})
    )
    {keep}
)"""


def _first_in_session(anchor: str) -> list[str]:
    """Window columns telling whether this row is the session's first ``anchor`` event."""
    return [f"max(rn) FILTER (WHERE is_{anchor}) OVER (w ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) "
            f"AS prev_{anchor}_rn",
            "max(rn) FILTER (WHERE is_new) OVER (w ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS session_rn"]


def _is_first(anchor: str) -> str:
    return f"(is_{anchor} AND (prev_{anchor}_rn IS NULL OR prev_{anchor}_rn < session_rn))"


def _plain(request: PathsRequest) -> bool:
    """No collapse and no anchor: one window pass suffices (breaks come from the lead times)."""
    return not (request.collapse_repeats or request.start_activity or request.end_activity)


def _forward(request: PathsRequest, bind: dict[str, Any]) -> list[str]:
    """Paths read forward with ``lead`` from their first step (no anchor, start, or start + end)."""
    n = request.step_limit
    leads = [f"lead(act, {k}) OVER w AS a{k}, lead(us, {k}) OVER w AS t{k}" for k in range(1, n)]
    if _plain(request):
        source, window = "ev", WINDOW
        leads.append("lag(us) OVER w AS prev_us")
        breaks = [_gap_test(request, bind, f"t{k}", "us" if k == 1 else f"t{k - 1}") for k in range(1, n)]
    else:
        source, window = "marked", RN_WINDOW
        leads += [f"lead(is_new, {k}) OVER w AS b{k}" for k in range(1, n)]
        breaks = [f"b{k}" for k in range(1, n)]
    if request.start_activity:
        leads += _first_in_session("start_activity")
        begins = _is_first("start_activity")
    else:
        begins = _gap_test(request, bind, "us", "prev_us") if _plain(request) else "is_new"
    length = "CASE " + " ".join(f"WHEN a{k} IS NULL OR {breaks[k - 1]} THEN {k}" for k in range(1, n)) + f" ELSE {n} END"
    acts = ", ".join(["act"] + [f"a{k}" for k in range(1, n)])
    times = ", ".join(["us"] + [f"t{k}" for k in range(1, n)])
    stop, flags = "len", ""
    if request.end_activity:
        # The first end event after step 1 (e_k: step k+1 is one), within the session's steps.
        leads += [f"lead(is_end_activity, {k}) OVER w AS e{k}" for k in range(1, n)]
        flags = ", [" + ", ".join(f"e{k}" for k in range(1, n)) + "] AS end_flags"
        stop = "list_position(end_flags[1:len - 1], true) + 1"
    return [f"""starts AS (
    SELECT aid, [{acts}] AS acts, [{times}] AS times, {length} AS len{flags}
    FROM (SELECT *, {", ".join(leads)} FROM {source} {window})
    WHERE {begins}
),
aligned AS (
    SELECT aid, acts[1:stop] AS path, times[1:stop] AS times, 0 AS step_offset
    FROM (SELECT *, {stop} AS stop FROM starts)
    WHERE stop IS NOT NULL
)"""]


def _backward(request: PathsRequest, bind: dict[str, Any]) -> list[str]:
    """Paths read backward with ``lag`` from the session's first ``end_activity`` event."""
    n = request.step_limit
    lags = [f"lag(act, {k}) OVER w AS a{k}, lag(us, {k}) OVER w AS t{k}" for k in range(1, n)]
    lags += [f"lag(is_new, {k}) OVER w AS b{k}" for k in range(1, n - 1)]
    lags += _first_in_session("end_activity")
    # Step -k belongs to the session if no event after it (up to this one) starts a session.
    breaks = ["is_new"] + [f"b{k}" for k in range(1, n - 1)]
    length = "CASE " + " ".join(f"WHEN {breaks[k - 1]} OR a{k} IS NULL THEN {k}" for k in range(1, n)) + f" ELSE {n} END"
    acts = ", ".join([f"a{k}" for k in range(n - 1, 0, -1)] + ["act"])
    times = ", ".join([f"t{k}" for k in range(n - 1, 0, -1)] + ["us"])
    return [f"""ends AS (
    SELECT aid, [{acts}] AS acts, [{times}] AS times, {length} AS len
    FROM (SELECT *, {", ".join(lags)} FROM marked {RN_WINDOW})
    WHERE {_is_first("end_activity")}
),
aligned AS (
    SELECT aid, acts[{n} - len + 1:] AS path, times[{n} - len + 1:] AS times, {n} - len AS step_offset
    FROM ends
)"""]


def _ctes(request: PathsRequest) -> tuple[list[str], dict[str, Any]]:
    bind: dict[str, Any] = {}
    ctes = [_events_cte(request, bind)] + ([] if _plain(request) else [_marked_cte(request, bind)])
    backward = request.end_activity is not None and request.start_activity is None
    ctes += _backward(request, bind) if backward else _forward(request, bind)
    ctes.append("""names AS (
    SELECT list(activity ORDER BY code) AS names
    FROM activity_codes
)""")
    return ctes, bind


def summary_sql(request: PathsRequest) -> tuple[str, dict[str, Any]]:
    ctes, bind = _ctes(request)
    bind.update(top_paths=request.top_paths, edge_limit=request.edge_limit)
    # Codes are numbered in name order, so ordering by codes is ordering by names.
    sql = "WITH " + ",\n".join(ctes) + """,
transitions AS (
    SELECT i + step_offset AS step, path[i] AS source, path[i + 1] AS target, times[i + 1] - times[i] AS gap_us
    FROM (SELECT *, unnest(range(1, len(path))) AS i FROM aligned)
),
edges AS (
    SELECT step, source, target, count(*) AS n, quantile_cont(gap_us, 0.5) AS median_us
    FROM transitions
    GROUP BY step, source, target
    ORDER BY n DESC, step, source, target
    LIMIT $edge_limit
),
path_counts AS (
    SELECT path, count(*) AS n
    FROM aligned
    GROUP BY path
    ORDER BY n DESC, path
    LIMIT $top_paths
),
top AS (
    SELECT p.path, any_value(p.n) AS n, count(DISTINCT a.aid) AS actors,
           quantile_cont(a.times[-1] - a.times[1], 0.5) AS median_us
    FROM path_counts p
    JOIN aligned a ON a.path = p.path
    GROUP BY p.path
)
SELECT 'total' AS kind, NULL AS step, NULL AS source, NULL AS target, count(*) AS n,
       count(DISTINCT aid) AS actors, NULL AS median_us, CAST(NULL AS VARCHAR[]) AS path
FROM aligned
UNION ALL
SELECT 'edge', step, names[source], names[target], n, NULL, median_us, NULL FROM edges, names
UNION ALL
SELECT 'path', NULL, NULL, NULL, n, actors, median_us, list_select(names, path) FROM top, names
"""
    return tidy(sql), bind


def actors_sql(request: PathsActorsRequest) -> tuple[str, dict[str, Any]]:
    """Actors with at least one path equal to (or, with ``prefix``, starting with) the given path."""
    ctes, bind = _ctes(request)
    d = request.drilldown
    bind.update(want=list(d.path), limit=d.limit, offset=d.offset)
    match = "path[1:len($want)] = want" if d.prefix else "path = want"
    sql = "WITH " + ",\n".join(ctes) + f""",
wanted AS (
    SELECT list(c.code ORDER BY w.i) AS want, count(c.code) = len($want) AS known
    FROM (SELECT unnest($want) AS activity, generate_subscripts($want, 1) AS i) w
    LEFT JOIN activity_codes c USING (activity)
),
matched AS (
    SELECT aid, count(*) AS paths, min(times[1]) AS first_us
    FROM aligned, wanted
    WHERE known AND {match}
    GROUP BY aid
)
SELECT x.actor, m.paths, make_timestamp(m.first_us) AS first_at, count(*) OVER () AS total
FROM matched m
JOIN actor_codes x USING (aid)
ORDER BY paths DESC, actor
LIMIT $limit OFFSET $offset
"""
    return tidy(sql), bind
