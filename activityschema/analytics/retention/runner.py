"""Run retention: validate, check activities, execute the named template, mark incomplete intervals.

Templates: ``retention`` (SEMANTICS §6), ``retention_actors`` (drill-down per cell) and
``cohort_simple`` (the spec's Cohort Analysis query, kept as its own template).
"""

from __future__ import annotations

import json

from datetime import UTC, date, datetime
from typing import Any, Literal

from ...sql.templates import Params, Template, register_template
from ...store.duckdb import DuckDBStore
from ..common.activities import check_known_activities
from ..common.requests import naive_utc, parse_request, provenance_fields
from ..common.rules import check_rules
from ..runner import UNRESTRICTED, QueryResult, Scope, execute
from .periods import interval_state, period_date
from .query import (
    CohortRow,
    RetentionActorsRequest,
    RetentionActorsResult,
    RetentionCell,
    RetentionRequest,
    RetentionResult,
)
from .rules import DRILLDOWN_RULES, RETENTION_RULES
from .sql import actors_sql, summary_sql

RETENTION_TEMPLATE = register_template(Template(
    name="retention", params=RetentionRequest, build=summary_sql,
    description="Cohort retention per SEMANTICS §6: first-time or recurring, day/week/month, on or on_or_after."))
RETENTION_ACTORS_TEMPLATE = register_template(Template(
    name="retention_actors", params=RetentionActorsRequest, build=actors_sql,
    description="Retention drill-down: the actors of one cohort retained (or lost) in one interval."))


class CohortSimpleParams(Params):
    activity: str
    period: Literal["day", "week", "month"] = "week"


COHORT_SIMPLE_TEMPLATE = register_template(Template(
    name="cohort_simple", params=CohortSimpleParams,
    description="The spec's Cohort Analysis: cohort by first activity per period; active = any activity from the next period on.",
    sql="""
WITH cohorts AS (
    SELECT coalesce(customer, anonymous_customer_id) AS actor,
           date_trunc($period, min(ts)) AS cohort_period
    FROM activities
    WHERE activity = $activity
      AND coalesce(customer, anonymous_customer_id) IS NOT NULL
    GROUP BY 1
)
SELECT c.cohort_period,
       count(DISTINCT c.actor) AS cohort_size,
       count(DISTINCT a.actor) AS active_users
FROM cohorts c
LEFT JOIN (SELECT coalesce(customer, anonymous_customer_id) AS actor, ts FROM activities) a
  ON c.actor = a.actor
 AND a.ts >= c.cohort_period + CASE $period WHEN 'day' THEN INTERVAL 1 DAY
                                            WHEN 'week' THEN INTERVAL 7 DAY
                                            ELSE INTERVAL 1 MONTH END
GROUP BY c.cohort_period
ORDER BY c.cohort_period
"""))


def _now(now: datetime | None) -> datetime:
    return naive_utc(now) if now is not None else datetime.now(UTC).replace(tzinfo=None)


def _check(store: DuckDBStore, request: RetentionRequest) -> None:
    check_rules(RETENTION_RULES, request)
    names = [request.start.activity] + ([request.return_.activity] if request.return_ else [])
    check_known_activities(store, names)


def run_retention(store: DuckDBStore, request: dict[str, Any] | RetentionRequest, *, scope: Scope = UNRESTRICTED,
                  created_by: str = "library", now: datetime | None = None) -> RetentionResult:
    """Cohort retention (SEMANTICS §6): per cohort, its size and the actors retained per interval.

    Args:
        store: the activity store.
        request: a ``RetentionRequest`` or its JSON form, e.g. ``{"start": "signup_started",
            "period": "week", "intervals": 8}``.
        scope: the actors the caller may read.
        created_by: recorded in the provenance chain.
        now: decides which intervals are complete (default: the current UTC time); the query and
            its hash do not depend on it.
    """
    req = parse_request(RetentionRequest, request, what="retention")
    _check(store, req)
    at = _now(now)
    result = execute(store, RETENTION_TEMPLATE, req, scope=scope, created_by=created_by, now=at)
    return shape_retention(req, result, at)


def run_retention_actors(store: DuckDBStore, request: dict[str, Any] | RetentionActorsRequest, *,
                         scope: Scope = UNRESTRICTED, created_by: str = "library",
                         now: datetime | None = None) -> RetentionActorsResult:
    """Drill down into one cell: a retention request plus ``"drilldown": {"cohort": "2026-01-05",
    "interval": 2, "status": "retained" | "lost", "limit": 100, "offset": 0}``. Any date inside the
    cohort's period selects it."""
    req = parse_request(RetentionActorsRequest, request, what="retention drill-down")
    _check(store, req)
    assert isinstance(req, RetentionActorsRequest)
    check_rules(DRILLDOWN_RULES, req)
    result = execute(store, RETENTION_ACTORS_TEMPLATE, req, scope=scope, created_by=created_by, now=_now(now))
    rows = result.rows()
    return RetentionActorsResult(
        **provenance_fields(result), request=req.public(), cohort=req.drilldown.cohort,
        interval=req.drilldown.interval, status=req.drilldown.status, total=rows[0]["total"] if rows else 0,
        actors=[{**{k: v for k, v in row.items() if k != "total"}, "cohort": period_date(int(row["cohort"]), req.period)}
                for row in rows])


def run_cohort_simple(store: DuckDBStore, activity: str, period: str = "week", *, scope: Scope = UNRESTRICTED,
                      created_by: str = "library", now: datetime | None = None) -> QueryResult:
    """The spec's cohort query: cohort size and actors active from the next period on."""
    params = parse_request(CohortSimpleParams, {"activity": activity, "period": period}, what="cohort")
    check_known_activities(store, [activity])
    return execute(store, COHORT_SIMPLE_TEMPLATE, params, scope=scope, created_by=created_by, now=now)


def _cell(k: int, count: int, size: int, cohort: date, period: str, now: datetime) -> RetentionCell:
    started, complete = interval_state(cohort, period, k, now)
    if not started:
        return RetentionCell(interval=k, count=None, rate=None, complete=False)
    return RetentionCell(interval=k, count=count, rate=count / size if size else None, complete=complete)


def _average(cohorts: list[CohortRow], intervals: int) -> list[RetentionCell]:
    out = []
    for k in range(intervals):
        done = [(c.cells[k].count or 0, c.size) for c in cohorts if c.cells[k].complete]
        size = sum(s for _, s in done)
        retained = sum(n for n, _ in done)
        out.append(RetentionCell(interval=k, count=retained if done else None,
                                 rate=retained / size if size else None, complete=bool(done)))
    return out


def list_value(value: Any) -> Any:
    """A list column as a list: a warehouse may return ARRAY/VARIANT columns as JSON text."""
    return json.loads(value) if isinstance(value, str) else value


def shape_retention(req: RetentionRequest, result: QueryResult, now: datetime) -> RetentionResult:
    cohorts = []
    for row in result.rows():
        cohort = period_date(int(row["cohort"]), req.period)
        # Snowflake ARRAY_AGG drops the NULLs a FILTER leaves; the emulator keeps them: skip them.
        counts = {int(c["k"]): int(c["n"]) for c in list_value(row["cells"]) or [] if c is not None}
        cells = [_cell(k, counts.get(k, 0), int(row["size"]), cohort, req.period, now) for k in range(req.intervals)]
        cohorts.append(CohortRow(cohort=cohort, size=int(row["size"]), cells=cells))
    return RetentionResult(**provenance_fields(result), request=req.public(), now=now, period=req.period,
                           cohorts=cohorts, average=_average(cohorts, req.intervals))
