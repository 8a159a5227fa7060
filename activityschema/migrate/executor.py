"""One small interface over both stores for the migration: run SQL, and group it in a transaction.

DuckDB runs the whole migration in one transaction on the store's write connection (DDL included,
so a failure leaves the store as it was). Snowflake commits DDL by itself, so renames, table creation
and temporary tables run first, and the data steps, the validation and the version record run in one
transaction after them. A dry run uses a connection on which it only creates temporary tables.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager, nullcontext
from typing import Any

from ..store.duckdb import DuckDBStore
from ..store.snowflake import SnowflakeStore

Params = Sequence[Any] | None


class Executor:
    dialect: str

    def execute(self, sql: str, params: Params = None) -> list[tuple[Any, ...]]:
        raise NotImplementedError

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        for row in rows:
            self.execute(sql, row)

    def fetchall(self, sql: str, params: Params = None) -> list[tuple[Any, ...]]:
        return self.execute(sql, params)

    def transaction(self) -> Any:
        return nullcontext()


class DuckDBExecutor(Executor):
    dialect = "duckdb"

    def __init__(self, con: Any) -> None:
        from ..ingest.validate_sql import install_functions

        self.connection = con
        install_functions(con)  # as_uuid5(), the derived-id function the import path uses

    def execute(self, sql: str, params: Params = None) -> list[tuple[Any, ...]]:
        cur = self.connection.execute(sql, list(params) if params is not None else None)
        return cur.fetchall() if cur.description else []


class SnowflakeExecutor(Executor):
    dialect = "snowflake"

    def __init__(self, session: Any) -> None:
        self.session = session

    def execute(self, sql: str, params: Params = None) -> list[tuple[Any, ...]]:
        cur = self.session.execute(sql, params)
        return [tuple(r) for r in cur.fetchall()] if cur.description else []

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        self.session.executemany(sql, rows)

    def transaction(self) -> Any:
        return self.session.transaction()


@contextmanager
def executor_for(store: Any, *, dry_run: bool) -> Iterator[Executor]:
    """An executor on ``store``: writable for a real run, temporary tables only for a dry run."""
    if isinstance(store, DuckDBStore):
        if dry_run:
            cur = store.cursor()
            try:
                yield DuckDBExecutor(cur)
            finally:
                cur.close()
        else:
            with store.write() as con:
                yield DuckDBExecutor(con)
    elif isinstance(store, SnowflakeStore):
        with store.session(temporary_only=dry_run) as session:
            yield SnowflakeExecutor(session)
    else:  # pragma: no cover - a future backend must add its executor here
        raise TypeError(f"No migration executor for {type(store).__name__}")
