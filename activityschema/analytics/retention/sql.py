"""Retention SQL (SEMANTICS §6).

- Periods are calendar periods in UTC: day, week (ISO, Monday) or month, numbered as integers
  (days since 1970-01-01, weeks since Monday 1969-12-29, months since year 0) so interval k is
  just ``period - cohort``; the runner turns cohort numbers back into dates.
- ``first_time``: an actor's cohort is the period of its first-ever start event (the whole stream,
  not only the date range); ``recurring``: one cohort per period in which it did the start event.
- The date range selects cohorts by their period start.
- Interval k of a cohort is period cohort + k. ``on``: the actor did the return activity (default:
  any activity) in that period. ``on_or_after``: in that period or any later one.
- Completeness against ``now`` is decided in the runner; the SQL never reads the clock.

The result has one row per cohort: its size and a list of (interval, actors).
"""

from __future__ import annotations

from typing import Any

from ..common.columns import ACTOR_SQL
from ..common.filters import compile_filters
from ..common.requests import range_end, range_start
from ..common.sqltext import tidy
from .periods import period_number
from .query import EventSpec, RetentionActorsRequest, RetentionRequest

# The period number of an event, per period (keys are the request's allow-list). The week form
# divides an exact multiple of 7, so it stays exact before 1970 too.
PERIOD_SQL = {
    "day": "date_diff('day', DATE '1970-01-01', CAST(ts AS DATE))",
    "week": "date_diff('day', DATE '1969-12-29', CAST(date_trunc('week', ts) AS DATE)) // 7",
    "month": "year(ts) * 12 + month(ts) - 1",
}
COHORT_SQL = {
    "first_time": "SELECT actor, min(p) AS cohort FROM starts GROUP BY actor",
    "recurring": "SELECT DISTINCT actor, p AS cohort FROM starts",
}


def _event_condition(spec: EventSpec, prefix: str, bind: dict[str, Any]) -> str:
    cond, values = compile_filters(spec.filters, prefix)
    bind.update(values)
    bind[f"{prefix}_activity"] = spec.activity
    return f"activity = ${prefix}_activity AND {cond}"


def _cohort_range(request: RetentionRequest, bind: dict[str, Any]) -> tuple[str, str]:
    """(cohort filter, return-scan bound): cohorts whose period starts inside the date range; events
    before the first such period can never count."""
    cohort, scan = [], []
    start, end = range_start(request.date_from), range_end(request.date_to)
    if start is not None:
        bind["cohort_start"] = period_number(start.date(), request.period, ceil=True)
        cohort.append("cohort >= $cohort_start")
        bind["scan_start"] = start
        scan.append("AND ts >= $scan_start")
    if end is not None:
        bind["cohort_end"] = period_number(end.date(), request.period, ceil=True)
        cohort.append("cohort < $cohort_end")
    return " AND ".join(cohort) or "TRUE", " ".join(scan)


def _ctes(request: RetentionRequest) -> tuple[list[str], dict[str, Any]]:
    bind: dict[str, Any] = {}
    start = _event_condition(request.start, "st", bind)
    ret = "TRUE" if request.return_ is None else _event_condition(request.return_, "rt", bind)
    period = PERIOD_SQL[request.period]
    in_range, scan = _cohort_range(request, bind)
    ctes = [f"""starts AS (
    SELECT {ACTOR_SQL} AS actor, {period} AS p
    FROM activities
    WHERE {start}
      AND {ACTOR_SQL} IS NOT NULL
),
cohorts AS (
    SELECT *
    FROM ({COHORT_SQL[request.cohort]})
    WHERE {in_range}
),
returns AS (
    SELECT DISTINCT {ACTOR_SQL} AS actor, {period} AS p
    FROM activities
    WHERE {ret}
      AND {ACTOR_SQL} IS NOT NULL
      {scan}
),
hits AS (
    SELECT c.cohort, c.actor, r.p - c.cohort AS k
    FROM cohorts c
    JOIN returns r ON r.actor = c.actor AND r.p >= c.cohort
)"""]
    return ctes, bind


def summary_sql(request: RetentionRequest) -> tuple[str, dict[str, Any]]:
    """One row per cohort: ``cohort``, ``size`` and ``cells`` (a list of {k, n}: actors retained)."""
    ctes, bind = _ctes(request)
    bind["intervals"] = request.intervals
    if request.mode == "on":
        ctes.append("""cells AS (
    SELECT cohort, k, count(*) AS retained
    FROM hits
    WHERE k < $intervals
    GROUP BY cohort, k
)""")
    else:
        ctes.append("""lasts AS (
    SELECT cohort, actor, max(k) AS last_k
    FROM hits
    GROUP BY cohort, actor
),
cells AS (
    SELECT l.cohort, g.k, count(*) AS retained
    FROM lasts l
    JOIN range($intervals) g(k) ON g.k <= l.last_k
    GROUP BY l.cohort, g.k
)""")
    ctes.append("""sizes AS (
    SELECT cohort, count(*) AS size
    FROM cohorts
    GROUP BY cohort
)""")
    sql = "WITH " + ",\n".join(ctes) + """
SELECT s.cohort, s.size,
       list({'k': c.k, 'n': c.retained} ORDER BY c.k) FILTER (WHERE c.k IS NOT NULL) AS cells
FROM sizes s
LEFT JOIN cells c USING (cohort)
GROUP BY s.cohort, s.size
ORDER BY s.cohort
"""
    return tidy(sql), bind


def actors_sql(request: RetentionActorsRequest) -> tuple[str, dict[str, Any]]:
    """The actors of one cohort who were retained (or lost) in one interval, one page."""
    ctes, bind = _ctes(request)
    d = request.drilldown
    bind.update(cell_cohort=period_number(d.cohort, request.period), cell_k=d.interval, limit=d.limit, offset=d.offset)
    retained = "coalesce(at_k, false)" if request.mode == "on" else "coalesce(last_k >= $cell_k, false)"
    keep = retained if d.status == "retained" else f"NOT {retained}"
    ctes.append("""per_actor AS (
    SELECT c.cohort, c.actor, max(h.k) AS last_k, bool_or(h.k = $cell_k) AS at_k
    FROM cohorts c
    LEFT JOIN hits h ON h.cohort = c.cohort AND h.actor = c.actor
    WHERE c.cohort = $cell_cohort
    GROUP BY c.cohort, c.actor
)""")
    sql = "WITH " + ",\n".join(ctes) + f"""
SELECT actor, cohort, last_k AS last_interval, count(*) OVER () AS total
FROM per_actor
WHERE {keep}
ORDER BY actor
LIMIT $limit OFFSET $offset
"""
    return tidy(sql), bind
