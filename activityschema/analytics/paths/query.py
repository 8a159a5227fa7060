"""Paths, transitions and one actor's journey: requests and typed results (SEMANTICS §7).

A paths request, as JSON::

    {"start_activity": "signup_started", "end_activity": null, "session_gap": {"minutes": 30},
     "collapse_repeats": true, "step_limit": 5, "top_paths": 10, "edge_limit": 50,
     "exclude_activities": ["button_clicked"], "date_from": "2026-01-05", "date_to": "2026-02-01"}

Every key is optional. A journey request: ``{"actor": "cust_42", "limit": 200}``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from ...sql.templates import Params
from ..common.durations import Duration
from ..common.requests import DateOrTime, InsightResult, check_activity_name

SESSION_GAP_DEFAULT = Duration(minutes=30)
PATH_STEP_LIMIT_DEFAULT = 5
PATH_STEP_LIMIT_MAX = 20
TOP_PATHS_DEFAULT = 10
EDGE_LIMIT_DEFAULT = 50
DRILLDOWN_LIMIT_DEFAULT = 100
JOURNEY_LIMIT_DEFAULT = 200
JOURNEY_LIMIT_MAX = 100_000


def _activity(value: str | None) -> str | None:
    return None if value is None else check_activity_name(value)


class PathsRequest(Params):
    start_activity: str | None = None
    end_activity: str | None = None
    session_gap: Duration | None = SESSION_GAP_DEFAULT
    collapse_repeats: bool = False
    step_limit: int = Field(PATH_STEP_LIMIT_DEFAULT, ge=2, le=PATH_STEP_LIMIT_MAX)
    top_paths: int = Field(TOP_PATHS_DEFAULT, ge=1, le=1000)
    edge_limit: int = Field(EDGE_LIMIT_DEFAULT, ge=1, le=10_000)
    exclude_activities: list[str] = Field(default_factory=list)
    date_from: DateOrTime | None = None
    date_to: DateOrTime | None = None

    @field_validator("start_activity", "end_activity")
    @classmethod
    def _anchor(cls, value: str | None) -> str | None:
        return _activity(value)

    @field_validator("exclude_activities")
    @classmethod
    def _excluded(cls, value: list[str]) -> list[str]:
        return [check_activity_name(v) for v in value]


class PathsDrilldown(BaseModel):
    """The actors on one path: exactly this path, or (``prefix``) any path starting with it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    path: list[str] = Field(min_length=1)
    prefix: bool = False
    limit: int = Field(DRILLDOWN_LIMIT_DEFAULT, ge=1, le=100_000)
    offset: int = Field(0, ge=0)


class PathsActorsRequest(PathsRequest):
    drilldown: PathsDrilldown


class Edge(BaseModel):
    step: int                       # the transition from step ``step`` to ``step + 1``
    source: str
    target: str
    count: int
    median_seconds: float | None


class PathRow(BaseModel):
    path: list[str]
    count: int                      # paths (sessions) that followed it
    actors: int
    median_seconds: float | None    # first to last step


class PathsResult(InsightResult):
    request: dict[str, Any]
    paths_total: int
    actors_total: int
    edges: list[Edge]
    top_paths: list[PathRow]


class PathActor(BaseModel):
    actor: str
    paths: int
    first_at: datetime


class PathsActorsResult(InsightResult):
    request: dict[str, Any]
    path: list[str]
    total: int
    actors: list[PathActor]


class JourneyRequest(Params):
    actor: str = Field(min_length=1, max_length=255)
    date_from: DateOrTime | None = None
    date_to: DateOrTime | None = None
    session_gap: Duration | None = SESSION_GAP_DEFAULT
    limit: int = Field(JOURNEY_LIMIT_DEFAULT, ge=1, le=JOURNEY_LIMIT_MAX)
    latest: bool = False    # the last ``limit`` events instead of the first (still in time order)


class JourneyEvent(BaseModel):
    activity_id: str
    ts: datetime
    activity: str
    session: int
    seconds_since_previous: float | None
    activity_occurrence: int | None
    feature_json: Any = None
    revenue_impact: float | None = None
    link: str | None = None


class JourneyResult(InsightResult):
    request: dict[str, Any]
    actor: str
    total_events: int
    sessions: int
    first_seen: datetime | None
    last_seen: datetime | None
    events: list[JourneyEvent]
