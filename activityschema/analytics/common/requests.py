"""Parsing request dicts into typed models, and the fields every insight result carries."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any, TypeVar

from pydantic import BaseModel, BeforeValidator, ConfigDict
from pydantic import ValidationError as PydanticValidationError

from ...errors import ValidationError
from ...schema.columns import ACTIVITY_RE
from ..runner import QueryResult

M = TypeVar("M", bound=BaseModel)
ONE_MICROSECOND = timedelta(microseconds=1)
DATE_ONLY_LENGTH = len("2026-01-05")


def _date_or_datetime(value: Any) -> Any:
    """``2026-01-05`` is a whole day; anything longer is an instant (so ``…T00:00Z`` stays an instant)."""
    if isinstance(value, str):
        text = value.strip()
        if len(text) == DATE_ONLY_LENGTH:
            return date.fromisoformat(text)
        return datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    return value


# A date (a whole UTC day) or a datetime (an instant; an offset is converted to UTC).
DateOrTime = Annotated[date | datetime, BeforeValidator(_date_or_datetime)]


def parse_request(model: type[M], raw: Any, *, what: str) -> M:
    """A typed request, or one ValidationError naming every bad field and the allowed keys."""
    if isinstance(raw, model):
        return raw
    if not isinstance(raw, dict):
        raise ValidationError(f"A {what} request must be a JSON object.", code="invalid_request")
    try:
        return model.model_validate(raw)
    except PydanticValidationError as exc:
        problems = [f"{'.'.join(str(p) for p in e['loc']) or '(root)'}: {_message(e)}" for e in exc.errors()]
        allowed = ", ".join(model.model_fields)
        raise ValidationError(f"Invalid {what} request: {'; '.join(problems)}. Allowed keys: {allowed}.",
                              code="invalid_request", details=problems) from None


def _message(error: Any) -> str:
    msg = str(error["msg"])
    return msg.removeprefix("Value error, ")


def check_activity_name(name: str, *, what: str = "activity") -> str:
    if not ACTIVITY_RE.match(name):
        raise ValueError(f"{what} '{name}' is not an activity name (lowercase verb_noun, e.g. signup_started)")
    return name


def naive_utc(value: datetime) -> datetime:
    """Aware datetimes become naive UTC (the store's ts is UTC without a time zone)."""
    return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo is not None else value


def range_start(value: date | datetime | None) -> datetime | None:
    """Inclusive start of a date range: a date means its midnight (UTC)."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return naive_utc(value)
    return datetime.combine(value, time())


def range_end(value: date | datetime | None) -> datetime | None:
    """Exclusive end of a date range: a date includes its whole day, a datetime is inclusive."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return naive_utc(value) + ONE_MICROSECOND
    return datetime.combine(value, time()) + timedelta(days=1)


class InsightResult(BaseModel):
    """What every insight result carries: the template, its hash, the SQL and the parameters."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    template: str
    query_hash: str
    sql: str
    params: dict[str, Any]
    provenance_collision: bool = False

    def to_dict(self) -> dict[str, Any]:
        """JSON-serializable form (datetimes as ISO text)."""
        return self.model_dump(mode="json")


def provenance_fields(result: QueryResult) -> dict[str, Any]:
    return {"template": result.template, "query_hash": result.query_hash, "sql": result.sql,
            "params": result.params, "provenance_collision": result.collision}
