"""Typed views over the spec's feature_json patterns: create them, emit their Snowflake DDL, and
count the values their safe casts turned into NULL.

On DuckDB the views are created whenever the store opens (they are part of
``schema/tables/quality.py``); ``create_typed_views`` does the same on demand, e.g. after a store was
created by an older version and opened read-only since. The view definitions and cast rules live in
``schema/typed_views.py``.
"""

from __future__ import annotations

from typing import Any

from ..schema.typed_views import (
    JSON,
    TYPED_VIEWS,
    cast_failures_sql,
    duckdb_views_ddl,
    snowflake_typed_views_ddl,
)
from ..store.duckdb import DuckDBStore

__all__ = ["cast_failures", "create_typed_views", "snowflake_typed_views_ddl", "typed_view_columns"]


def create_typed_views(store: DuckDBStore) -> list[str]:
    """(Re)create the typed views on a DuckDB store; returns their names."""
    ddl = duckdb_views_ddl()
    with store.write() as con:
        for statement in ddl.values():
            con.execute(statement)
    return list(ddl)


def typed_view_columns() -> list[dict[str, Any]]:
    """Every typed view with its pattern, marker keys and ``(column, kind)`` list."""
    return [
        {
            "view": v.name,
            "pattern": v.pattern,
            "markers": list(v.markers),
            "columns": [{"column": k, "kind": kind} for k, kind in v.columns],
        }
        for v in TYPED_VIEWS
    ]


def cast_failures(store: DuckDBStore) -> list[dict[str, Any]]:
    """Per view and cast column: rows, values present (not null) that failed the cast and became NULL.

    One row per (view, column), e.g. ``{"view": "tool_executions", "column": "duration_ms",
    "kind": "number", "rows": 3768, "failed": 12}``. JSON columns never fail and are not listed.
    """
    out = []
    for view in TYPED_VIEWS:
        cur = store.fetch_dicts(cast_failures_sql(view, "duckdb"))[0]
        for key, kind in view.columns:
            if kind != JSON:
                out.append(
                    {
                        "view": view.name,
                        "column": key,
                        "kind": kind,
                        "rows": cur["row_count"],
                        "failed": cur[key],
                    }
                )
    return out
