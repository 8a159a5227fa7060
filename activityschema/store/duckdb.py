"""The embedded store: one DuckDB file, one writing process.

Writes are serialized by a lock held for the whole transaction (``store.write()``); reads take a
cursor per call, as the DuckDB Python docs require for threads. DuckDB driver exceptions are wrapped
in ``StoreError`` here so they never leak past ``store/``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import duckdb
import pyarrow as pa

from ..errors import StoreError
from ..schema.ddl import SCHEMA_VERSION, duckdb_ddl, duckdb_upgrades, duckdb_views

T = TypeVar("T")
Params = Sequence[Any] | dict[str, Any] | None


class DuckDBStore:
    """A DuckDB-backed activity store."""

    dialect = "duckdb"

    def __init__(self, path: str | Path = ":memory:", *, read_only: bool = False,
                 memory_limit: str | None = None) -> None:
        from ..settings import resolve

        self.path = str(path)
        self.read_only = read_only
        # A bounded memory limit makes big imports spill to disk instead of growing without bound.
        config = {"memory_limit": str(resolve("duckdb_memory_limit", memory_limit))}
        try:
            self._conn = duckdb.connect(self.path, read_only=read_only, config=config)
        except duckdb.IOException as exc:
            raise StoreError(
                f"Cannot open store '{self.path}': {exc}. Another process may own it; "
                "send events through the server or the spool instead.",
                code="store_locked",
            ) from exc
        except duckdb.Error as exc:
            raise StoreError(f"Cannot open store '{self.path}': {exc}") from exc
        self._write_lock = threading.RLock()
        if not read_only:
            self._ensure_schema()

    # -- schema -----------------------------------------------------------------------------
    def _ensure_schema(self) -> None:
        with self.write() as con:
            for stmt in duckdb_ddl() + duckdb_upgrades():
                con.execute(stmt)
            if self._activities_is_v2(con):  # a v1 stream (before `migrate`) has no feature_json
                for stmt in duckdb_views():
                    con.execute(stmt)
            con.execute(
                "INSERT INTO schema_meta VALUES ('schema_version', ?) ON CONFLICT DO NOTHING",
                [str(SCHEMA_VERSION)],
            )

    @staticmethod
    def _activities_is_v2(con: duckdb.DuckDBPyConnection) -> bool:
        row = con.execute(
            "SELECT count(*) FROM information_schema.columns "
            "WHERE table_name = 'activities' AND column_name = 'feature_json'"
        ).fetchone()
        return bool(row and row[0])

    def schema_version(self) -> int:
        row = self.fetchone("SELECT value FROM schema_meta WHERE key = 'schema_version'")
        return int(row[0]) if row else 0

    # -- reads ------------------------------------------------------------------------------
    def cursor(self) -> duckdb.DuckDBPyConnection:
        return self._conn.cursor()

    def fetchall(self, sql: str, params: Params = None) -> list[tuple[Any, ...]]:
        with self._translate(sql):
            return self.cursor().execute(sql, params).fetchall()

    def fetchone(self, sql: str, params: Params = None) -> tuple[Any, ...] | None:
        with self._translate(sql):
            return self.cursor().execute(sql, params).fetchone()

    def fetch_arrow(self, sql: str, params: Params = None) -> pa.Table:
        # A relation (not a DB-API result) goes to Arrow without an extra copy of the rows.
        with self._translate(sql):
            return self.cursor().sql(sql, params=params).to_arrow_table()

    def fetch_dicts(self, sql: str, params: Params = None) -> list[dict[str, Any]]:
        with self._translate(sql):
            cur = self.cursor().execute(sql, params)
            names = [d[0] for d in cur.description or []]
            return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]

    # -- writes -----------------------------------------------------------------------------
    @contextmanager
    def write(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A transaction on the write connection; commits on success, rolls back on error."""
        if self.read_only:
            raise StoreError(f"Store '{self.path}' is open read-only.", code="store_read_only")
        with self._write_lock:
            con = self._conn
            con.execute("BEGIN TRANSACTION")
            try:
                yield con
            except duckdb.Error as exc:
                con.execute("ROLLBACK")
                raise StoreError(f"Write failed: {exc}") from exc
            except BaseException:
                con.execute("ROLLBACK")
                raise
            else:
                con.execute("COMMIT")

    def run_write(self, fn: Callable[[duckdb.DuckDBPyConnection], T]) -> T:
        with self.write() as con:
            return fn(con)

    def execute(self, sql: str, params: Params = None) -> None:
        with self.write() as con:
            con.execute(sql, params)

    @contextmanager
    def _translate(self, sql: str) -> Iterator[None]:
        try:
            yield
        except duckdb.Error as exc:
            raise StoreError(f"Query failed: {exc}", details={"sql": sql[:500]}) from exc

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> DuckDBStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_store(path: str | Path | None = None, *, read_only: bool = False) -> DuckDBStore:
    """Open (creating if needed) the store at ``path`` or the configured default."""
    from ..settings import resolve

    return DuckDBStore(path or resolve("db"), read_only=read_only)
