"""Rewrite a store file so that deleted rows are gone from its bytes too.

DuckDB reuses the blocks of deleted rows only later: right after a DELETE (and a checkpoint) the old
values still sit in free blocks of the file. After an erasure, ``compact_store`` copies the live
database into a fresh file (``COPY FROM DATABASE``) and renames it over the old one, so a byte scan
of the file finds nothing of the erased customer. The store must not be open anywhere else.
"""

from __future__ import annotations

import os
from pathlib import Path

import duckdb

from ..errors import StoreError

TMP_SUFFIX = ".compact"
WAL_SUFFIX = ".wal"


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def compact_store(path: str | Path) -> dict[str, int]:
    """Compact the store file at ``path`` in place; returns its size before and after."""
    src, tmp = Path(path), Path(str(path) + TMP_SUFFIX)
    if not src.is_file():
        raise StoreError(f"Store '{src}' does not exist.", code="file_not_found")
    before = src.stat().st_size
    tmp.unlink(missing_ok=True)
    con = duckdb.connect()
    try:
        con.execute(f"ATTACH {_literal(str(src))} AS src")
        con.execute("CHECKPOINT src")
        con.execute(f"ATTACH {_literal(str(tmp))} AS dst")
        con.execute("COPY FROM DATABASE src TO dst")
        con.execute("DETACH dst")
        con.execute("DETACH src")
    except duckdb.Error as exc:
        tmp.unlink(missing_ok=True)
        raise StoreError(f"Cannot compact '{src}': {str(exc).splitlines()[0]}. Is it open elsewhere?",
                         code="compact_failed") from exc
    finally:
        con.close()
    with open(tmp, "rb") as fh:
        os.fsync(fh.fileno())
    os.replace(tmp, src)
    Path(str(src) + WAL_SUFFIX).unlink(missing_ok=True)
    dir_fd = os.open(src.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
    return {"bytes_before": before, "bytes_after": src.stat().st_size}
