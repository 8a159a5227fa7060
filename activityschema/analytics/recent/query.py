"""Recent activity (the spec's Query Pattern): the newest events, overall or for one actor.

A request: ``{"window": {"hours": 24}, "actor": "cust_42", "activities": ["order_completed"],
"limit": 100}`` — every key optional. The window ends at ``now`` (an argument of the run).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from ...sql.templates import Params
from ..common.durations import Duration
from ..common.requests import InsightResult, check_activity_name

WINDOW_DEFAULT = Duration(hours=24)
LIMIT_DEFAULT = 100
LIMIT_MAX = 10_000


class RecentRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    window: Duration = WINDOW_DEFAULT
    actor: str | None = Field(None, min_length=1, max_length=255)
    activities: list[str] = Field(default_factory=list)
    limit: int = Field(LIMIT_DEFAULT, ge=1, le=LIMIT_MAX)

    @field_validator("activities")
    @classmethod
    def _activities(cls, value: list[str]) -> list[str]:
        return [check_activity_name(v) for v in value]


class RecentParams(Params):
    """The template's parameters: the window resolved against ``now`` into absolute bounds."""

    since: datetime
    until: datetime
    actor: str | None = None
    activities: list[str] = Field(default_factory=list)
    limit: int = Field(LIMIT_DEFAULT, ge=1, le=LIMIT_MAX)


class RecentEvent(BaseModel):
    activity_id: str
    ts: datetime
    activity: str
    customer: str | None
    anonymous_customer_id: str | None
    feature_json: Any = None
    revenue_impact: float | None = None
    link: str | None = None
    activity_occurrence: int | None = None


class RecentResult(InsightResult):
    request: dict[str, Any]
    since: datetime
    until: datetime
    events: list[RecentEvent]
