"""Funnel SQL for backends other than DuckDB (Snowflake): the same rules as ``sql.py``, written
only with constructs the dialect layer can render there.

The DuckDB form (``builders.py``, ``sql.py``) leans on lists, structs and lambdas (``used`` lists of
chain events, ``min({ts, later, id})``, ``arg_max(struct, HUGEINT key)``, ``list_sort(list_filter(…))``,
a ``RANGE … to_microseconds(…) FOLLOWING`` frame). This module gives each of those a window-function
form, so the answers are the same (tests/integration/test_funnel_paths_portable.py runs both forms
on DuckDB over the golden cases, and this form on the fakesnow emulator):

- ordered: one chain per step-1 event (``id1``); step k joins the events matching step k at or
  after the chain's latest time, within the window, that the chain has not used (the events it
  used at that instant are among ``id1`` … ``id{k-1}``: earlier instants are excluded by time), and
  keeps the first by (ts, later steps matched, activity_id) with ``QUALIFY row_number() … = 1``.
  When steps have pairwise different activities this is the disjoint builder's chain, too.
- strict: ``lead`` over the actor's timeline, as in DuckDB.
- unordered: a self-join gives each entry the first event of every step in [ts, ts + window]; the
  k-th smallest of those times comes from ``row_number`` over the unpivoted times.
- counted: ``QUALIFY row_number() OVER (PARTITION BY actor ORDER BY level DESC, t1, id1) = 1``.
- the histogram's bin is exact integer arithmetic (``(d - lo - mod(d - lo, width)) / width``), and
  ``ttc`` is an object (``OBJECT_CONSTRUCT`` on Snowflake; the runner parses it when it arrives as
  JSON text).

The provenance hash is always taken over the DuckDB form (``sql.py``): one question hashes the same
on every backend. This module's text is what runs.
"""

from __future__ import annotations

from typing import Any

from ..common.columns import ACTOR_SQL
from .query import FunnelActorsRequest, FunnelRequest
from .shared import Resolved, entry_end, resolve, scan_bounds
from .sql import drilldown_select, labeled_ctes, summary_select

DEADLINE_SQL = "{t} + to_microseconds($window_us)"


def _level(n: int, prefix: str = "") -> str:
    return " + ".join(["1"] + [f"CAST({prefix}t{k} IS NOT NULL AS INTEGER)" for k in range(2, n + 1)])


def _times_until(level: str, n: int, prefix: str = "t") -> str:
    return ", ".join(f"CASE WHEN {level} >= {k} THEN {prefix}{k} END AS t{k}" for k in range(2, n + 1))


def _events_cte(r: Resolved) -> str:
    """``ev``: the events of the funnel's activities, flagged per step (``m1`` …) and exclusion."""
    flags = [f"{sql} AS m{k}" for k, sql in enumerate(r.step_sql, start=1)]
    flags += [f"{sql} AS x{j}" for j, (sql, _, _) in enumerate(r.exclusions, start=1)]
    for i, name in enumerate(r.activities):
        r.bind[f"act_{i}"] = name
    names = ", ".join(f"$act_{i}" for i in range(len(r.activities)))
    columns = ",\n           ".join([f"{ACTOR_SQL} AS actor", "ts", "activity_id AS id", *flags,
                                     f"{r.breakdown_sql} AS bvalue"])
    return f"""ev AS (
    SELECT {columns}
    FROM activities
    WHERE activity IN ({names})
      AND {ACTOR_SQL} IS NOT NULL
      {scan_bounds(r)}
)"""


def _entries(r: Resolved, chains: str) -> list[str]:
    """Exclusions cut the chains of ``chains``; ``entries`` keeps the times up to the level."""
    ctes, cut, join = [], "NULL", ""
    if r.exclusions:
        arms = " ".join(f"WHEN e.x{j} AND e.ts > c.t{i} AND e.ts < c.t{i + 1} THEN {i}"
                        for j, (_, first, last) in enumerate(r.exclusions, start=1) for i in range(first, last))
        any_x = " OR ".join(f"e.x{j}" for j in range(1, len(r.exclusions) + 1))
        ctes.append(f"""xcut AS (
    SELECT c.id1, min(CASE {arms} END) AS cut
    FROM {chains} c
    JOIN ev e
      ON e.actor = c.actor
     AND ({any_x})
     AND e.ts > c.t1
     AND e.ts < c.deadline
    GROUP BY c.id1
)""")
        cut, join = "x.cut", "LEFT JOIN xcut x ON x.id1 = c.id1"
    ctes.append(f"""entries AS (
    SELECT actor, id1, t1, bvalue, {_times_until("level", r.n)}
    FROM (
        SELECT c.*, least({_level(r.n, "c.")}, coalesce({cut}, {r.n})) AS level
        FROM {chains} c
        {join}
    ) AS leveled
)""")
    return ctes


def ordered(r: Resolved) -> list[str]:
    """One chain per step-1 event; step k is the first unused step-k event at or after step k-1."""
    ctes = [_events_cte(r), f"""c1 AS (
    SELECT actor, id AS id1, ts AS t1, {DEADLINE_SQL.format(t="ts")} AS deadline, bvalue, ts AS t_last
    FROM ev
    WHERE m1
      {entry_end(r, "ts")}
)"""]
    for k in range(2, r.n + 1):
        carried = "".join(f"c.t{j}, c.id{j}, " for j in range(2, k))
        unused = " ".join(f"AND e.id <> c.id{j}" for j in range(1, k))
        later = "".join(f" + CAST(e.m{j} AS INTEGER)" for j in range(k + 1, r.n + 1))
        order = f"e.ts, {later[3:]}, e.id" if later else "e.ts, e.id"
        ctes.append(f"""c{k} AS (
    SELECT c.actor, c.id1, c.t1, c.deadline, c.bvalue, {carried}e.ts AS t{k}, e.id AS id{k}, e.ts AS t_last
    FROM c{k - 1} c
    LEFT JOIN ev e
      ON e.actor = c.actor
     AND e.m{k}
     AND e.ts >= c.t_last
     AND e.ts <= c.deadline
     {unused}
    QUALIFY row_number() OVER (PARTITION BY c.id1 ORDER BY {order}) = 1
)""")
    return ctes + _entries(r, f"c{r.n}")


def strict(r: Resolved) -> list[str]:
    """Step k of an entry is the event k-1 places after it in the actor's whole timeline."""
    leads = ",\n           ".join(f"lead(m{k}, {k - 1}) OVER w AS n{k}, lead(ts, {k - 1}) OVER w AS nt{k}"
                                  for k in range(2, r.n + 1))
    flags = ", ".join(f"{sql} AS m{k}" for k, sql in enumerate(r.step_sql, start=1))
    deadline = DEADLINE_SQL.format(t="ts")
    arms = " ".join(f"WHEN NOT coalesce(n{k} AND nt{k} <= {deadline}, false) THEN {k - 1}" for k in range(2, r.n + 1))
    bounds = scan_bounds(r)
    return [f"""entry_actors AS (
    SELECT DISTINCT {ACTOR_SQL} AS actor
    FROM activities
    WHERE {r.step_sql[0]}
      {bounds}
      {entry_end(r, "ts")}
),
tl AS (
    SELECT {ACTOR_SQL} AS actor, ts, activity_id AS id, {flags}, {r.breakdown_sql} AS bvalue
    FROM activities
    WHERE {ACTOR_SQL} IN (SELECT actor FROM entry_actors)
      {bounds}
),
seq AS (
    SELECT *,
           {leads}
    FROM tl
    WINDOW w AS (PARTITION BY actor ORDER BY ts, id)
),
entries AS (
    SELECT actor, id AS id1, ts AS t1, bvalue, {_times_until("level", r.n, "nt")}
    FROM (
        SELECT *, CASE {arms} ELSE {r.n} END AS level
        FROM seq
        WHERE m1
          {entry_end(r, "ts")}
    ) AS leveled
)"""]


def unordered(r: Resolved) -> list[str]:
    """An entry is any step event; it reaches as many steps as have an event in [ts, ts + window]."""
    firsts = ",\n           ".join(f"min(CASE WHEN e.m{k} THEN e.ts END) AS f{k}" for k in range(1, r.n + 1))
    any_step = " OR ".join(f"s.m{k}" for k in range(1, r.n + 1))
    stamps = "\n    UNION ALL\n    ".join(f"SELECT actor, id1, t1, bvalue, f{k} AS f FROM framed" for k in range(1, r.n + 1))
    times = ", ".join(f"max(CASE WHEN r = {k} THEN f END) AS t{k}" for k in range(2, r.n + 1))
    return [_events_cte(r), f"""framed AS (
    SELECT s.actor, s.id AS id1, s.ts AS t1, s.bvalue,
           {firsts}
    FROM ev s
    JOIN ev e
      ON e.actor = s.actor
     AND e.ts >= s.ts
     AND e.ts <= {DEADLINE_SQL.format(t="s.ts")}
    WHERE ({any_step})
      {entry_end(r, "s.ts")}
    GROUP BY s.actor, s.id, s.ts, s.bvalue
),
stamps AS (
    {stamps}
),
ranked AS (
    SELECT *, row_number() OVER (PARTITION BY id1 ORDER BY f) AS r
    FROM stamps
    WHERE f IS NOT NULL
),
entries AS (
    SELECT actor, id1, t1, bvalue, {times}
    FROM ranked
    GROUP BY actor, id1, t1, bvalue
)"""]


BUILDERS = {"ordered": ordered, "strict": strict, "unordered": unordered}


def _counted_ctes(r: Resolved) -> list[str]:
    times = ", ".join(f"t{k}" for k in range(1, r.n + 1))
    ctes = [f"""counted AS (
    SELECT actor, level, id1, bvalue, {times}
    FROM (SELECT *, {_level(r.n)} AS level FROM entries) AS leveled
    QUALIFY row_number() OVER (PARTITION BY actor ORDER BY level DESC, t1, id1) = 1
)"""]
    return ctes + labeled_ctes(r)


def _ctes(request: FunnelRequest) -> tuple[list[str], Resolved]:
    r = resolve(request)
    if r.has_breakdown:
        r.bind["breakdown_limit"] = request.breakdown_limit
    return BUILDERS[request.order](r) + _counted_ctes(r), r


def summary_sql(request: FunnelRequest) -> tuple[str, dict[str, Any]]:
    """The columns of ``sql.summary_sql``: ``reached_k``, ``median_us_k``, ``mean_us_k``, ``ttc``."""
    ctes, r = _ctes(request)
    n = r.n
    r.bind["bins"] = request.histogram_bins
    reached = ",\n       ".join(f"count(CASE WHEN level >= {k} THEN 1 END) AS reached_{k}" for k in range(1, n + 1))
    gaps = ",\n       ".join(
        f"quantile_cont(epoch_us(t{k}) - epoch_us(t{k - 1}), 0.5) AS median_us_{k}, "
        f"avg(epoch_us(t{k}) - epoch_us(t{k - 1})) AS mean_us_{k}" for k in range(2, n + 1))
    if r.has_breakdown:
        grouping = "GROUPING(bucket, is_other) <> 0 AS is_total, bucket, is_other,"
        group_by = "GROUP BY GROUPING SETS ((), (bucket, is_other))"
    else:
        grouping, group_by = "true AS is_total, CAST(NULL AS VARCHAR) AS bucket, false AS is_other,", ""
    ctes.append(f"""converted AS (
    SELECT epoch_us(t{n}) - epoch_us(t1) AS d
    FROM counted
    WHERE level = {n}
),
span AS (
    SELECT min(d) AS lo, greatest(1, CAST(ceil((max(d) - min(d) + 1) / $bins) AS BIGINT)) AS width,
           count(*) AS converted, quantile_cont(d, 0.5) AS median_us, avg(d) AS mean_us
    FROM converted
),
binned AS (
    SELECT least(CAST(((c.d - s.lo) - ((c.d - s.lo) % s.width)) / s.width AS BIGINT), $bins - 1) AS bin
    FROM converted c, span s
),
histogram AS (
    SELECT list({{'bin': bin, 'count': actors}} ORDER BY bin) AS bins
    FROM (SELECT bin, count(*) AS actors FROM binned GROUP BY bin) AS per_bin
),
summary AS (
    SELECT {grouping}
       {reached},
       {gaps}
    FROM labeled
    {group_by}
)""")
    return summary_select(ctes, r)


def actors_sql(request: FunnelActorsRequest) -> tuple[str, dict[str, Any]]:
    """The columns of ``sql.actors_sql``: one page of the actors who reached / dropped at a step."""
    ctes, r = _ctes(request)
    return drilldown_select(ctes, r, request)


def _register() -> None:
    from ..runner import register_dialect_build
    from .runner import FUNNEL_ACTORS_TEMPLATE, FUNNEL_TEMPLATE

    register_dialect_build(FUNNEL_TEMPLATE.name, "snowflake", summary_sql)
    register_dialect_build(FUNNEL_ACTORS_TEMPLATE.name, "snowflake", actors_sql)


_register()
