"""The warehouse store: the same read and write API as ``DuckDBStore``, on Snowflake.

- **Reads** (``fetchall``, ``fetchone``, ``fetch_dicts``, ``fetch_arrow``) take the engine's portable
  SQL and render it through ``sql.transpile(…, to="snowflake")``; ``native=True`` skips that for SQL
  already written for Snowflake. Results look like DuckDB's: lower-case column names, ARRAY as a
  Python list, VARIANT/OBJECT as compact JSON text, non-integer NUMBER as float.
- **Writes** use a second connection owned by one writer at a time (``session()``), with
  ``transaction()`` for atomic work: the connector's autocommit is switched off for its span, and no DDL
  runs inside it (Snowflake commits before DDL). ``write()`` is both at once.
- **Query tags.** Every statement carries a ``QUERY_TAG`` (sent in-band as a statement parameter):
  the configured prefix, and inside ``tagged(template, query_hash)`` a JSON tag with the template's
  name and query hash, so warehouse cost can be traced back to the question that caused it.

Driver exceptions are wrapped in ``StoreError`` here; they never leak past ``store/``.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

import pyarrow as pa

from ..errors import ConfigError, QueryError, StoreError, UnsupportedFeature
from ..schema.ddl import SCHEMA_VERSION
from ..sql.dialect import bind_named, get_dialect, transpile
from .snowflake_config import SnowflakeConfig

Params = Sequence[Any] | None
Connect = Callable[..., Any]
Row = tuple[Any, ...]

INSTALL_HINT = "The snowflake backend needs snowflake-connector-python: pip install 'activityschema[snowflake]'."
TABLES_SQL = "SELECT table_name FROM information_schema.tables WHERE table_schema = CURRENT_SCHEMA()"
SCHEMA_VERSION_SQL = (
    "INSERT INTO schema_meta (key, value) SELECT 'schema_version', ? "
    "WHERE NOT EXISTS (SELECT 1 FROM schema_meta WHERE key = 'schema_version')"
)
QUERY_TAG_MAX_CHARS = 2000


def driver_connect() -> Connect:
    """``snowflake.connector.connect``, looked up at call time (so ``fakesnow.patch()`` applies)."""
    try:
        import snowflake.connector
    except ImportError:
        raise ConfigError(INSTALL_HINT) from None
    return snowflake.connector.connect  # type: ignore[no-any-return]


def driver_errors() -> tuple[type[BaseException], ...]:
    import snowflake.connector.errors

    errors: list[type[BaseException]] = [snowflake.connector.errors.Error]
    try:  # the fakesnow emulator can surface DuckDB's own exceptions
        import duckdb

        errors.append(duckdb.Error)
    except ImportError:  # pragma: no cover
        pass
    return tuple(errors)


def _type_names() -> dict[int, str]:
    from snowflake.connector.constants import FIELD_ID_TO_NAME

    return dict(FIELD_ID_TO_NAME)


def _compact_json(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    return json.dumps(json.loads(value), separators=(",", ":"), ensure_ascii=False)


def _list(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def _number(value: Any) -> Any:
    return float(value) if isinstance(value, Decimal) else value


def _integer(value: Any) -> Any:
    return int(value) if isinstance(value, Decimal) else value


def _converter(type_name: str, scale: int | None) -> Callable[[Any], Any] | None:
    if type_name in ("VARIANT", "OBJECT"):
        return _compact_json
    if type_name == "ARRAY":
        return _list
    if type_name == "FIXED":
        return _number if scale else _integer
    return None


_ARROW_TYPES: dict[str, pa.DataType] = {
    "REAL": pa.float64(), "TEXT": pa.string(), "VARIANT": pa.string(), "OBJECT": pa.string(),
    "BOOLEAN": pa.bool_(), "DATE": pa.date32(), "TIMESTAMP_NTZ": pa.timestamp("us"),
    "TIMESTAMP": pa.timestamp("us"),
}


def _arrow_type(type_name: str, scale: int | None) -> pa.DataType | None:
    """The Arrow type of a column as DuckDB would give it (None: let Arrow infer)."""
    if type_name == "FIXED":
        return pa.float64() if scale else pa.int64()
    return _ARROW_TYPES.get(type_name)


def _column_name(name: str) -> str:
    # Unquoted identifiers come back upper case; the engine's names are lower case.
    return name.lower() if name == name.upper() else name


class SnowflakeSession:
    """Exclusive use of the store's write connection; every statement is native Snowflake SQL."""

    def __init__(self, store: SnowflakeStore, con: Any) -> None:
        self._store = store
        self.connection = con
        self._in_transaction = False

    def execute(self, sql: str, params: Params = None) -> Any:
        cur = self.connection.cursor()
        self._store._run(cur, sql, params)
        return cur

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        if not rows:
            return
        cur = self.connection.cursor()
        with self._store._translate(sql):
            cur.executemany(sql, rows, _statement_params=self._store._statement_params())

    def fetchall(self, sql: str, params: Params = None) -> list[Row]:
        cur = self.execute(sql, params)
        with self._store._translate(sql):
            return self._store._rows(cur)[1]

    def scalar(self, sql: str, params: Params = None) -> Any:
        rows = self.fetchall(sql, params)
        return rows[0][0] if rows else None

    @contextmanager
    def transaction(self) -> Iterator[SnowflakeSession]:
        """Atomic DML: commits on success, rolls back on any error. No DDL inside (it would commit)."""
        if self._in_transaction:
            yield self
            return
        errors = driver_errors()
        self.connection.autocommit(False)
        self._in_transaction = True
        try:
            yield self
        except BaseException as exc:
            self.connection.rollback()
            if isinstance(exc, errors):
                raise StoreError(f"Write failed: {str(exc).splitlines()[0]}") from exc
            raise
        else:
            try:
                self.connection.commit()
            except errors as exc:
                raise StoreError(f"Commit failed: {str(exc).splitlines()[0]}") from exc
        finally:
            self._in_transaction = False
            self.connection.autocommit(True)


class SnowflakeStore:
    """A Snowflake-backed activity store (see the module docstring)."""

    dialect = "snowflake"

    def __init__(
        self,
        config: SnowflakeConfig,
        *,
        connect: Connect | None = None,
        read_only: bool = False,
    ) -> None:
        self.config = config
        self.path = config.describe()
        self.read_only = read_only
        self._connect = connect
        self._write_lock = threading.RLock()
        self._local = threading.local()
        self._session_objects: set[str] = set()
        self._write_con: Any = None
        self._read_con = self._open()
        if not read_only:
            self._ensure_schema()

    # -- connections ------------------------------------------------------------------------
    def _open(self) -> Any:
        connect = self._connect or driver_connect()
        try:
            return connect(**self.config.connect_kwargs())
        except driver_errors() as exc:
            raise StoreError(
                f"Cannot connect to {self.path} as user '{self.config.user}' "
                f"({self.config.auth_method} auth): {str(exc).splitlines()[0]}",
                code="store_unavailable",
            ) from exc

    def _writer(self) -> Any:
        if self._write_con is None:
            self._write_con = self._open()
        return self._write_con

    # -- schema -----------------------------------------------------------------------------
    def _ensure_schema(self) -> None:
        from ..schema.ddl_snowflake import RECLUSTER_SQL, snowflake_tables

        existing = {str(r[0]).lower() for r in self.fetchall(TABLES_SQL, native=True)}
        missing = [sql for name, sql in snowflake_tables().items() if name not in existing]
        with self.session() as s:
            for sql in missing:
                s.execute(sql)
            if "activities" not in existing:
                s.execute(RECLUSTER_SQL)
            s.execute(SCHEMA_VERSION_SQL, [str(SCHEMA_VERSION)])

    def schema_version(self) -> int:
        row = self.fetchone("SELECT value FROM schema_meta WHERE key = 'schema_version'")
        return int(row[0]) if row else 0

    # -- query tags -------------------------------------------------------------------------
    @contextmanager
    def tagged(self, template: str, query_hash: str) -> Iterator[str]:
        """Tag every statement this thread runs inside the block with a template and query hash."""
        tag = json.dumps({"app": self.config.query_tag, "template": template, "query_hash": query_hash},
                         separators=(",", ":"))[:QUERY_TAG_MAX_CHARS]
        previous = getattr(self._local, "tag", None)
        self._local.tag = tag
        try:
            yield tag
        finally:
            self._local.tag = previous

    def current_tag(self) -> str:
        return getattr(self._local, "tag", None) or self.config.query_tag

    def _statement_params(self) -> dict[str, str]:
        return {"QUERY_TAG": self.current_tag()}

    # -- reads ------------------------------------------------------------------------------
    def cursor(self) -> Any:
        raise UnsupportedFeature(self.dialect, "ad-hoc SQL through `activityschema sql` (use a Snowflake "
                                 "worksheet or SnowSQL with a read-only role)")

    def render(self, sql: str) -> str:
        """Portable SQL as this store runs it."""
        return transpile(sql, to=self.dialect)

    def _run(self, cur: Any, sql: str, params: Params) -> None:
        if isinstance(params, dict):
            raise QueryError("Native Snowflake SQL takes positional (?) parameters only.",
                             code="unsupported_parameters")
        with self._translate(sql):
            cur.execute(sql, list(params) if params is not None else None,
                        _statement_params=self._statement_params())

    def _rows(self, cur: Any) -> tuple[list[str], list[Row]]:
        return self._typed_rows(cur)[:2]  # type: ignore[return-value]

    def _typed_rows(self, cur: Any) -> tuple[list[str], list[Row], list[pa.DataType | None]]:
        description = cur.description or []
        names = [_column_name(d.name) for d in description]
        types = _type_names()
        kinds = [(types.get(d.type_code, ""), d.scale) for d in description]
        converters = [_converter(kind, scale) for kind, scale in kinds]
        arrow_types = [_arrow_type(kind, scale) for kind, scale in kinds]
        rows = cur.fetchall()
        if any(converters):
            rows = [tuple(c(v) if c and v is not None else v for c, v in zip(converters, r, strict=True))
                    for r in rows]
        return names, [tuple(r) for r in rows], arrow_types

    def _query(self, sql: str, params: Params | dict[str, Any], native: bool) -> tuple[list[str], list[Row]]:
        names, rows, _ = self._typed_query(sql, params, native)
        return names, rows

    def _prepare(self, sql: str, params: Params | dict[str, Any], native: bool) -> tuple[str, Params]:
        """Rendered text and positional values; ``$name`` parameters with a dict become ``?``."""
        if isinstance(params, dict):
            if native:
                raise QueryError("Native Snowflake SQL takes positional (?) parameters only.",
                                 code="unsupported_parameters")
            lists = frozenset(k for k, v in params.items() if isinstance(v, (list, tuple)))
            text, names = get_dialect(self.dialect).transpile_named(sql, lists=lists)
            # Snowflake cannot bind a list: it travels as JSON text (see sql/snowflake.py).
            return text, [json.dumps(list(v), default=str) if isinstance(v, (list, tuple)) else v
                          for v in bind_named(names, params)]
        return (sql if native else self.render(sql)), params

    def _typed_query(self, sql: str, params: Params | dict[str, Any], native: bool,
                     ) -> tuple[list[str], list[Row], list[Any]]:
        text, values = self._prepare(sql, params, native)
        cur = self._read_con.cursor()
        self._run(cur, text, values)
        with self._translate(text):
            return self._typed_rows(cur)

    def fetchall(self, sql: str, params: Params | dict[str, Any] = None, *, native: bool = False) -> list[Row]:
        return self._query(sql, params, native)[1]

    def fetchone(self, sql: str, params: Params | dict[str, Any] = None, *, native: bool = False) -> Row | None:
        rows = self._query(sql, params, native)[1]
        return rows[0] if rows else None

    def fetch_dicts(self, sql: str, params: Params | dict[str, Any] = None, *, native: bool = False) -> list[dict[str, Any]]:
        names, rows = self._query(sql, params, native)
        return [dict(zip(names, row, strict=True)) for row in rows]

    def fetch_arrow(self, sql: str, params: Params | dict[str, Any] = None, *, native: bool = False) -> pa.Table:
        names, rows, types = self._typed_query(sql, params, native)
        columns = list(zip(*rows, strict=True)) if rows else [() for _ in names]
        return pa.table({name: pa.array(list(col), type=kind)
                         for name, col, kind in zip(names, columns, types, strict=True)})

    # -- writes -----------------------------------------------------------------------------
    @contextmanager
    def session(self, *, temporary_only: bool = False) -> Iterator[SnowflakeSession]:
        """Exclusive use of the write connection, autocommit (DDL and session setup go here).

        ``temporary_only`` gives a session on the read connection instead, for work that creates
        nothing but temporary tables (a migration's dry run); it is allowed on a read-only store.
        """
        if temporary_only:
            with self._write_lock:
                yield SnowflakeSession(self, self._read_con)
            return
        if self.read_only:
            raise StoreError(f"Store '{self.path}' is open read-only.", code="store_read_only")
        with self._write_lock:
            yield SnowflakeSession(self, self._writer())

    @contextmanager
    def write(self) -> Iterator[SnowflakeSession]:
        """A transaction on the write connection; commits on success, rolls back on error."""
        with self.session() as s, s.transaction():
            yield s

    def ensure_session_objects(self, key: str, statements: Sequence[str]) -> None:
        """Create session-scoped objects (temporary tables) once per write connection."""
        with self.session() as s:
            if key in self._session_objects:
                return
            for sql in statements:
                s.execute(sql)
            self._session_objects.add(key)

    def run_write(self, fn: Callable[[SnowflakeSession], Any]) -> Any:
        with self.write() as s:
            return fn(s)

    def execute(self, sql: str, params: Params | dict[str, Any] = None, *, native: bool = False) -> None:
        text, values = self._prepare(sql, params, native)
        with self.write() as s:
            s.execute(text, values)

    @contextmanager
    def _translate(self, sql: str) -> Iterator[None]:
        try:
            yield
        except driver_errors() as exc:
            raise StoreError(f"Query failed: {str(exc).splitlines()[0]}",
                             details={"sql": sql[:500]}) from exc

    def close(self) -> None:
        for con in (self._read_con, self._write_con):
            if con is not None:
                con.close()
        self._write_con = None
        self._session_objects.clear()

    def __enter__(self) -> SnowflakeStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
