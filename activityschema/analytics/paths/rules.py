"""Rules a paths request must satisfy beyond its shape."""

from __future__ import annotations

from ..common.requests import range_end, range_start
from ..common.rules import Rule
from .query import JourneyRequest, PathsRequest


class DateRange(Rule[PathsRequest | JourneyRequest]):
    code = "paths_date_range_invalid"

    def validate(self, request: PathsRequest | JourneyRequest) -> None:
        start, end = range_start(request.date_from), range_end(request.date_to)
        if start is not None and end is not None and start >= end:
            self.fail(f"date_from ({request.date_from}) must be before date_to ({request.date_to}).")


class AnchorNotExcluded(Rule[PathsRequest]):
    code = "paths_anchor_excluded"

    def validate(self, request: PathsRequest) -> None:
        for anchor in (request.start_activity, request.end_activity):
            if anchor and anchor in request.exclude_activities:
                self.fail(f"'{anchor}' is an anchor and cannot also be in exclude_activities.")


PATHS_RULES: tuple[Rule[PathsRequest], ...] = (DateRange(), AnchorNotExcluded())
JOURNEY_RULES: tuple[Rule[JourneyRequest], ...] = (DateRange(),)
