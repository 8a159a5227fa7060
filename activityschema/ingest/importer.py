"""Bulk import of files and in-memory batches: stage → validate column-wise → merge.

Every path that writes activities (file import, the loader, the HTTP API, MCP ``log_event``) goes
through ``ingest_staged`` so the rules, dedup and helper-column maintenance are the same everywhere.
"""

from __future__ import annotations

import functools
import importlib
import json
import pkgutil
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import duckdb

from ..schema.columns import MAX_FUTURE_HOURS_DEFAULT
from ..store.duckdb import DuckDBStore
from ..store.snowflake import SnowflakeStore
from .merge import LoadReport, merge_checked
from .sources import stage_file, stage_payloads
from .validate_sql import validate_table

Progress = Callable[[str], None]


def utc_now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _ts_literal(now: datetime) -> str:
    # An engine-made timestamp literal (never user input), so validation can compare ts against it.
    return "TIMESTAMP '" + now.isoformat(sep=" ") + "'"


def ingest_staged(
    con: duckdb.DuckDBPyConnection,
    raw_table: str,
    *,
    source: str,
    now: datetime,
    derive_ids: bool = False,
    max_future_hours: float = MAX_FUTURE_HOURS_DEFAULT,
    per_record: bool = False,
    progress: Progress | None = None,
) -> LoadReport:
    """Validate ``raw_table(_seq, payload)`` and merge it; the caller holds the write transaction."""
    if progress:
        progress("validating")
    validate_table(con, raw_table, "_checked", now_sql=_ts_literal(now),
                   max_future_hours=max_future_hours, derive_ids=derive_ids)
    for check in ingest_checks():
        check(con, "_checked", raw_table)
    if progress:
        progress("merging")
    return merge_checked(con, "_checked", raw=raw_table, source=source, now=now, per_record=per_record)


# Extension point: functions (con, checked_table, raw_table) that may append reasons to rows of the
# validator's table before the merge (suppression, feature schemas): the modules of ``ingest/checks/``.
# ``raw_table(_seq, payload)`` holds the original texts (a check may redact a payload there).
IngestCheck = Callable[[duckdb.DuckDBPyConnection, str, str], None]


@functools.cache
def ingest_checks() -> tuple[IngestCheck, ...]:
    from . import checks

    modules = [importlib.import_module(f"{checks.__name__}.{m.name}") for m in pkgutil.iter_modules(checks.__path__)]
    return tuple(m.check for m in sorted(modules, key=lambda m: m.ORDER))


def import_file(
    store: DuckDBStore | SnowflakeStore,
    path: str | Path,
    *,
    fmt: str | None = None,
    derive_ids: bool = False,
    now: datetime | None = None,
    max_future_hours: float = MAX_FUTURE_HOURS_DEFAULT,
    progress: Progress | None = None,
) -> LoadReport:
    """Import one NDJSON, CSV or Parquet file in one transaction."""
    if isinstance(store, SnowflakeStore):
        from .snowflake_load import import_file_snowflake

        return import_file_snowflake(store, path, fmt=fmt, derive_ids=derive_ids, now=now,
                                     max_future_hours=max_future_hours, progress=progress)
    now = now or utc_now()
    with store.write() as con:
        if progress:
            progress("reading")
        stage_file(con, str(path), "_raw", fmt)
        return ingest_staged(con, "_raw", source=f"file:{Path(path).name}", now=now,
                             derive_ids=derive_ids, max_future_hours=max_future_hours,
                             progress=progress)


def _default(value: Any) -> Any:
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(UTC).replace(tzinfo=None)
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def to_payload(record: Any) -> str:
    """JSON text for one record (dicts are serialized; strings are taken as JSON already)."""
    if isinstance(record, str):
        return record
    if isinstance(record, bytes):
        return record.decode("utf-8", errors="replace")
    try:
        return json.dumps(record, default=_default, ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError):
        # Not representable as JSON: keep what we can show; the validator rejects it as invalid_json.
        return repr(record)


def ingest_records(
    store: DuckDBStore | SnowflakeStore,
    records: Sequence[Any] | Iterable[Any],
    *,
    source: str = "api",
    now: datetime | None = None,
    per_record: bool = False,
    max_future_hours: float = MAX_FUTURE_HOURS_DEFAULT,
) -> LoadReport:
    """Validate and merge records given as dicts or JSON texts, in one transaction."""
    if isinstance(store, SnowflakeStore):
        from .snowflake_load import ingest_records_snowflake

        return ingest_records_snowflake(store, records, source=source, now=now, per_record=per_record,
                                        max_future_hours=max_future_hours)
    payloads = [to_payload(r) for r in records]
    now = now or utc_now()
    with store.write() as con:
        stage_payloads(con, payloads, "_raw")
        return ingest_staged(con, "_raw", source=source, now=now, per_record=per_record,
                             max_future_hours=max_future_hours)
