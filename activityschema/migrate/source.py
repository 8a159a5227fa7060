"""What kind of stream a table holds: v1.0, v1.1 or already v2.0 (by its columns).

- v1.0: ``ts``, ``activity``, ``customer`` and ``feature_1..3``, usually with ``source``,
  ``source_id``, ``_activity_source``; ``activity_id``, ``revenue_impact`` and ``link`` may be missing
  (the spec's migration adds them).
- v1.1: v1.0 plus ``anonymous_customer_id``.
- v2.0: ``feature_json`` instead of the feature columns.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from ..errors import ConfigError, NotFoundError
from .mapping import FEATURE_COLUMNS

IDENTIFIER_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_$]{0,254}$")
REQUIRED_V1 = ("ts", "activity", "customer")
KNOWN_V1 = frozenset({"activity_id", "ts", "activity", "customer", "anonymous_customer_id", "source",
                      "source_id", "revenue_impact", "link", "activity_occurrence", "activity_repeated_at",
                      "_activity_source", *FEATURE_COLUMNS})
ARCHIVE_SUFFIX = "_v1"
FetchAll = Callable[[str, Sequence[Any]], list[tuple[Any, ...]]]

COLUMNS_SQL = {
    "duckdb": "SELECT lower(column_name), upper(data_type) FROM information_schema.columns "
              "WHERE table_catalog = current_database() AND table_schema = current_schema() "
              "AND lower(table_name) = lower(?) ORDER BY ordinal_position",
    "snowflake": "SELECT LOWER(column_name), UPPER(data_type) FROM information_schema.columns "
                 "WHERE table_schema = CURRENT_SCHEMA() AND UPPER(table_name) = UPPER(?) "
                 "ORDER BY ordinal_position",
}


@dataclass(frozen=True)
class SourceTable:
    name: str
    columns: dict[str, str]  # lower-case name -> upper-case type

    @property
    def version(self) -> str:
        if "feature_json" in self.columns and not any(c in self.columns for c in FEATURE_COLUMNS):
            return "v2.0"
        if not all(c in self.columns for c in REQUIRED_V1):
            return "unknown"
        return "v1.1" if "anonymous_customer_id" in self.columns else "v1.0"

    def has(self, column: str) -> bool:
        return column in self.columns

    @property
    def extra_columns(self) -> list[str]:
        return sorted(set(self.columns) - KNOWN_V1)


def check_identifier(name: str) -> str:
    if not IDENTIFIER_RE.match(name):
        raise ConfigError(f"Table name '{name}' is not allowed: use letters, digits, _ and $, "
                          "starting with a letter or _.")
    return name


def inspect_table(fetchall: FetchAll, dialect: str, name: str) -> SourceTable | None:
    """The table's columns, or None when it does not exist."""
    rows = fetchall(COLUMNS_SQL[dialect], [check_identifier(name)])
    return SourceTable(name, {str(c): str(t) for c, t in rows}) if rows else None


def resolve_source(fetchall: FetchAll, dialect: str, explicit: str | None) -> tuple[SourceTable | None, str]:
    """The v1 table to migrate and why; None when there is nothing to migrate."""
    if explicit:
        table = inspect_table(fetchall, dialect, explicit)
        if table is None:
            raise NotFoundError(f"Source table '{explicit}' does not exist in the store's schema.")
        if table.version not in ("v1.0", "v1.1"):
            raise ConfigError(f"Table '{explicit}' is not a v1 stream (found {table.version}): a v1.0 "
                              "stream has ts, activity, customer and feature_1..3 columns.")
        return table, "given with --source-table"
    for candidate in ("activities", "activities" + ARCHIVE_SUFFIX):
        table = inspect_table(fetchall, dialect, candidate)
        if table is not None and table.version in ("v1.0", "v1.1"):
            return table, f"'{candidate}' holds a {table.version} stream"
    return None, "no v1 stream found ('activities' is v2.0 or absent, and no 'activities_v1')"
