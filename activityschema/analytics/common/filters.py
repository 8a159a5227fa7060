"""Event filters (``{"column": "feature_json.plan", "op": "=", "value": "pro"}``) compiled to SQL.

Rules a user can rely on:

- A number value compares numerically (the feature value is cast to a number; text that is not a
  number never matches); a string value compares as text; ``true``/``false`` compare JSON booleans.
- A missing key or a JSON null matches only ``is_null``; every other operator is false for it.
- ``in`` / ``not_in`` take a non-empty list of values of one type; ``contains`` is a substring test.

Values and JSON paths are bound parameters; only fixed SQL fragments are concatenated.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, field_validator, model_validator

from .columns import COLUMN_SQL, allowed_column as _allowed, is_feature, json_path

Scalar = str | int | float | bool
Op = Literal["=", "!=", "<", "<=", ">", ">=", "in", "not_in", "contains", "is_null", "is_not_null"]
COMPARISONS = ("=", "!=", "<", "<=", ">", ">=")
NUMERIC_COLUMNS = frozenset({"revenue_impact"})


class Filter(BaseModel):
    """One condition on an event's column or feature key."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    column: str
    op: Op = "="
    value: Scalar | list[Scalar] | None = None

    @field_validator("column")
    @classmethod
    def _column(cls, value: str) -> str:
        return _allowed(value, "filter column")

    @model_validator(mode="after")
    def _value_fits_op(self) -> Filter:
        if self.op in ("is_null", "is_not_null"):
            if self.value is not None:
                raise ValueError(f"op '{self.op}' takes no value")
        elif self.op in ("in", "not_in"):
            if not isinstance(self.value, list) or not self.value:
                raise ValueError(f"op '{self.op}' needs a non-empty list value")
            if len({_kind(v) for v in self.value}) != 1:
                raise ValueError(f"the values of op '{self.op}' must all have one type")
        elif self.value is None or isinstance(self.value, list):
            raise ValueError(f"op '{self.op}' needs one value (a string, number or boolean)")
        if self.op == "contains" and not isinstance(self.value, str):
            raise ValueError("op 'contains' needs a string value")
        return self


def _kind(value: Scalar) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    return "text"


def _bind_value(value: Scalar) -> Scalar:
    if isinstance(value, bool):
        return "true" if value else "false"
    return float(value) if isinstance(value, int) else value


def _operand(f: Filter, kind: str, path_param: str) -> str:
    """SQL for the filtered column, typed for the value's kind."""
    if is_feature(f.column):
        text = f"json_extract_string(feature_json, ${path_param})"
        if kind == "number":
            return f"TRY_CAST({text} AS DOUBLE)"
        if kind == "bool":
            return f"CAST(json_extract(feature_json, ${path_param}) AS VARCHAR)"
        return text
    column = COLUMN_SQL[f.column]
    if kind == "number":
        return column if f.column in NUMERIC_COLUMNS else f"TRY_CAST({column} AS DOUBLE)"
    return f"CAST({column} AS VARCHAR)"


def compile_filter(f: Filter, prefix: str) -> tuple[str, dict[str, Any]]:
    """(SQL condition, bound values) for one filter; parameter names start with ``prefix``."""
    bind: dict[str, Any] = {}
    path_param, value_param = f"{prefix}_path", f"{prefix}_value"
    if is_feature(f.column):
        bind[path_param] = json_path(f.column)
    if f.op in ("is_null", "is_not_null"):
        raw = (f"json_extract(feature_json, ${path_param})" if is_feature(f.column) else COLUMN_SQL[f.column])
        null_test = f"({raw} IS NULL OR CAST({raw} AS VARCHAR) = 'null')" if is_feature(f.column) else f"{raw} IS NULL"
        return (null_test if f.op == "is_null" else f"NOT {null_test}"), bind
    values = f.value if isinstance(f.value, list) else [f.value]
    assert values and values[0] is not None
    kind = _kind(values[0])
    operand = _operand(f, kind, path_param)
    if f.op in ("in", "not_in"):
        bind[value_param] = [_bind_value(v) for v in values]
        test = f"list_contains(${value_param}, {operand})"
        return (test if f.op == "in" else f"{operand} IS NOT NULL AND NOT {test}"), bind
    bind[value_param] = _bind_value(values[0])
    if f.op == "contains":
        return f"contains({operand}, ${value_param})", bind
    return f"{operand} {f.op} ${value_param}", bind


def compile_filters(filters: list[Filter] | tuple[Filter, ...], prefix: str) -> tuple[str, dict[str, Any]]:
    """All filters ANDed (``TRUE`` when there are none); a NULL comparison counts as false."""
    parts, bind = [], {}
    for i, f in enumerate(filters):
        sql, values = compile_filter(f, f"{prefix}_f{i}")
        parts.append(f"coalesce({sql}, false)")
        bind.update(values)
    return (" AND ".join(parts) if parts else "TRUE"), bind
