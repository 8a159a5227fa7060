"""The data-key store: per-customer data keys, wrapped by the master key, in a file of their own.

Why not a table in the store: crypto-shredding must reach backups. A copy of the DuckDB file holds
ciphertext only; once ``forget`` deletes a customer's key here, that ciphertext is unreadable in
every copy of the store, as long as copies of *this* file are kept no longer than the erasure
deadline (docs/governance.md, "Key management").

SQLite (standard library) so several processes can use it at once with proper locking, and
``secure_delete`` so a deleted key's bytes are overwritten in the file, not only unlinked from a page.
Rows are ``(key_id, wrapped, master_key_id, created_at)``; ``key_id`` is a keyed hash, never an id.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from ..errors import StoreError

BUSY_TIMEOUT_SECONDS = 30.0
MEMORY = ":memory:"
SUFFIX = ".keys"
SCHEMA_SQL = """
CREATE TABLE IF NOT EXISTS data_keys (
    key_id         TEXT PRIMARY KEY,
    wrapped        BLOB NOT NULL,
    master_key_id  TEXT NOT NULL,
    created_at     TEXT NOT NULL
)
"""
_MEMORY_LOCK = threading.Lock()
_MEMORY_CONNECTIONS: dict[str, sqlite3.Connection] = {}

KeyRow = tuple[str, bytes, str]


def keystore_path(db_path: str | None, configured: str = "") -> str:
    """``configured`` if set, else ``<db>.keys`` beside the store; in memory for an in-memory store."""
    if configured:
        return configured
    if not db_path or db_path == MEMORY:
        return MEMORY
    return str(db_path) + SUFFIX


class KeyStore:
    """Wrapped data keys by key id. Connections are short-lived (one per call) except in memory."""

    def __init__(self, path: str) -> None:
        self.path = path

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        try:
            if self.path == MEMORY:
                with _MEMORY_LOCK:
                    con = _MEMORY_CONNECTIONS.get(MEMORY)
                    if con is None:
                        con = _MEMORY_CONNECTIONS[MEMORY] = sqlite3.connect(MEMORY, check_same_thread=False,
                                                                            isolation_level=None)
                        self._prepare(con)
                    yield con
                return
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            con = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_SECONDS, isolation_level=None)
            try:
                self._prepare(con)
                yield con
            finally:
                con.close()
        except sqlite3.Error as exc:
            raise StoreError(f"Key store '{self.path}' failed: {exc}", code="keystore_error") from exc

    @staticmethod
    def _prepare(con: sqlite3.Connection) -> None:
        con.execute("PRAGMA secure_delete = ON")
        con.execute(SCHEMA_SQL)

    def get(self, key_ids: Iterable[str]) -> dict[str, tuple[bytes, str]]:
        wanted = sorted(set(key_ids))
        found: dict[str, tuple[bytes, str]] = {}
        with self._connect() as con:
            for chunk in _chunks(wanted):
                marks = ",".join("?" * len(chunk))
                for kid, wrapped, mkid in con.execute(
                        f"SELECT key_id, wrapped, master_key_id FROM data_keys WHERE key_id IN ({marks})", chunk):
                    found[kid] = (bytes(wrapped), mkid)
        return found

    def add(self, rows: Sequence[KeyRow]) -> None:
        """Insert keys that are not there yet (a concurrent writer's key wins; callers re-read)."""
        now = datetime.now(UTC).isoformat()
        with self._connect() as con:
            con.execute("BEGIN IMMEDIATE")
            con.executemany("INSERT OR IGNORE INTO data_keys VALUES (?, ?, ?, ?)",
                            [(kid, wrapped, mkid, now) for kid, wrapped, mkid in rows])
            con.execute("COMMIT")

    def delete(self, key_ids: Iterable[str]) -> int:
        ids = sorted(set(key_ids))
        with self._connect() as con:
            con.execute("BEGIN IMMEDIATE")
            n = 0
            for chunk in _chunks(ids):
                marks = ",".join("?" * len(chunk))
                n += con.execute(f"DELETE FROM data_keys WHERE key_id IN ({marks})", chunk).rowcount
            con.execute("COMMIT")
        return n

    def all(self) -> list[KeyRow]:
        with self._connect() as con:
            return [(k, bytes(w), m) for k, w, m in con.execute("SELECT key_id, wrapped, master_key_id FROM data_keys")]

    def replace(self, rows: Sequence[KeyRow]) -> None:
        """Overwrite wrapped keys in one transaction (master-key rotation)."""
        with self._connect() as con:
            con.execute("BEGIN IMMEDIATE")
            con.executemany("UPDATE data_keys SET wrapped = ?, master_key_id = ? WHERE key_id = ?",
                            [(w, m, k) for k, w, m in rows])
            con.execute("COMMIT")


def _chunks(items: list[str], size: int = 500) -> Iterator[list[str]]:
    for i in range(0, len(items), size):
        yield items[i:i + size]
