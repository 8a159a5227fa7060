"""Which columns an analytics request may name, and how they become SQL (identifiers from allow-lists).

A column is a spec column from ``COLUMN_SQL`` or ``feature_json.<key>`` (dotted keys reach nested
objects). Column names never reach SQL text themselves: a spec column maps to a fixed expression and a
feature key becomes a bound JSON path.
"""

from __future__ import annotations

import re

from ...errors import ValidationError

# The actor of an event (SEMANTICS §1): every per-actor computation uses exactly this expression.
ACTOR_SQL = "coalesce(customer, anonymous_customer_id)"

# Spec columns a filter or breakdown may name, with the SQL that reads them as text.
COLUMN_SQL: dict[str, str] = {
    "activity_id": "activity_id",
    "activity": "activity",
    "customer": "customer",
    "anonymous_customer_id": "anonymous_customer_id",
    "actor": ACTOR_SQL,
    "link": "link",
    "revenue_impact": "revenue_impact",
}
FEATURE_PREFIX = "feature_json."
FEATURE_KEY_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}(\.[A-Za-z_][A-Za-z0-9_]{0,63}){0,7}$")
ALLOWED_COLUMNS_TEXT = ", ".join(COLUMN_SQL) + ", or feature_json.<key>"


def is_feature(column: str) -> bool:
    return column.startswith(FEATURE_PREFIX)


def check_column(column: str, *, what: str = "column") -> str:
    """Return ``column`` if it is allowed, else raise naming what is allowed."""
    if column in COLUMN_SQL:
        return column
    if is_feature(column) and FEATURE_KEY_RE.match(column[len(FEATURE_PREFIX):]):
        return column
    raise ValidationError(f"Unknown {what} '{column}'. Allowed: {ALLOWED_COLUMNS_TEXT} "
                          "(keys: letters, digits and underscores, dotted for nested objects).",
                          code="invalid_column")


def allowed_column(column: str, what: str) -> str:
    """``check_column`` for pydantic validators: a ValueError becomes part of the request error."""
    try:
        return check_column(column, what=what)
    except ValidationError as exc:
        raise ValueError(exc.message) from None


def json_path(column: str) -> str:
    """The JSON path of a ``feature_json.<key>`` column (bound as a parameter, never spliced)."""
    return "$." + column[len(FEATURE_PREFIX):]


def text_sql(column: str, path_param: str) -> str:
    """SQL reading ``column`` as VARCHAR; a feature key reads through the bound path ``$path_param``."""
    if is_feature(column):
        return f"json_extract_string(feature_json, ${path_param})"
    return f"CAST({COLUMN_SQL[column]} AS VARCHAR)"
