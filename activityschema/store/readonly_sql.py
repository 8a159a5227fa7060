"""Read-only ad-hoc SQL for analysts (``activityschema sql``).

The statement is parsed with sqlglot and must be a single read (SELECT/WITH/UNION, DESCRIBE, SHOW);
the store is also opened read-only, so a write could not succeed even if it slipped through.
"""

from __future__ import annotations

from typing import Any

import duckdb
import sqlglot
from sqlglot import exp

from ..errors import ValidationError
from .duckdb import DuckDBStore

_READ_ROOTS = (exp.Select, exp.Union, exp.Intersect, exp.Except, exp.Describe, exp.Show)
_FORBIDDEN = (exp.Insert, exp.Update, exp.Delete, exp.Create, exp.Drop, exp.Alter, exp.Command,
              exp.Merge, exp.Copy, exp.Pragma, exp.Set, exp.Use, exp.Attach, exp.Detach)


def check_readonly(query: str) -> None:
    try:
        statements = [s for s in sqlglot.parse(query, read="duckdb") if s is not None]
    except sqlglot.errors.ParseError as exc:
        raise ValidationError(f"SQL does not parse: {str(exc).splitlines()[0]}", code="invalid_sql") from None
    if len(statements) != 1:
        raise ValidationError("Give exactly one SQL statement.", code="invalid_sql")
    stmt = statements[0]
    if not isinstance(stmt, _READ_ROOTS) or any(stmt.find_all(*_FORBIDDEN)):
        raise ValidationError(
            "Only read-only queries are allowed (SELECT, WITH, DESCRIBE, SHOW).", code="read_only_sql"
        )
    for fn in stmt.find_all(exp.Anonymous, exp.Func):
        name = (fn.name if isinstance(fn, exp.Anonymous) else fn.sql_name()).lower()
        if name.startswith(("read_", "write_", "copy", "glob", "install", "load")):
            raise ValidationError(f"Function '{name}' is not allowed in ad-hoc SQL.", code="read_only_sql")


def run_readonly_sql(store: DuckDBStore, query: str, limit: int) -> tuple[list[str], list[tuple[Any, ...]]]:
    check_readonly(query)
    cur = store.cursor()
    if store.read_only:
        # No file or network access from ad-hoc SQL (read_csv('/etc/passwd'), COPY, ATTACH …).
        cur.execute("SET enable_external_access = false")
    try:
        cur.execute(query)
    except duckdb.Error as exc:  # driver errors become a clear one-line message
        raise ValidationError(f"Query failed: {str(exc).splitlines()[0]}", code="query_failed") from None
    columns = [d[0] for d in cur.description or []]
    return columns, cur.fetchmany(limit)
