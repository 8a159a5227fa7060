"""Run paths, path drill-downs, one actor's journey, and the spec's journey (transitions) query.

Templates: ``paths``, ``paths_actors``, ``actor_journey`` and ``journey_transitions`` (the spec's
Customer Journey Analysis query, kept as its own template).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from pydantic import Field

from ...sql.templates import Params, Template, register_template
from ...store.duckdb import DuckDBStore
from ..common.activities import check_known_activities
from ..common.durations import MICROS_PER_SECOND
from ..common.requests import parse_request, provenance_fields
from ..common.rules import check_rules
from ..runner import UNRESTRICTED, QueryResult, Scope, execute
from .journey_sql import journey_sql
from .query import (
    Edge,
    JourneyEvent,
    JourneyRequest,
    JourneyResult,
    PathRow,
    PathsActorsRequest,
    PathsActorsResult,
    PathsRequest,
    PathsResult,
)
from .rules import JOURNEY_RULES, PATHS_RULES
from .sql import actors_sql, summary_sql

TRANSITIONS_LIMIT_DEFAULT = 100

PATHS_TEMPLATE = register_template(Template(
    name="paths", params=PathsRequest, build=summary_sql,
    description="Paths per SEMANTICS §7: sessions, collapse, start/end anchors, step limit; edges and top paths."))
PATHS_ACTORS_TEMPLATE = register_template(Template(
    name="paths_actors", params=PathsActorsRequest, build=actors_sql,
    description="Paths drill-down: the actors who followed one path (or a path prefix)."))
JOURNEY_TEMPLATE = register_template(Template(
    name="actor_journey", params=JourneyRequest, build=journey_sql,
    description="One actor's timeline: events in (ts, activity_id) order with sessions and gaps."))


class TransitionsParams(Params):
    limit: int = Field(TRANSITIONS_LIMIT_DEFAULT, ge=1, le=100_000)


TRANSITIONS_TEMPLATE = register_template(Template(
    name="journey_transitions", params=TransitionsParams,
    description="The spec's Customer Journey Analysis: each event's next activity for the same actor, counted.",
    sql="""
WITH journey AS (
    SELECT activity,
           lead(activity) OVER (PARTITION BY coalesce(customer, anonymous_customer_id)
                                ORDER BY ts, activity_id) AS next_activity
    FROM activities
    WHERE coalesce(customer, anonymous_customer_id) IS NOT NULL
)
SELECT activity, next_activity, count(*) AS frequency
FROM journey
GROUP BY activity, next_activity
ORDER BY frequency DESC, activity, next_activity NULLS LAST
LIMIT $limit
"""))


def _seconds(us: float | None) -> float | None:
    return None if us is None else us / MICROS_PER_SECOND


def _check(store: DuckDBStore, request: PathsRequest) -> None:
    check_rules(PATHS_RULES, request)
    anchors = [a for a in (request.start_activity, request.end_activity) if a]
    check_known_activities(store, anchors + list(request.exclude_activities))


def run_paths(store: DuckDBStore, request: dict[str, Any] | PathsRequest, *, scope: Scope = UNRESTRICTED,
              created_by: str = "library", now: datetime | None = None) -> PathsResult:
    """Paths (SEMANTICS §7): Sankey edges per step and the most frequent whole paths.

    Args:
        store: the activity store.
        request: a ``PathsRequest`` or its JSON form, e.g. ``{"start_activity": "signup_started",
            "step_limit": 5, "collapse_repeats": true}``; every key is optional.
        scope: the actors the caller may read.
        created_by: recorded in the provenance chain.
        now: the run time recorded in provenance.
    """
    req = parse_request(PathsRequest, request, what="paths")
    _check(store, req)
    result = execute(store, PATHS_TEMPLATE, req, scope=scope, created_by=created_by, now=now)
    return shape_paths(req, result)


def run_paths_actors(store: DuckDBStore, request: dict[str, Any] | PathsActorsRequest, *,
                     scope: Scope = UNRESTRICTED, created_by: str = "library",
                     now: datetime | None = None) -> PathsActorsResult:
    """Drill down: a paths request plus ``"drilldown": {"path": ["a_b", "c_d"], "prefix": false,
    "limit": 100, "offset": 0}`` lists the actors who followed that path."""
    req = parse_request(PathsActorsRequest, request, what="paths drill-down")
    _check(store, req)
    assert isinstance(req, PathsActorsRequest)
    result = execute(store, PATHS_ACTORS_TEMPLATE, req, scope=scope, created_by=created_by, now=now)
    rows = result.rows()
    return PathsActorsResult(**provenance_fields(result), request=req.model_dump(mode="json"),
                             path=list(req.drilldown.path), total=rows[0]["total"] if rows else 0,
                             actors=[{k: v for k, v in row.items() if k != "total"} for row in rows])


def run_journey(store: DuckDBStore, request: dict[str, Any] | JourneyRequest, *, scope: Scope = UNRESTRICTED,
                created_by: str = "library", now: datetime | None = None) -> JourneyResult:
    """One actor's timeline: ``{"actor": "cust_42", "limit": 200, "latest": false,
    "session_gap": {"minutes": 30}, "date_from": …, "date_to": …}``."""
    req = parse_request(JourneyRequest, request, what="journey")
    check_rules(JOURNEY_RULES, req)
    result = execute(store, JOURNEY_TEMPLATE, req, scope=scope, created_by=created_by, now=now)
    rows = sorted(result.rows(), key=lambda r: (r["ts"], r["activity_id"]))
    first = rows[0] if rows else {}
    events = [JourneyEvent(activity_id=r["activity_id"], ts=r["ts"], activity=r["activity"], session=int(r["session"]),
                           seconds_since_previous=_seconds(r["gap_us_before"]),
                           activity_occurrence=r["activity_occurrence"],
                           feature_json=json.loads(r["feature_json"]) if r["feature_json"] else None,
                           revenue_impact=r["revenue_impact"], link=r["link"]) for r in rows]
    return JourneyResult(**provenance_fields(result), request=req.model_dump(mode="json"), actor=req.actor,
                         total_events=int(first.get("total_events") or 0), sessions=int(first.get("sessions") or 0),
                         first_seen=first.get("first_seen"), last_seen=first.get("last_seen"), events=events)


def run_journey_transitions(store: DuckDBStore, limit: int = TRANSITIONS_LIMIT_DEFAULT, *,
                            scope: Scope = UNRESTRICTED, created_by: str = "library",
                            now: datetime | None = None) -> QueryResult:
    """The spec's journey query: (activity, next activity, frequency), most frequent first."""
    params = parse_request(TransitionsParams, {"limit": limit}, what="journey transitions")
    return execute(store, TRANSITIONS_TEMPLATE, params, scope=scope, created_by=created_by, now=now)


def _as_list(value: Any) -> list[str]:
    """A path: a list, or JSON text when an ARRAY arrives from Snowflake (portable_sql.py)."""
    return list(json.loads(value) if isinstance(value, str) else value)


def shape_paths(req: PathsRequest, result: QueryResult) -> PathsResult:
    rows = result.rows()
    total = next((r for r in rows if r["kind"] == "total"), {"n": 0, "actors": 0})
    edges = [Edge(step=int(r["step"]), source=r["source"], target=r["target"], count=int(r["n"]),
                  median_seconds=_seconds(r["median_us"])) for r in rows if r["kind"] == "edge"]
    edges.sort(key=lambda e: (e.step, -e.count, e.source, e.target))
    paths = [PathRow(path=_as_list(r["path"]), count=int(r["n"]), actors=int(r["actors"]),
                     median_seconds=_seconds(r["median_us"])) for r in rows if r["kind"] == "path"]
    paths.sort(key=lambda p: (-p.count, p.path))
    return PathsResult(**provenance_fields(result), request=req.model_dump(mode="json"),
                       paths_total=int(total["n"]), actors_total=int(total["actors"] or 0), edges=edges, top_paths=paths)
