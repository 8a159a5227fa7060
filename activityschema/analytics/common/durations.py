"""Durations in requests (``{"days": 14}``) and on the command line (``14d``, ``30m``)."""

from __future__ import annotations

import re
from datetime import timedelta

from pydantic import BaseModel, ConfigDict, model_validator

from ...errors import ValidationError

MICROS_PER_SECOND = 1_000_000
UNIT_SECONDS = {"weeks": 604_800, "days": 86_400, "hours": 3_600, "minutes": 60, "seconds": 1}
_SHORT_UNITS = {"w": "weeks", "d": "days", "h": "hours", "m": "minutes", "s": "seconds"}
_TEXT_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([wdhms])\s*$")


# Longer than any stream: keeps every duration a valid SQL interval (and out of integer overflow).
DURATION_MAX_DAYS = 36_500


class Duration(BaseModel):
    """A positive length of time; the parts add up (``{"days": 1, "hours": 12}`` is 36 hours)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    weeks: float = 0
    days: float = 0
    hours: float = 0
    minutes: float = 0
    seconds: float = 0

    @model_validator(mode="before")
    @classmethod
    def _from_text(cls, value: object) -> object:
        if isinstance(value, str):
            return {_SHORT_UNITS[unit]: float(n) for n, unit in [_split(value)]}
        return value

    @model_validator(mode="after")
    def _positive(self) -> Duration:
        if any(v < 0 for v in self.model_dump().values()) or self.microseconds <= 0:
            raise ValueError("a duration must be positive, e.g. {\"days\": 14} or \"14d\"")
        if self.microseconds > DURATION_MAX_DAYS * 86_400 * MICROS_PER_SECOND:
            raise ValueError(f"a duration must be at most {DURATION_MAX_DAYS} days")
        return self

    @property
    def microseconds(self) -> int:
        total = sum(getattr(self, unit) * secs for unit, secs in UNIT_SECONDS.items())
        return round(total * MICROS_PER_SECOND)

    @property
    def timedelta(self) -> timedelta:
        return timedelta(microseconds=self.microseconds)

    def text(self) -> str:
        return format_seconds(self.microseconds / MICROS_PER_SECOND)


def _split(text: str) -> tuple[str, str]:
    match = _TEXT_RE.match(text)
    if not match:
        raise ValueError(f"'{text}' is not a duration; use a number and a unit w, d, h, m or s, e.g. 14d or 30m")
    return match.group(1), match.group(2)


def parse_duration(text: str, *, what: str = "duration") -> Duration:
    """``14d`` → Duration(days=14); a clear error otherwise (for CLI options)."""
    try:
        return Duration.model_validate(text)
    except ValueError as exc:
        raise ValidationError(f"Invalid {what} '{text}': use a number and a unit w, d, h, m or s "
                              "(14d, 30m, 2h).", code="invalid_duration") from exc


def format_seconds(seconds: float | None) -> str:
    """Readable duration: ``45s``, ``12m 5s``, ``3h 20m``, ``2d 4h``; ``–`` for None."""
    if seconds is None:
        return "–"
    s = round(seconds)
    if s < 60:
        return f"{seconds:.1f}s" if seconds < 10 and seconds != s else f"{s}s"
    for unit, size, sub, sub_size in (("d", 86_400, "h", 3_600), ("h", 3_600, "m", 60), ("m", 60, "s", 1)):
        if s >= size:
            major, rest = divmod(s, size)
            minor = rest // sub_size
            return f"{major}{unit} {minor}{sub}" if minor else f"{major}{unit}"
    return f"{s}s"
