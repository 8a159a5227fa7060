"""The retention request and its typed result (SEMANTICS §6).

A request, as JSON::

    {"start": "signup_started", "return": {"activity": "order_completed"},
     "cohort": "first_time", "period": "week", "intervals": 8, "mode": "on",
     "date_from": "2026-01-05", "date_to": "2026-03-01"}

Only ``start`` is required; ``return`` defaults to any activity.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from ...sql.templates import Params
from ..common.filters import Filter
from ..common.requests import DateOrTime, InsightResult, check_activity_name

INTERVALS_DEFAULT = 8
INTERVALS_MAX = 120
DRILLDOWN_LIMIT_DEFAULT = 100


class EventSpec(BaseModel):
    """An activity, optionally narrowed by filters."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    activity: str
    filters: list[Filter] = Field(default_factory=list)

    @field_validator("activity")
    @classmethod
    def _activity(cls, value: str) -> str:
        return check_activity_name(value)


def _event(value: Any) -> Any:
    return {"activity": value} if isinstance(value, str) else value


class RetentionRequest(Params):
    start: EventSpec
    return_: EventSpec | None = Field(None, alias="return")
    cohort: Literal["first_time", "recurring"] = "first_time"
    period: Literal["day", "week", "month"] = "week"
    intervals: int = Field(INTERVALS_DEFAULT, ge=1, le=INTERVALS_MAX)
    mode: Literal["on", "on_or_after"] = "on"
    date_from: DateOrTime | None = None
    date_to: DateOrTime | None = None

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @field_validator("start", "return_", mode="before")
    @classmethod
    def _events(cls, value: Any) -> Any:
        return _event(value)

    def public(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True)


class RetentionDrilldown(BaseModel):
    """The actors of one cell: cohort (its period start) and interval; ``lost`` lists the others."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    cohort: date
    interval: int = Field(ge=0)
    status: Literal["retained", "lost"] = "retained"
    limit: int = Field(DRILLDOWN_LIMIT_DEFAULT, ge=1, le=100_000)
    offset: int = Field(0, ge=0)


class RetentionActorsRequest(RetentionRequest):
    drilldown: RetentionDrilldown


class RetentionCell(BaseModel):
    interval: int
    count: int | None       # None: the interval's period has not started at ``now``
    rate: float | None
    complete: bool          # False until the interval's period has fully elapsed


class CohortRow(BaseModel):
    cohort: date
    size: int
    cells: list[RetentionCell]


class RetentionResult(InsightResult):
    request: dict[str, Any]
    now: datetime
    period: str
    cohorts: list[CohortRow]
    average: list[RetentionCell]   # per interval: retained / size over the cohorts where it is complete


class RetentionActor(BaseModel):
    actor: str
    cohort: date
    last_interval: int | None


class RetentionActorsResult(InsightResult):
    request: dict[str, Any]
    cohort: date
    interval: int
    status: str
    total: int
    actors: list[RetentionActor]
