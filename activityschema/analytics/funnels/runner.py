"""Run a funnel: validate, check activities, execute the named template, shape the typed result.

Templates: ``funnel`` (the full funnel of SEMANTICS §5), ``funnel_actors`` (drill-down) and
``funnel_simple`` (the spec's "did each step ever" query, kept as its own template).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from pydantic import Field

from ...errors import ValidationError
from ...sql.templates import Params, Template, register_template
from ...store.duckdb import DuckDBStore
from ..common.activities import check_known_activities
from ..common.durations import MICROS_PER_SECOND
from ..common.requests import parse_request, provenance_fields
from ..common.rules import check_rules
from ..runner import UNRESTRICTED, QueryResult, Scope, execute
from .query import (
    BreakdownResult,
    FunnelActorsRequest,
    FunnelActorsResult,
    FunnelRequest,
    FunnelResult,
    HistogramBin,
    StepResult,
    TimeToConvert,
)
from .rules import DRILLDOWN_RULES, FUNNEL_RULES
from .sql import actors_sql, summary_sql

def _with_rules(build: Any, rules: tuple[Any, ...]) -> Any:
    """The builder behind a template checks the request rules itself, so a direct template run
    (``run_template``, ``POST /v1/query/funnel``) is refused as clearly as ``run_funnel`` is."""
    def checked_build(params: Any) -> Any:
        check_rules(rules, params)
        return build(params)
    return checked_build


FUNNEL_TEMPLATE = register_template(Template(
    name="funnel", params=FunnelRequest, build=_with_rules(summary_sql, FUNNEL_RULES),
    description="Funnel per SEMANTICS §5: ordered/strict/unordered, window, exclusions, breakdown."))
FUNNEL_ACTORS_TEMPLATE = register_template(Template(
    name="funnel_actors", params=FunnelActorsRequest,
    build=_with_rules(actors_sql, FUNNEL_RULES + DRILLDOWN_RULES),
    description="Funnel drill-down: the actors who reached, or dropped at, one step."))


SIMPLE_MAX_STEPS = 100


class FunnelSimpleParams(Params):
    steps: list[str] = Field(max_length=SIMPLE_MAX_STEPS)


# Each step is its own bound scalar (``$step_1`` …) in a UNION ALL, not a bound list: the same SQL
# then runs on DuckDB and on Snowflake (which cannot bind or enumerate a list parameter).
SIMPLE_SQL = """
WITH steps AS (
    {steps}
),
per_actor AS (
    SELECT DISTINCT coalesce(customer, anonymous_customer_id) AS actor, activity
    FROM activities
    WHERE coalesce(customer, anonymous_customer_id) IS NOT NULL
)
SELECT s.step, s.activity, (SELECT count(DISTINCT actor) FROM per_actor) AS total_actors, count(p.actor) AS actors
FROM steps s
LEFT JOIN per_actor p ON p.activity = s.activity
GROUP BY s.step, s.activity
ORDER BY s.step
"""
NO_STEPS_SQL = "SELECT CAST(NULL AS VARCHAR) AS activity, 0 AS step WHERE 1 = 0"


def simple_sql(params: FunnelSimpleParams) -> tuple[str, dict[str, Any]]:
    bind = {f"step_{i}": activity for i, activity in enumerate(params.steps, start=1)}
    rows = [f"SELECT CAST($step_{i} AS VARCHAR) AS activity, {i} AS step" for i in range(1, len(params.steps) + 1)]
    return SIMPLE_SQL.replace("{steps}", "\n    UNION ALL ".join(rows) or NO_STEPS_SQL), bind


FUNNEL_SIMPLE_TEMPLATE = register_template(Template(
    name="funnel_simple", params=FunnelSimpleParams, build=simple_sql,
    description="The spec's Activity Funnel: per step, the actors who ever did it (any order, no window)."))


def _request(raw: Any, model: type[FunnelRequest], *, what: str) -> FunnelRequest:
    if model is FunnelRequest and isinstance(raw, dict) and "drilldown" in raw:
        raise ValidationError("A funnel request with 'drilldown' lists actors: call run_funnel_actors "
                              "(CLI: funnel --actors/--dropped).", code="invalid_request")
    return parse_request(model, raw, what=what)


def _check(store: DuckDBStore, request: FunnelRequest) -> None:
    check_rules(FUNNEL_RULES, request)
    check_known_activities(store, [s.activity for s in request.steps] + [x.activity for x in request.exclusions])


def run_funnel(store: DuckDBStore, request: dict[str, Any] | FunnelRequest, *, scope: Scope = UNRESTRICTED,
               created_by: str = "library", now: datetime | None = None) -> FunnelResult:
    """Run a funnel (SEMANTICS §5) and return per-step counts, conversions, times and a histogram.

    Args:
        store: the activity store.
        request: a ``FunnelRequest`` or its JSON form, e.g.
            ``{"steps": ["signup_started", "email_verified"], "window": {"days": 14}}``.
        scope: the actors the caller may read (governance); others are invisible.
        created_by: recorded in the provenance chain.
        now: the run time recorded in provenance (the result does not depend on it).

    Returns:
        A ``FunnelResult``; ``result.query_hash`` names the recorded query.
    """
    req = _request(request, FunnelRequest, what="funnel")
    _check(store, req)
    result = execute(store, FUNNEL_TEMPLATE, req, scope=scope, created_by=created_by, now=now)
    return shape_funnel(req, result)


def run_funnel_actors(store: DuckDBStore, request: dict[str, Any] | FunnelActorsRequest, *,
                      scope: Scope = UNRESTRICTED, created_by: str = "library",
                      now: datetime | None = None) -> FunnelActorsResult:
    """Drill down: the actors who reached step k, or dropped at step k (reached k-1 but not k).

    The request is a funnel request plus ``"drilldown": {"step": k, "status": "reached" | "dropped",
    "breakdown_value": …, "limit": 100, "offset": 0}``; the counted entry of each actor is the one
    the funnel counts.
    """
    req = parse_request(FunnelActorsRequest, request, what="funnel drill-down")
    _check(store, req)
    check_rules(DRILLDOWN_RULES, req)
    assert isinstance(req, FunnelActorsRequest)
    result = execute(store, FUNNEL_ACTORS_TEMPLATE, req, scope=scope, created_by=created_by, now=now)
    rows = result.rows()
    return FunnelActorsResult(
        **provenance_fields(result), request=_public(req), step=req.drilldown.step, status=req.drilldown.status,
        total=rows[0]["total"] if rows else 0,
        actors=[{k: v for k, v in row.items() if k != "total"} for row in rows])


def run_funnel_simple(store: DuckDBStore, steps: list[str], *, scope: Scope = UNRESTRICTED,
                      created_by: str = "library", now: datetime | None = None) -> QueryResult:
    """The spec's funnel: per step, how many actors ever did it (no order, no window)."""
    params = parse_request(FunnelSimpleParams, {"steps": steps}, what="simple funnel")
    check_known_activities(store, steps)
    return execute(store, FUNNEL_SIMPLE_TEMPLATE, params, scope=scope, created_by=created_by, now=now)


def _public(req: FunnelRequest) -> dict[str, Any]:
    return req.model_dump(mode="json")


def _seconds(us: float | None) -> float | None:
    return None if us is None else us / MICROS_PER_SECOND


def _ratio(a: int, b: int) -> float | None:
    return a / b if b else None


def _steps(req: FunnelRequest, row: dict[str, Any]) -> list[StepResult]:
    n, out = len(req.steps), []
    for k in range(1, n + 1):
        count = int(row[f"reached_{k}"])
        unordered = req.order == "unordered"
        out.append(StepResult(
            step=k,
            name=f"completed {k} of {n}" if unordered else req.steps[k - 1].name,
            activity=None if unordered else req.steps[k - 1].activity,
            count=count,
            conversion_from_previous=1.0 if k == 1 and count else (_ratio(count, int(row[f"reached_{k - 1}"])) if k > 1 else None),
            conversion_from_first=_ratio(count, int(row["reached_1"])),
            median_seconds_from_previous=_seconds(row.get(f"median_us_{k}")),
            mean_seconds_from_previous=_seconds(row.get(f"mean_us_{k}")),
        ))
    return out


def _time_to_convert(req: FunnelRequest, ttc: dict[str, Any] | None) -> TimeToConvert:
    n = len(req.steps)
    ttc = ttc or {}
    converted = int(ttc.get("converted") or 0)
    bins: list[HistogramBin] = []
    if converted:
        counts = {int(b["bin"]): int(b["count"]) for b in ttc.get("bins") or []}
        lo, width = int(ttc["lo"]), int(ttc["width"])
        for b in range(req.histogram_bins):
            lower = (lo + b * width) / MICROS_PER_SECOND
            bins.append(HistogramBin(lower_seconds=lower, upper_seconds=lower + width / MICROS_PER_SECOND,
                                     count=counts.get(b, 0)))
    return TimeToConvert(from_step=1, to_step=n, converted=converted, median_seconds=_seconds(ttc.get("median_us")),
                         mean_seconds=_seconds(ttc.get("mean_us")), bins=bins)


def shape_funnel(req: FunnelRequest, result: QueryResult) -> FunnelResult:
    rows = result.rows()
    total = next((r for r in rows if r["is_total"]), None)
    if total is None:  # the grouping set () always yields a row; keep a zero funnel if not
        total = {f"reached_{k}": 0 for k in range(1, len(req.steps) + 1)}
    breakdown = [BreakdownResult(value=r["bucket"], is_other=bool(r["is_other"]), steps=_steps(req, r))
                 for r in rows if not r["is_total"]]
    ttc = rows[0]["ttc"] if rows else None
    if isinstance(ttc, str):  # an OBJECT from Snowflake arrives as JSON text (portable_sql.py)
        ttc = json.loads(ttc)
    return FunnelResult(**provenance_fields(result), request=_public(req), order=req.order,
                        steps=_steps(req, total), breakdown=breakdown, time_to_convert=_time_to_convert(req, ttc))
