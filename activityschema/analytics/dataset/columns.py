"""Column references of a dataset request: a spec column or a ``feature_json.<key>``.

A reference is parsed once into a ``ColumnRef`` that knows its kind (what it may be used for) and
the SQL expression that reads it. Spec column names come from an allow-list; a feature key must
match ``FEATURE_KEY_RE`` and reaches SQL only as a *bound* JSON path, never as text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from ...errors import suggest
from ...schema.columns import SPEC_COLUMNS

FEATURE_PREFIX = "feature_json."
# One or more dot-separated identifier segments (nested keys), each at most 64 characters.
FEATURE_KEY_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}(\.[A-Za-z_][A-Za-z0-9_]{0,63}){0,7}$")

Kind = Literal["text", "timestamp", "number", "json", "feature"]

# What each spec column holds; decides which filters, joins and aggregates accept it.
SPEC_KINDS: dict[str, Kind] = {
    "activity_id": "text",
    "ts": "timestamp",
    "activity": "text",
    "customer": "text",
    "anonymous_customer_id": "text",
    "feature_json": "json",
    "revenue_impact": "number",
    "link": "text",
}
assert set(SPEC_KINDS) == set(SPEC_COLUMNS)

ALLOWED_COLUMNS_TEXT = ", ".join(SPEC_COLUMNS) + " or feature_json.<key>"


@dataclass(frozen=True)
class ColumnRef:
    """A parsed column reference."""

    text: str  # as written in the request
    kind: Kind
    column: str  # the spec column, or "feature_json" for a feature key
    key: str | None = None  # the feature key (dotted for nested keys)

    @property
    def is_feature(self) -> bool:
        return self.key is not None

    @property
    def json_path(self) -> str:
        assert self.key is not None
        return "$." + self.key

    @property
    def label(self) -> str:
        """The name part of an output column: the spec column, or the key (dots become underscores)."""
        return self.key.replace(".", "_") if self.key is not None else self.column


def parse_column(text: object) -> ColumnRef:
    """Parse ``text`` or raise ValueError saying what is allowed (pydantic turns it into a field error)."""
    if not isinstance(text, str):
        raise ValueError(f"a column must be a string ({ALLOWED_COLUMNS_TEXT}), got {text!r}")
    if text.startswith(FEATURE_PREFIX):
        key = text[len(FEATURE_PREFIX):]
        if not FEATURE_KEY_RE.match(key):
            raise ValueError(
                f"feature key {key!r} is not allowed: use letters, digits and underscores, "
                "not starting with a digit, dots for nested keys (e.g. feature_json.plan)")
        return ColumnRef(text, "feature", "feature_json", key)
    if text in SPEC_KINDS:
        return ColumnRef(text, SPEC_KINDS[text], text)
    raise ValueError(f"unknown column {text!r}; allowed: {ALLOWED_COLUMNS_TEXT}.{suggest(text, list(SPEC_COLUMNS))}")
