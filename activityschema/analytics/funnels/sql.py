"""Funnel SQL (SEMANTICS §5): the builders of ``builders.py`` give ``entries``; this module adds
``counted`` and the summary / drill-down selects.

``counted`` has one row per actor: its counted entry — the furthest step over all its entries; the
earliest entry, by (ts, activity_id), wins a tie — with ``level`` (the furthest step), ``t1`` … ``tN``
(the step times, NULL past the level) and ``bvalue`` (the breakdown value of the step-1 event).

The rules per order:

ordered   For each entry (a step-1 event inside the date range) the chain takes, step after step,
          the earliest event matching the next step with ts >= the previous step's ts, within the
          window from step 1, that the chain has not used. Among events at that same earliest ts it
          takes the one matching the fewest later steps, then the lowest activity_id: so an instant
          holding several events fills as many steps as it can (exact whenever the events at one
          instant match nested sets of steps — always, unless two steps share an activity with
          crossing filters). One join per step; no per-event loop.
          Exclusions: an exclusion event strictly between the times of steps i and i+1
          (from_step <= i < to_step) stops the entry at step i.
strict    Step k of an entry is the event k-1 places after the step-1 event in the actor's timeline
          (all activities, ordered by (ts, activity_id)); it must match step k and lie in the window.
unordered An entry is any event matching a step; it reaches as many steps as have an event in
          [ts, ts + window] (steps have different activities, so one event fills one step); the
          step times are those steps' first events, sorted.
"""

from __future__ import annotations

from typing import Any

from .builders import BUILDERS
from .query import OTHER_BUCKET, FunnelActorsRequest, FunnelRequest
from ..common.sqltext import tidy
from .shared import Resolved, resolve

NONE_BUCKET = "$none"


def _counted_ctes(r: Resolved, *, same_chain_per_instant: bool) -> list[str]:
    """``counted``: per actor the entry with the highest level, then the lowest (t1, id1). When all
    entries of an actor at one instant have the same chain (disjoint ordered steps, no breakdown),
    one integer key — level, then -t1 — picks it: every step time is then taken by its own scalar
    ``arg_max_null`` on that key (ties on the key have equal chains, so the picks agree), which is
    cheaper than building and comparing structs. ``arg_max_null`` keeps a NULL time (a step not
    reached) rather than skipping to another entry."""
    level = " + ".join(["1"] + [f"CAST(t{k} IS NOT NULL AS INTEGER)" for k in range(2, r.n + 1)])
    times = ["t1"] + [f"t{k}" for k in range(2, r.n + 1)]
    if same_chain_per_instant:
        picks = ", ".join(f"arg_max_null({c}, pick) AS {c}" for c in times)
        return [f"""counted AS (
    SELECT actor, {", ".join(times)}, '' AS id1, CAST(NULL AS VARCHAR) AS bvalue, level
    FROM (
        SELECT actor, max(level) AS level, {picks}
        FROM (SELECT *, (CAST(level AS HUGEINT) << 64) - epoch_us(t1) AS pick
              FROM (SELECT *, {level} AS level FROM entries))
        GROUP BY actor
    )
)"""] + labeled_ctes(r)
    names = ["level", "id1", "bvalue", *times]
    fields = ", ".join(f"'{c}': {c}" for c in names)
    columns = ", ".join(f"e.{c} AS {c}" for c in names)
    return [f"""counted AS (
    SELECT actor, {columns}
    FROM (
        SELECT actor, arg_min({{{fields}}}, (-level, t1, id1)) AS e
        FROM (SELECT *, {level} AS level FROM entries)
        GROUP BY actor
    )
)"""] + labeled_ctes(r)


def labeled_ctes(r: Resolved) -> list[str]:
    """``labeled``: ``counted`` with its breakdown bucket (the top values, the rest as 'other').
    Shared by the DuckDB and the portable (Snowflake) forms."""
    ctes = []
    if r.has_breakdown:
        r.bind["other_bucket"] = OTHER_BUCKET
        ctes.append("""top_buckets AS (
    SELECT bvalue, count(*) AS actors
    FROM counted
    GROUP BY bvalue
    ORDER BY actors DESC, bvalue NULLS LAST
    LIMIT $breakdown_limit
),
labeled AS (
    SELECT c.*,
           CASE WHEN b.actors IS NULL THEN $other_bucket ELSE c.bvalue END AS bucket,
           b.actors IS NULL AS is_other
    FROM counted c
    LEFT JOIN top_buckets b ON b.bvalue IS NOT DISTINCT FROM c.bvalue
)""")
    else:
        ctes.append("""labeled AS (
    SELECT *, CAST(NULL AS VARCHAR) AS bucket, false AS is_other
    FROM counted
)""")
    return ctes


def _ctes(request: FunnelRequest) -> tuple[list[str], Resolved]:
    r = resolve(request)
    if r.has_breakdown:
        r.bind["breakdown_limit"] = request.breakdown_limit
    disjoint = request.order == "ordered" and len(set(r.step_activities)) == r.n
    return BUILDERS[request.order](r) + _counted_ctes(r, same_chain_per_instant=disjoint and not r.has_breakdown), r


def summary_sql(request: FunnelRequest) -> tuple[str, dict[str, Any]]:
    """One row for the whole funnel (``is_total``) and one per breakdown bucket.

    Columns: ``reached_k`` (actors whose counted entry reached step k), ``median_us_k`` and
    ``mean_us_k`` (time from step k-1 to step k), and ``ttc``: the time-to-convert histogram
    (step 1 to the last step) of the converted actors, in microseconds.
    """
    ctes, r = _ctes(request)
    n = r.n
    r.bind["bins"] = request.histogram_bins
    reached = ",\n       ".join(f"count(*) FILTER (WHERE level >= {k}) AS reached_{k}" for k in range(1, n + 1))
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
histogram AS (
    SELECT list({{'bin': bin, 'count': actors}} ORDER BY bin) AS bins
    FROM (
        SELECT least((c.d - s.lo) // s.width, $bins - 1) AS bin, count(*) AS actors
        FROM converted c, span s
        GROUP BY bin
    )
),
summary AS (
    SELECT {grouping}
       {reached},
       {gaps}
    FROM labeled
    {group_by}
)""")
    return summary_select(ctes, r)


def summary_select(ctes: list[str], r: Resolved) -> tuple[str, dict[str, Any]]:
    """The funnel's last step over its CTEs (ending in ``summary``, ``span``, ``histogram``):
    one row per breakdown value plus the total, with the time-to-convert struct. Shared by the
    DuckDB and the portable (Snowflake) forms."""
    sql = "WITH " + ",\n".join(ctes) + """
SELECT s.*, {'lo': span.lo, 'width': span.width, 'converted': span.converted,
             'median_us': span.median_us, 'mean_us': span.mean_us, 'bins': histogram.bins} AS ttc
FROM summary s, span, histogram
ORDER BY s.is_total DESC, s.is_other, s.reached_1 DESC, s.bucket NULLS LAST
"""
    return tidy(sql), r.bind


def actors_sql(request: FunnelActorsRequest) -> tuple[str, dict[str, Any]]:
    """Actors who reached step k (level >= k) or dropped at step k (level = k - 1), one page."""
    ctes, r = _ctes(request)
    return drilldown_select(ctes, r, request)


def drilldown_select(ctes: list[str], r: Resolved, request: FunnelActorsRequest) -> tuple[str, dict[str, Any]]:
    """One page of the actors of ``labeled`` (one row per actor: level, step times, bucket) who
    reached or dropped at the drill-down's step. Shared by the DuckDB and the portable forms."""
    d = request.drilldown
    r.bind.update(step=d.step, limit=d.limit, offset=d.offset)
    status = "level >= $step" if d.status == "reached" else "level = $step - 1"
    bucket = ""
    if request.breakdown and d.breakdown_value is not None:
        r.bind.update(bucket_value=d.breakdown_value, none_bucket=NONE_BUCKET)
        bucket = "AND coalesce(bucket, $none_bucket) = $bucket_value"
    last = "CASE level " + " ".join(f"WHEN {k} THEN t{k}" for k in range(2, r.n + 1)) + " ELSE t1 END"
    sql = "WITH " + ",\n".join(ctes) + f"""
SELECT actor, t1 AS entered_at, level AS furthest_step, {last} AS last_step_at, bucket AS breakdown_value,
       count(*) OVER () AS total
FROM labeled
WHERE {status}
  {bucket}
ORDER BY t1, actor
LIMIT $limit OFFSET $offset
"""
    return tidy(sql), r.bind
