"""The DuckDB dialect: the portable form itself, so there is nothing to override."""

from __future__ import annotations

from .dialect import Dialect, register_dialect


@register_dialect
class DuckDBDialect(Dialect):
    name = "duckdb"
    SQLGLOT_NAME = "duckdb"
