"""The funnel request and its typed result (SEMANTICS §5).

A request, as JSON::

    {"steps": ["signup_started",
               {"activity": "email_verified"},
               {"activity": "profile_completed", "filters": [{"column": "feature_json.plan", "value": "pro"}]}],
     "order": "ordered", "window": {"days": 14},
     "date_from": "2026-01-01", "date_to": "2026-01-31",
     "exclusions": [{"activity": "account_deleted", "from_step": 1, "to_step": 3}],
     "breakdown": "feature_json.device_type", "breakdown_limit": 10, "histogram_bins": 10}

Only ``steps`` is required.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from ...sql.templates import Params
from ..common.columns import allowed_column as _allowed
from ..common.durations import Duration
from ..common.filters import Filter
from ..common.requests import DateOrTime, InsightResult, check_activity_name

ORDERS = ("ordered", "strict", "unordered")
WINDOW_DEFAULT = Duration(days=14)
BREAKDOWN_LIMIT_DEFAULT = 10
HISTOGRAM_BINS_DEFAULT = 10
DRILLDOWN_LIMIT_DEFAULT = 100
OTHER_BUCKET = "$other"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FunnelStep(_Model):
    """One step: an activity, optionally narrowed by filters (a sub-activity)."""

    activity: str
    filters: list[Filter] = Field(default_factory=list)
    label: str | None = None

    @field_validator("activity")
    @classmethod
    def _activity(cls, value: str) -> str:
        return check_activity_name(value)

    @property
    def name(self) -> str:
        return self.label or self.activity


class Exclusion(_Model):
    """An activity that, between steps i and i+1 (from_step <= i < to_step), stops the entry at step i."""

    activity: str
    filters: list[Filter] = Field(default_factory=list)
    from_step: int = 1
    to_step: int | None = None

    @field_validator("activity")
    @classmethod
    def _activity(cls, value: str) -> str:
        return check_activity_name(value)


def _step(value: Any) -> Any:
    return {"activity": value} if isinstance(value, str) else value


class FunnelRequest(Params):
    """Everything that defines a funnel. Unknown keys are errors."""

    steps: list[FunnelStep]
    order: Literal["ordered", "strict", "unordered"] = "ordered"
    window: Duration = WINDOW_DEFAULT
    date_from: DateOrTime | None = None
    date_to: DateOrTime | None = None
    exclusions: list[Exclusion] = Field(default_factory=list)
    breakdown: str | None = None
    breakdown_limit: int = Field(BREAKDOWN_LIMIT_DEFAULT, ge=1, le=100)
    histogram_bins: int = Field(HISTOGRAM_BINS_DEFAULT, ge=1, le=100)

    @field_validator("steps", mode="before")
    @classmethod
    def _steps(cls, value: Any) -> Any:
        return [_step(v) for v in value] if isinstance(value, list) else value

    @field_validator("breakdown")
    @classmethod
    def _breakdown(cls, value: str | None) -> str | None:
        return None if value is None else _allowed(value, "breakdown column")


class FunnelDrilldown(_Model):
    """Which actors to list: those who ``reached`` step k, or ``dropped`` at step k (reached k-1, not k)."""

    step: int
    status: Literal["reached", "dropped"] = "reached"
    breakdown_value: str | None = None
    limit: int = Field(DRILLDOWN_LIMIT_DEFAULT, ge=1, le=100_000)
    offset: int = Field(0, ge=0)


class FunnelActorsRequest(FunnelRequest):
    drilldown: FunnelDrilldown


class StepResult(BaseModel):
    """One step of a funnel (or of one breakdown bucket)."""

    step: int
    name: str
    activity: str | None
    count: int
    conversion_from_previous: float | None
    conversion_from_first: float | None
    median_seconds_from_previous: float | None
    mean_seconds_from_previous: float | None


class BreakdownResult(BaseModel):
    value: str | None
    is_other: bool = False
    steps: list[StepResult]


class HistogramBin(BaseModel):
    lower_seconds: float
    upper_seconds: float
    count: int


class TimeToConvert(BaseModel):
    """Time from step 1 to the last step of the counted entries of converted actors."""

    from_step: int
    to_step: int
    converted: int
    median_seconds: float | None
    mean_seconds: float | None
    bins: list[HistogramBin]


class FunnelResult(InsightResult):
    request: dict[str, Any]
    order: str
    steps: list[StepResult]
    breakdown: list[BreakdownResult] = Field(default_factory=list)
    time_to_convert: TimeToConvert

    @property
    def entered(self) -> int:
        return self.steps[0].count if self.steps else 0

    @property
    def converted(self) -> int:
        return self.steps[-1].count if self.steps else 0


class ActorRow(BaseModel):
    actor: str
    entered_at: datetime
    furthest_step: int
    last_step_at: datetime
    breakdown_value: str | None = None


class FunnelActorsResult(InsightResult):
    request: dict[str, Any]
    step: int
    status: str
    total: int
    actors: list[ActorRow]
