"""The dataset request (SEMANTICS §4 "The dataset request"): typed, validated, with clear errors.

One request format drives the Python API, the CLI and the MCP tool. Every rule that can be checked
without the store is checked here (unknown keys, unknown relationships, malformed values, columns,
duplicate output names); ``runner.check_activities`` adds the one that needs the store (do the
activities exist). Messages name the field, the bad value and what is allowed.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictFloat,
    StrictInt,
    field_validator,
    model_validator,
)

from ...errors import suggest
from ...schema.columns import ACTIVITY_RE
from ...schema.record import parse_ts
from ...sql.templates import Params
from .columns import ColumnRef, parse_column

COHORT_COLUMNS_DEFAULT = ("activity_id", "customer", "ts")
APPEND_COLUMNS_DEFAULT = ("ts", "activity_id")

SELECTORS = ("all_ever", "first_ever", "last_ever", "nth_ever")
PICKS = ("first", "last", "nth")
PICK_WINDOWS = ("ever", "before", "after", "in_between")
AGGREGATE_WINDOWS = ("before", "after", "in_between", "all_ever")
RELATIONSHIPS = tuple(f"{p}_{w}" for p in PICKS for w in PICK_WINDOWS) + tuple(
    f"aggregate_{w}" for w in AGGREGATE_WINDOWS)
AGGREGATES = ("count", "count_distinct", "sum", "avg", "min", "max")
FILTER_OPS = ("=", "!=", "<", "<=", ">", ">=", "in", "not_in", "is_null", "is_not_null")
LIST_OPS = ("in", "not_in")
NULL_OPS = ("is_null", "is_not_null")
ORDER_OPS = ("<", "<=", ">", ">=")

MAX_APPENDS = 50
MAX_FILTERS = 50
MAX_COLUMNS = 100
MAX_JOIN_CONDITIONS = 10
MAX_IN_VALUES = 10_000
MAX_NTH = 1_000_000
MAX_DURATION_DAYS = 36_525  # a hundred years
NAME_RE = re.compile(r"^[a-z][a-z0-9_]{0,99}$")
MICROS = {"minutes": 60_000_000, "hours": 3_600_000_000, "days": 86_400_000_000}


def _choose(field: str, value: str, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise ValueError(f"{field} {value!r} is not one of {', '.join(allowed)}.{suggest(value, list(allowed))}")
    return value


def _activity(value: str) -> str:
    if not ACTIVITY_RE.match(value) or len(value) > 100:
        raise ValueError(f"activity {value!r} is not a valid activity name (lowercase verb_noun, e.g. order_completed)")
    return value


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Duration(_Strict):
    """A time limit from P.ts: exactly one of minutes, hours or days (a non-negative number)."""

    minutes: StrictInt | StrictFloat | None = None
    hours: StrictInt | StrictFloat | None = None
    days: StrictInt | StrictFloat | None = None

    @model_validator(mode="after")
    def _one_unit(self) -> Duration:
        given = {k: v for k, v in self.model_dump().items() if v is not None}
        if len(given) != 1:
            raise ValueError("give exactly one of minutes, hours or days, e.g. {\"days\": 7}")
        (unit, amount), = given.items()
        if not 0 <= amount * MICROS[unit] <= MAX_DURATION_DAYS * MICROS["days"]:
            raise ValueError(f"{unit} must be between 0 and {MAX_DURATION_DAYS} days, got {amount}")
        return self

    @property
    def micros(self) -> int:
        unit, amount = next((k, v) for k, v in self.model_dump().items() if v is not None)
        return int(round(amount * MICROS[unit]))


def _check_scalar(ref: ColumnRef, op: str, value: Any) -> None:
    """A filter value must suit its column: text, an ISO 8601 ts, a number, or any JSON scalar for a key."""
    if isinstance(value, (dict, list)) or value is None:
        raise ValueError(f"filter value for {ref.text!r} must be a single value, got {value!r}")
    if ref.kind == "text" and not isinstance(value, str):
        raise ValueError(f"filter value for {ref.text!r} must be a string, got {value!r}")
    if ref.kind == "number" and (isinstance(value, bool) or not isinstance(value, (int, float))):
        raise ValueError(f"filter value for {ref.text!r} must be a number, got {value!r}")
    if ref.kind == "timestamp" and parse_ts(value) is None:
        raise ValueError(f"filter value for 'ts' must be an ISO 8601 timestamp, got {value!r}")
    if ref.kind == "feature" and isinstance(value, bool) and op in ORDER_OPS:
        raise ValueError(f"op {op!r} cannot compare {ref.text!r} with a boolean; use = or !=")


class Filter(_Strict):
    """Keep cohort rows whose column (or feature key) satisfies ``op value``. NULL satisfies no comparison."""

    column: str
    op: str = "="
    value: Any = None

    @model_validator(mode="after")
    def _valid(self) -> Filter:
        ref = parse_column(self.column)
        _choose("op", self.op, FILTER_OPS)
        if ref.kind == "json":
            raise ValueError("feature_json as a whole cannot be filtered; filter on feature_json.<key>")
        if self.op in NULL_OPS:
            if self.value is not None:
                raise ValueError(f"op {self.op!r} takes no value")
        elif self.op in LIST_OPS:
            if not isinstance(self.value, list) or not 1 <= len(self.value) <= MAX_IN_VALUES:
                raise ValueError(f"op {self.op!r} needs a list of 1 to {MAX_IN_VALUES} values")
            for item in self.value:
                _check_scalar(ref, self.op, item)
            if len({_type_class(v) for v in self.value}) > 1:
                raise ValueError(f"the values of op {self.op!r} must all have one type (all strings, numbers or booleans)")
        else:
            _check_scalar(ref, self.op, self.value)
        return self

    @property
    def ref(self) -> ColumnRef:
        return parse_column(self.column)


def _type_class(value: Any) -> str:
    return "bool" if isinstance(value, bool) else "number" if isinstance(value, (int, float)) else "str"


class JoinCondition(_Strict):
    """Equate a cohort column or key with an appended column or key (NULL never matches)."""

    cohort: str
    append: str

    @model_validator(mode="after")
    def _valid(self) -> JoinCondition:
        for side in (self.cohort, self.append):
            if parse_column(side).kind == "json":
                raise ValueError("feature_json as a whole cannot be joined on; use feature_json.<key>")
        return self


class Cohort(_Strict):
    """The activity that gives the rows, which of its rows, optional filters and the columns shown."""

    activity: str
    select: str = "all_ever"
    n: StrictInt | None = None
    filters: list[Filter] = Field(default_factory=list, max_length=MAX_FILTERS)
    columns: list[str] = Field(default_factory=lambda: list(COHORT_COLUMNS_DEFAULT), min_length=1, max_length=MAX_COLUMNS)

    _activity_name = field_validator("activity")(_activity)

    @model_validator(mode="after")
    def _valid(self) -> Cohort:
        _choose("select", self.select, SELECTORS)
        _check_n(self.select == "nth_ever", self.n, "select 'nth_ever'")
        for col in self.columns:
            parse_column(col)
        return self

    @property
    def refs(self) -> list[ColumnRef]:
        return [parse_column(c) for c in self.columns]


def _check_n(needed: bool, n: int | None, what: str) -> None:
    if needed and (n is None or not 1 <= n <= MAX_NTH):
        raise ValueError(f"{what} needs \"n\": a whole number from 1 to {MAX_NTH}")
    if not needed and n is not None:
        raise ValueError(f"\"n\" is only allowed with nth_ever / nth_before / nth_after / nth_in_between (here: {what})")


class Append(_Strict):
    """One appended activity: a picked row (first/last/nth) or an aggregate over a window."""

    relationship: str
    activity: str
    n: StrictInt | None = None
    columns: list[str] | None = Field(default=None, min_length=1, max_length=MAX_COLUMNS)
    aggregate: str | None = None
    column: str | None = None
    within: Duration | None = None
    at_least: Duration | None = None
    join: list[JoinCondition] = Field(default_factory=list, max_length=MAX_JOIN_CONDITIONS)
    name: str | None = None

    _activity_name = field_validator("activity")(_activity)

    @model_validator(mode="before")
    @classmethod
    def _default_columns(cls, data: Any) -> Any:
        rel = data.get("relationship") if isinstance(data, dict) else None
        if isinstance(rel, str) and not rel.startswith("aggregate_") and data.get("columns") is None:
            return {**data, "columns": list(APPEND_COLUMNS_DEFAULT)}
        return data

    @model_validator(mode="after")
    def _valid(self) -> Append:
        _choose("relationship", self.relationship, RELATIONSHIPS)
        _check_n(self.pick == "nth", self.n, f"relationship {self.relationship!r}")
        if self.pick == "aggregate":
            self._check_aggregate()
        elif self.aggregate is not None or self.column is not None:
            raise ValueError("\"aggregate\" and \"column\" belong to aggregate_* relationships; "
                             "a first/last/nth append takes \"columns\"")
        else:
            for col in self.columns or ():
                parse_column(col)
        if self.at_least is not None and self.window in ("ever", "all_ever"):
            raise ValueError("at_least needs a direction: use it with before, after or in_between")
        if self.name is not None and not NAME_RE.match(self.name):
            raise ValueError(f"name {self.name!r} must be lowercase letters, digits and underscores, starting with a letter")
        return self

    def _check_aggregate(self) -> None:
        if self.columns is not None:
            raise ValueError("an aggregate_* append takes \"aggregate\" (and \"column\"), not \"columns\"")
        if self.aggregate is None:
            raise ValueError(f"{self.relationship!r} needs \"aggregate\": one of {', '.join(AGGREGATES)}")
        _choose("aggregate", self.aggregate, AGGREGATES)
        if self.aggregate == "count":
            if self.column is not None:
                raise ValueError("aggregate 'count' counts events and takes no \"column\"; use count_distinct for values")
            return
        if self.column is None:
            raise ValueError(f"aggregate {self.aggregate!r} needs \"column\"")
        ref = parse_column(self.column)
        if ref.kind == "json":
            raise ValueError("feature_json as a whole cannot be aggregated; use feature_json.<key>")
        if self.aggregate in ("sum", "avg") and ref.kind not in ("number", "feature"):
            raise ValueError(f"aggregate {self.aggregate!r} needs a number: revenue_impact or a feature key, not {self.column!r}")

    @property
    def pick(self) -> str:
        """first, last, nth or aggregate."""
        return self.relationship.split("_", 1)[0]

    @property
    def window(self) -> str:
        """ever, before, after, in_between (picks) or before, after, in_between, all_ever (aggregates)."""
        return self.relationship.split("_", 1)[1]

    @property
    def refs(self) -> list[ColumnRef]:
        return [parse_column(c) for c in self.columns or ()]

    @property
    def value_ref(self) -> ColumnRef | None:
        return parse_column(self.column) if self.column is not None else None

    @property
    def joins(self) -> list[tuple[ColumnRef, ColumnRef]]:
        return [(parse_column(j.cohort), parse_column(j.append)) for j in self.join]

    def output_names(self) -> list[str]:
        """Column names this append adds (SEMANTICS §4), or with ``name`` as the prefix."""
        if self.pick == "aggregate":
            prefix = self.name or f"aggregate_{self.window}_{self.activity}"
            if self.aggregate == "count":
                return [f"{prefix}_count"]
            ref = self.value_ref
            assert ref is not None
            return [f"{prefix}_{self.aggregate}_{ref.label}"]
        rel = f"nth_{self.window}_{self.n}" if self.pick == "nth" else self.relationship
        prefix = self.name or f"{rel}_{self.activity}"
        return [f"{prefix}_{ref.label}" for ref in self.refs]


class DatasetRequest(Params):
    """A cohort and its appended activities (SEMANTICS §4)."""

    cohort: Cohort
    append: list[Append] = Field(default_factory=list, max_length=MAX_APPENDS)

    @model_validator(mode="after")
    def _unique_names(self) -> DatasetRequest:
        names = [n.lower() for n in self.output_names()]  # DuckDB names are case-insensitive
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"output columns would repeat: {', '.join(dupes)}; drop the repeat or give the "
                             "append a distinct \"name\" (it replaces <relationship>_<activity> in its column names)")
        return self

    def output_names(self) -> list[str]:
        names = [ref.label for ref in self.cohort.refs]
        for append in self.append:
            names.extend(append.output_names())
        return names

    def activities(self) -> list[str]:
        """Every activity the request reads, cohort first, without repeats."""
        return list(dict.fromkeys([self.cohort.activity, *(a.activity for a in self.append)]))
