"""Rules a retention request must satisfy beyond its shape."""

from __future__ import annotations

from ..common.requests import range_end, range_start
from ..common.rules import Rule
from .query import RetentionActorsRequest, RetentionRequest


class DateRange(Rule[RetentionRequest]):
    code = "retention_date_range_invalid"

    def validate(self, request: RetentionRequest) -> None:
        start, end = range_start(request.date_from), range_end(request.date_to)
        if start is not None and end is not None and start >= end:
            self.fail(f"date_from ({request.date_from}) must be before date_to ({request.date_to}).")


class DrilldownInterval(Rule[RetentionActorsRequest]):
    code = "retention_drilldown_interval"

    def validate(self, request: RetentionActorsRequest) -> None:
        if request.drilldown.interval >= request.intervals:
            self.fail(f"drilldown.interval must be between 0 and {request.intervals - 1}; "
                      f"got {request.drilldown.interval}.")


RETENTION_RULES: tuple[Rule[RetentionRequest], ...] = (DateRange(),)
DRILLDOWN_RULES: tuple[Rule[RetentionActorsRequest], ...] = (DrilldownInterval(),)
