"""Rules a funnel request must satisfy beyond its shape, each with a stable code."""

from __future__ import annotations

from ..common.requests import range_end, range_start
from ..common.rules import Rule
from .query import FunnelActorsRequest, FunnelRequest

FUNNEL_MIN_STEPS = 2
FUNNEL_MAX_STEPS = 10
FUNNEL_MAX_EXCLUSIONS = 10


class StepCount(Rule[FunnelRequest]):
    code = "funnel_step_count"

    def validate(self, request: FunnelRequest) -> None:
        if not FUNNEL_MIN_STEPS <= len(request.steps) <= FUNNEL_MAX_STEPS:
            self.fail(f"A funnel needs between {FUNNEL_MIN_STEPS} and {FUNNEL_MAX_STEPS} steps; "
                      f"got {len(request.steps)}.")


class DateRange(Rule[FunnelRequest]):
    code = "funnel_date_range_invalid"

    def validate(self, request: FunnelRequest) -> None:
        start, end = range_start(request.date_from), range_end(request.date_to)
        if start is not None and end is not None and start >= end:
            self.fail(f"date_from ({request.date_from}) must be before date_to ({request.date_to}).")


class ExclusionSteps(Rule[FunnelRequest]):
    code = "funnel_exclusion_steps_invalid"

    def validate(self, request: FunnelRequest) -> None:
        n = len(request.steps)
        if len(request.exclusions) > FUNNEL_MAX_EXCLUSIONS:
            self.fail(f"At most {FUNNEL_MAX_EXCLUSIONS} exclusions are allowed; got {len(request.exclusions)}.")
        for x in request.exclusions:
            to_step = n if x.to_step is None else x.to_step
            if not 1 <= x.from_step < to_step <= n:
                self.fail(f"Exclusion '{x.activity}': from_step and to_step must satisfy "
                          f"1 <= from_step < to_step <= {n}; got {x.from_step} and {to_step}.")


class ExclusionOrder(Rule[FunnelRequest]):
    code = "funnel_exclusion_order"

    def validate(self, request: FunnelRequest) -> None:
        if request.exclusions and request.order != "ordered":
            reason = ("no other event may come between its steps" if request.order == "strict"
                      else "its steps have no 'between'")
            self.fail(f"Exclusions need order 'ordered': in a {request.order} funnel {reason}.")


class UnorderedDistinct(Rule[FunnelRequest]):
    code = "funnel_unordered_repeated_activity"

    def validate(self, request: FunnelRequest) -> None:
        if request.order != "unordered":
            return
        seen: set[str] = set()
        for step in request.steps:
            if step.activity in seen:
                self.fail(f"In an unordered funnel each step needs a different activity; "
                          f"'{step.activity}' appears twice.")
            seen.add(step.activity)


class DrilldownStep(Rule[FunnelActorsRequest]):
    code = "funnel_drilldown_step"

    def validate(self, request: FunnelActorsRequest) -> None:
        n, d = len(request.steps), request.drilldown
        low = 2 if d.status == "dropped" else 1
        if not low <= d.step <= n:
            self.fail(f"drilldown.step must be between {low} and {n} for status '{d.status}'; got {d.step}."
                      + (" (Nobody drops at step 1: dropping at step k means reaching k-1 but not k.)"
                         if d.status == "dropped" and d.step == 1 else ""))


FUNNEL_RULES: tuple[Rule[FunnelRequest], ...] = (
    StepCount(), DateRange(), ExclusionSteps(), ExclusionOrder(), UnorderedDistinct(),
)
DRILLDOWN_RULES: tuple[Rule[FunnelActorsRequest], ...] = (DrilldownStep(),)
