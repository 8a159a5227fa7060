"""Paths SQL for backends other than DuckDB (Snowflake): the rules of ``sql.py`` (SEMANTICS §7)
written without lists, so the dialect layer can render them there.

The DuckDB form builds each path as a list (``[a0, a1, …]``, sliced with ``acts[1:n]`` and searched
with ``list_position``) and keys anchors by struct maxima. Here:

- the window pass is the same (``lead``/``lag`` of activity, time and session flag from the row
  where a path begins or ends), and the path length the same ``CASE``; the end anchor's position is a
  ``CASE`` over the lead columns instead of ``list_position``;
- "the session's first anchor event" counts the anchor events before the row in its session
  (sessions numbered by a running count of session starts) instead of comparing struct keys;
- each path is unpivoted into one row per step (``steps``: path id, position, activity, time), so
  transitions come from ``lead`` over a path's steps;
- a path is grouped, ordered and matched by its key: its activities joined by a space
  (``PATH_SEPARATOR``), which sorts below every character an activity name may hold
  (``^[a-z][a-z0-9]*(_[a-z0-9]+)+$``), so key order is the DuckDB list order; the path itself is
  aggregated in step order (an ARRAY on Snowflake, which the runner parses when it arrives as JSON).

The provenance hash is taken over the DuckDB form: one question hashes the same on every backend.
"""

from __future__ import annotations

from typing import Any

from ...schema.columns import ACTIVITY_RE
from ..common.columns import ACTOR_SQL
from ..common.requests import range_end, range_start
from ..common.sqltext import tidy
from .query import PathsActorsRequest, PathsRequest

PATH_SEPARATOR = " "  # written as the literal ' ' in the key's string_agg below
WINDOW = "WINDOW w AS (PARTITION BY actor ORDER BY ts, id)"


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
    if request.session_gap is None:
        return f"({earlier} IS NULL)"
    bind["gap_us"] = request.session_gap.microseconds
    return f"({earlier} IS NULL OR epoch_us({later}) - epoch_us({earlier}) > $gap_us)"


def _events_cte(request: PathsRequest, bind: dict[str, Any]) -> str:
    anchors = []
    for name in ("start_activity", "end_activity"):
        if getattr(request, name):
            bind[name] = getattr(request, name)
            anchors.append(f"${name}")
    only = ""
    if anchors:
        only = (f"AND {ACTOR_SQL} IN (SELECT {ACTOR_SQL} FROM activities WHERE activity IN ({', '.join(anchors)})"
                f" {_event_filter(request, bind)})")
    return f"""ev AS (
    SELECT {ACTOR_SQL} AS actor, ts, activity_id AS id, activity
    FROM activities
    WHERE {ACTOR_SQL} IS NOT NULL
      {_event_filter(request, bind)}
      {only}
)"""


def _marked_cte(request: PathsRequest, bind: dict[str, Any]) -> str:
    """``marked``: events with ``is_new`` (starts a session) and ``sess`` (session number), repeats collapsed."""
    keep = "WHERE is_new OR activity <> prev_activity" if request.collapse_repeats else ""
    return f"""flagged AS (
    SELECT actor, ts, id, activity, is_new
    FROM (
        SELECT *, {_gap_test(request, bind, "ts", "prev_ts")} AS is_new
        FROM (SELECT *, lag(ts) OVER w AS prev_ts, lag(activity) OVER w AS prev_activity FROM ev {WINDOW}) AS lagged
    ) AS gapped
    {keep}
),
marked AS (
    SELECT *, sum(CASE WHEN is_new THEN 1 ELSE 0 END) OVER (w ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS sess
    FROM flagged
    {WINDOW}
)"""


def _earlier_anchors(anchor: str) -> str:
    """How many ``anchor`` events come before this row in its session (0: this is the first)."""
    return (f"count(CASE WHEN activity = ${anchor} THEN 1 END) OVER (PARTITION BY actor, sess ORDER BY ts, id "
            f"ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS earlier_{anchor}")


def _is_first(anchor: str) -> str:
    return f"(activity = ${anchor} AND earlier_{anchor} = 0)"


def _plain(request: PathsRequest) -> bool:
    return not (request.collapse_repeats or request.start_activity or request.end_activity)


def _steps(n: int, position: str) -> str:
    """``steps``: one row per step of each path in ``starts`` (``a0``/``t0`` are the row itself)."""
    arms = [f"""    SELECT pid, actor, {position.format(k=k)} AS pos, a{k} AS activity, t{k} AS ts, step_offset
    FROM starts
    WHERE plen > {k}""" for k in range(n)]
    return "steps AS (\n" + "\n    UNION ALL\n".join(arms) + "\n)"


def _forward(request: PathsRequest, bind: dict[str, Any]) -> list[str]:
    n = request.step_limit
    cols = [f"lead(activity, {k}) OVER w AS a{k}, lead(ts, {k}) OVER w AS t{k}" for k in range(1, n)]
    plain = _plain(request)
    source = "ev" if plain else "marked"
    if plain:
        cols.append("lag(ts) OVER w AS prev_ts")
        breaks = [_gap_test(request, bind, f"t{k}", "ts" if k == 1 else f"t{k - 1}") for k in range(1, n)]
        begins = _gap_test(request, bind, "ts", "prev_ts")
    else:
        cols += [f"lead(is_new, {k}) OVER w AS b{k}" for k in range(1, n)]
        breaks = [f"b{k}" for k in range(1, n)]
        begins = "is_new"
    if request.start_activity:
        cols.append(_earlier_anchors("start_activity"))
        begins = _is_first("start_activity")
    length = "CASE " + " ".join(f"WHEN a{k} IS NULL OR {breaks[k - 1]} THEN {k}" for k in range(1, n)) + f" ELSE {n} END"
    plen = "len"
    if request.end_activity:  # the first end event after the start; none: no path (plen NULL)
        plen = "CASE " + " ".join(f"WHEN len > {k} AND a{k} = $end_activity THEN {k + 1}" for k in range(1, n)) + " END"
    return [f"""windowed AS (
    SELECT *, activity AS a0, ts AS t0, {", ".join(cols)}
    FROM {source}
    {WINDOW}
),
lengths AS (
    SELECT *, {length} AS len
    FROM windowed
    WHERE {begins}
),
starts AS (
    SELECT *, id AS pid, {plen} AS plen, 0 AS step_offset
    FROM lengths
),
{_steps(n, "{k} + 1")}"""]


def _backward(request: PathsRequest, bind: dict[str, Any]) -> list[str]:
    n = request.step_limit
    bind["end_activity"] = request.end_activity
    cols = [f"lag(activity, {k}) OVER w AS a{k}, lag(ts, {k}) OVER w AS t{k}" for k in range(1, n)]
    cols += [f"lag(is_new, {k}) OVER w AS b{k}" for k in range(1, n - 1)]
    cols.append(_earlier_anchors("end_activity"))
    breaks = ["is_new"] + [f"b{k}" for k in range(1, n - 1)]
    length = "CASE " + " ".join(f"WHEN {breaks[k - 1]} OR a{k} IS NULL THEN {k}" for k in range(1, n)) + f" ELSE {n} END"
    return [f"""windowed AS (
    SELECT *, activity AS a0, ts AS t0, {", ".join(cols)}
    FROM marked
    {WINDOW}
),
starts AS (
    SELECT *, id AS pid, {length} AS plen, {n} - ({length}) AS step_offset
    FROM windowed
    WHERE {_is_first("end_activity")}
),
{_steps(n, "plen - {k}")}"""]


def _ctes(request: PathsRequest) -> tuple[list[str], dict[str, Any]]:
    bind: dict[str, Any] = {}
    ctes = [_events_cte(request, bind)] + ([] if _plain(request) else [_marked_cte(request, bind)])
    backward = request.end_activity is not None and request.start_activity is None
    ctes += _backward(request, bind) if backward else _forward(request, bind)
    ctes.append("""paths AS (
    SELECT pid, any_value(actor) AS actor, string_agg(activity, ' ' ORDER BY pos) AS pkey,
           list(activity ORDER BY pos) AS path, min(ts) AS first_ts,
           epoch_us(max(ts)) - epoch_us(min(ts)) AS duration_us
    FROM steps
    GROUP BY pid
)""")
    return ctes, bind


def summary_sql(request: PathsRequest) -> tuple[str, dict[str, Any]]:
    """The rows of ``sql.summary_sql``: kind 'total', 'edge' and 'path'."""
    ctes, bind = _ctes(request)
    bind.update(top_paths=request.top_paths, edge_limit=request.edge_limit)
    sql = "WITH " + ",\n".join(ctes) + """,
transitions AS (
    SELECT step, source, target, gap_us
    FROM (
        SELECT pos + step_offset AS step, activity AS source,
               lead(activity) OVER (PARTITION BY pid ORDER BY pos) AS target,
               epoch_us(lead(ts) OVER (PARTITION BY pid ORDER BY pos)) - epoch_us(ts) AS gap_us
        FROM steps
    ) AS paired
    WHERE target IS NOT NULL
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
    SELECT pkey, count(*) AS n
    FROM paths
    GROUP BY pkey
    ORDER BY n DESC, pkey
    LIMIT $top_paths
),
top AS (
    SELECT c.pkey, any_value(c.n) AS n, count(DISTINCT p.actor) AS actors,
           quantile_cont(p.duration_us, 0.5) AS median_us, any_value(p.path) AS path
    FROM path_counts c
    JOIN paths p ON p.pkey = c.pkey
    GROUP BY c.pkey
)
SELECT 'total' AS kind, NULL AS step, NULL AS source, NULL AS target, count(*) AS n,
       count(DISTINCT actor) AS actors, NULL AS median_us, CAST(NULL AS VARCHAR[]) AS path
FROM paths
UNION ALL
SELECT 'edge', step, source, target, n, NULL, median_us, NULL FROM edges
UNION ALL
SELECT 'path', NULL, NULL, NULL, n, actors, median_us, path FROM top
"""
    return tidy(sql), bind


def actors_sql(request: PathsActorsRequest) -> tuple[str, dict[str, Any]]:
    """The rows of ``sql.actors_sql``: actors with a path equal to (or starting with) the given one."""
    ctes, bind = _ctes(request)
    d = request.drilldown
    # A step that is not an activity name can match no stored path (and must not be read as two).
    key = PATH_SEPARATOR.join(d.path) if all(ACTIVITY_RE.match(a) for a in d.path) else None
    bind.update(want_key=key, limit=d.limit, offset=d.offset)
    match = "pkey = $want_key"
    if d.prefix:
        bind["want_prefix"] = None if key is None else key + PATH_SEPARATOR
        match = "(pkey = $want_key OR starts_with(pkey, $want_prefix))"
    sql = "WITH " + ",\n".join(ctes) + f"""
SELECT actor, count(*) AS paths, min(first_ts) AS first_at, count(*) OVER () AS total
FROM paths
WHERE {match}
GROUP BY actor
ORDER BY paths DESC, actor
LIMIT $limit OFFSET $offset
"""
    return tidy(sql), bind


def _register() -> None:
    from ..runner import register_dialect_build
    from .runner import PATHS_ACTORS_TEMPLATE, PATHS_TEMPLATE

    register_dialect_build(PATHS_TEMPLATE.name, "snowflake", summary_sql)
    register_dialect_build(PATHS_ACTORS_TEMPLATE.name, "snowflake", actors_sql)


_register()
