"""Auditing reads and writes made through the interfaces, batched, with a sidecar for read-only opens.

- **Servers** (HTTP, MCP) do not write one audit transaction per call: ``AuditTrail.record`` queues
  an entry in memory and ``flush`` appends every queued entry to the hash chain in one write
  transaction. The servers flush at the end of each request or tool call (so an entry is durable
  before the caller sees the answer) and a background timer flushes as a safety net.
- **Read-only CLI commands** open the store read-only so several readers can run side by side. After
  the read, ``audit_cli_read`` reopens the store read-write just to append the entry; if another
  process holds the file (another reader, or a server), the entry goes to a sidecar file
  ``<store>.audit-pending.ndjson`` instead (one JSON line, appended atomically). The next writer
  that audits (a server flush, a CLI command) absorbs the sidecar into the chain first, keeping each
  entry's original time. Until absorbed, sidecar lines are not tamper-evident: ``audit verify`` reports
  how many are pending (see docs/governance.md).
"""

from __future__ import annotations

import json
import logging
import os
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

from ..errors import StoreError
from ..store.duckdb import DuckDBStore
from .audit import append_entry

log = logging.getLogger(__name__)

SIDECAR_SUFFIX = ".audit-pending.ndjson"
ABSORBING_SUFFIX = ".absorbing"
QUEUE_MAX = 100_000  # entries held in memory before a record forces a flush


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


@dataclass
class Entry:
    actor: str
    action: str
    template: str | None = None
    query_hash: str | None = None
    row_count: int | None = None
    subject: str | None = None
    details: dict[str, Any] | None = None
    at: datetime = field(default_factory=_now)

    def append(self, con: duckdb.DuckDBPyConnection) -> int:
        return append_entry(con, self.actor, self.action, template=self.template, query_hash=self.query_hash,
                            row_count=self.row_count, subject=self.subject, details=self.details, now=self.at)

    def to_json(self) -> str:
        return json.dumps({"actor": self.actor, "action": self.action, "template": self.template,
                           "query_hash": self.query_hash, "row_count": self.row_count, "subject": self.subject,
                           "details": self.details, "at": self.at.isoformat()}, default=str, ensure_ascii=False)

    @classmethod
    def from_json(cls, line: str) -> Entry:
        raw = json.loads(line)
        return cls(raw["actor"], raw["action"], raw.get("template"), raw.get("query_hash"), raw.get("row_count"),
                   raw.get("subject"), raw.get("details"), datetime.fromisoformat(raw["at"]))


# -- the sidecar -------------------------------------------------------------------------------------
def sidecar_path(store_path: str) -> Path | None:
    """Where read-only openers of ``store_path`` leave entries (None for an in-memory store)."""
    if not store_path or store_path == ":memory:":
        return None
    return Path(store_path + SIDECAR_SUFFIX)


def write_sidecar(store_path: str, entry: Entry) -> None:
    path = sidecar_path(store_path)
    if path is None:
        return
    data = (entry.to_json() + "\n").encode("utf-8")
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, data)  # one write of one line with O_APPEND: concurrent writers do not interleave
        os.fsync(fd)
    finally:
        os.close(fd)


def pending_sidecar(store_path: str) -> int:
    """How many sidecar entries wait to be absorbed into the chain."""
    path = sidecar_path(store_path)
    total = 0
    for p in (path, Path(f"{path}{ABSORBING_SUFFIX}")) if path else ():
        if p.exists():
            total += sum(1 for line in p.read_text(encoding="utf-8").splitlines() if line.strip())
    return total


def absorb_sidecar(store: DuckDBStore, con: duckdb.DuckDBPyConnection) -> int:
    """Append the sidecar's entries inside the caller's write transaction; the file is removed by
    ``finish_absorb`` once that transaction committed (a crash before leaves it to absorb again)."""
    path = sidecar_path(store.path)
    if path is None:
        return 0
    absorbing = Path(f"{path}{ABSORBING_SUFFIX}")
    if not absorbing.exists():
        if not path.exists():
            return 0
        os.replace(path, absorbing)  # new lines from now on start a fresh sidecar
    count = 0
    for line in absorbing.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        try:
            entry = Entry.from_json(line)
        except (ValueError, KeyError, TypeError):
            entry = Entry("sidecar", "sidecar_unreadable", details={"line": line[:500]})
        entry.append(con)
        count += 1
    return count


def finish_absorb(store: DuckDBStore) -> None:
    path = sidecar_path(store.path)
    if path is not None:
        Path(f"{path}{ABSORBING_SUFFIX}").unlink(missing_ok=True)


def append_now(store: DuckDBStore, entries: list[Entry]) -> int:
    """Absorb the sidecar, then append ``entries``, all in one write transaction."""
    with store.write() as con:
        count = absorb_sidecar(store, con)
        for entry in entries:
            entry.append(con)
    finish_absorb(store)
    return count + len(entries)


def audit_cli_read(store_path: str, entry: Entry) -> str:
    """Record a read made through a read-only open (see the module docstring).
    Returns where it went: ``chain`` or ``sidecar``."""
    try:
        store = DuckDBStore(store_path)
    except StoreError:
        write_sidecar(store_path, entry)
        return "sidecar"
    try:
        append_now(store, [entry])
    finally:
        store.close()
    return "chain"


# -- the servers' queue -----------------------------------------------------------------------------------
class AuditTrail:
    """Entries queued by a server's requests, appended in batches (see the module docstring)."""

    def __init__(self, store: DuckDBStore) -> None:
        self.store = store
        self._queue: list[Entry] = []
        self._lock = threading.Lock()
        self._flush_lock = threading.Lock()
        self.enabled = not store.read_only

    def record(self, entry: Entry) -> None:
        if not self.enabled:
            return
        with self._lock:
            self._queue.append(entry)
            full = len(self._queue) >= QUEUE_MAX
        if full:
            self.flush()

    @property
    def pending(self) -> int:
        return len(self._queue)

    def flush(self) -> int:
        """Append every queued entry in one transaction; returns how many were written."""
        with self._flush_lock:
            with self._lock:
                batch, self._queue = self._queue, []
            if not batch:
                return 0
            try:
                return append_now(self.store, batch)
            except Exception:
                with self._lock:  # keep them for the next flush, in order
                    self._queue[:0] = batch
                raise
