"""Auditing reads and writes made through the interfaces: a durable journal, chained in batches.

- **Servers** (HTTP, MCP) do not write one store transaction per call (a DuckDB commit costs
  milliseconds and waits behind the loader's merges): ``AuditTrail.record`` queues an entry in memory
  and ``flush`` appends every queued entry to the **journal** ``<store>.audit-pending.ndjson`` with
  one ``O_APPEND`` write and one ``fdatasync``. The servers flush before each answer goes out (MCP) or
  as the request ends (HTTP), so an entry is on disk as early as before; concurrent flushes share one
  ``fdatasync``. ``absorb`` moves the journal into the hash chain in one write transaction; the servers
  do that in the background every second and at shutdown, and any CLI writer does it first.
- **Read-only CLI commands** open the store read-only so several readers can run side by side. After
  the read, ``audit_cli_read`` reopens the store read-write just to append the entry; if another
  process holds the file (another reader, or a server), the entry goes to the same journal.

Journal lines never hold a readable customer identifier: the subject and identifier-like details are
keyed-hashed before the line is written (``scrubbed``), exactly as the chain stores them (lines
written by older versions, without the flag, are hashed when absorbed). Until absorbed, journal lines
are not tamper-evident: ``audit verify`` reports how many are pending (see docs/governance.md).

Absorbing is crash-safe: under an exclusive ``flock`` of the journal, it is renamed to
``.absorbing`` (and the directory fsynced), so appenders start a new journal; the entries are
appended to the chain in one transaction; the file is removed after the commit. An ``.absorbing``
file found at the start of an absorb is a leftover: if its last entry is already in the chain (the
process died between the commit and the removal) it is removed without appending anything twice.
Appenders hold a shared ``flock`` while they write and check that the name still points to the file
they opened, so no line ever lands in a file that is being absorbed.
"""

from __future__ import annotations

import fcntl
import json
import os
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

from ..errors import StoreError
from ..ingest.spool_files import sync_dir, sync_file, write_all
from ..store.duckdb import DuckDBStore
from . import keys
from .audit import ScrubbedRow, append_scrubbed_many, scrub_details

SIDECAR_SUFFIX = ".audit-pending.ndjson"
ABSORBING_SUFFIX = ".absorbing"
QUEUE_MAX = 100_000  # entries held in memory before a record forces a flush
# A leftover .absorbing file is already in the chain when its last entry is (same time, actor, action).
ABSORBED_SQL = "SELECT count(*) FROM audit_log WHERE logged_at = ? AND actor = ? AND action = ?"


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
    # True when subject is already a keyed-hash token and detail_text the scrubbed details.
    scrubbed: bool = False
    detail_text: str | None = None

    def scrubbed_row(self, secret: bytes) -> ScrubbedRow:
        e = self.scrub(secret)
        return ScrubbedRow(e.actor, e.action, e.template, e.query_hash, e.row_count, e.subject, e.detail_text, e.at)

    def scrub(self, secret: bytes) -> Entry:
        """The entry as the chain will hold it: no readable customer identifier left."""
        if self.scrubbed:
            return self
        return Entry(self.actor, self.action, self.template, self.query_hash, self.row_count,
                     keys.token(secret, self.subject) if self.subject is not None else None, None, self.at,
                     scrubbed=True, detail_text=scrub_details(secret, self.details))

    def to_json(self) -> str:
        body: dict[str, Any] = {"actor": self.actor, "action": self.action, "template": self.template,
                                "query_hash": self.query_hash, "row_count": self.row_count, "subject": self.subject}
        if self.scrubbed:
            body.update(scrubbed=True, detail_text=self.detail_text)
        else:
            body["details"] = self.details
        body["at"] = self.at.isoformat()
        return json.dumps(body, default=str, ensure_ascii=False)

    @classmethod
    def from_json(cls, line: str) -> Entry:
        raw = json.loads(line)
        return cls(raw["actor"], raw["action"], raw.get("template"), raw.get("query_hash"), raw.get("row_count"),
                   raw.get("subject"), raw.get("details"), datetime.fromisoformat(raw["at"]),
                   scrubbed=raw.get("scrubbed") is True, detail_text=raw.get("detail_text"))


# -- the journal ---------------------------------------------------------------------------------------
def sidecar_path(store_path: str) -> Path | None:
    """The store's audit journal (None for an in-memory store)."""
    if not store_path or store_path == ":memory:":
        return None
    return Path(store_path + SIDECAR_SUFFIX)


def _open_journal(path: Path) -> int:
    """An fd of the journal under a shared lock, the name pointing to it; created (durably) if missing."""
    while True:
        try:
            fd = os.open(path, os.O_WRONLY | os.O_APPEND)
        except FileNotFoundError:
            try:
                fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:
                continue
            sync_dir(path.parent)  # the new name must survive a crash before we call a line durable
        fcntl.flock(fd, fcntl.LOCK_SH)
        try:
            same = os.stat(path).st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:
            same = False
        if same:
            return fd
        os.close(fd)  # an absorb renamed it while we waited: append to the new journal instead


def append_journal(store_path: str, entries: Iterable[Entry], *, sync: bool = True) -> None:
    """Append entries to the journal with one write and make them durable (``fdatasync``); with
    ``sync`` false the write reaches the OS only (it survives a crash of this process, not of the
    machine) and ``sync_journal`` is due later."""
    path = sidecar_path(store_path)
    if path is None:
        return
    data = "".join(e.to_json() + "\n" for e in entries).encode("utf-8")
    if not data:
        return
    fd = _open_journal(path)
    try:
        write_all(fd, data)
        if sync:
            sync_file(fd)
    finally:
        os.close(fd)  # releases the lock


def sync_journal(store_path: str) -> None:
    """``fdatasync`` the journal (lines written with ``sync=False``). A journal renamed away by an
    absorb meanwhile needs nothing: the absorb commits its lines to the chain."""
    path = sidecar_path(store_path)
    if path is None:
        return
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return
    try:
        sync_file(fd)
    finally:
        os.close(fd)


def write_sidecar(store_path: str, entry: Entry) -> None:
    append_journal(store_path, [entry])


def pending_sidecar(store_path: str) -> int:
    """How many journal entries wait to be absorbed into the chain."""
    path = sidecar_path(store_path)
    total = 0
    for p in (path, Path(f"{path}{ABSORBING_SUFFIX}")) if path else ():
        if p.exists():
            total += sum(1 for line in p.read_text(encoding="utf-8").splitlines() if line.strip())
    return total


def has_pending(store_path: str) -> bool:
    path = sidecar_path(store_path)
    return path is not None and (path.exists() or Path(f"{path}{ABSORBING_SUFFIX}").exists())


def _rotate(path: Path, absorbing: Path) -> bool:
    """Rename the journal to ``absorbing`` once no appender is writing to it."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            if os.stat(path).st_ino != os.fstat(fd).st_ino:
                return False  # someone else rotated it meanwhile
        except FileNotFoundError:
            return False
        os.replace(path, absorbing)
        sync_dir(path.parent)  # the rename is durable before any entry of it is committed
        return True
    finally:
        os.close(fd)


def _entries(absorbing: Path) -> list[Entry]:
    out = []
    for line in absorbing.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        try:
            out.append(Entry.from_json(line))
        except (ValueError, KeyError, TypeError):
            out.append(Entry("sidecar", "sidecar_unreadable", details={"line": line[:500]}))
    return out


def absorb_sidecar(store: DuckDBStore, con: duckdb.DuckDBPyConnection) -> int:
    """Append the journal's entries inside the caller's write transaction; the file is removed by
    ``finish_absorb`` once that transaction committed (see the module docstring)."""
    path = sidecar_path(store.path)
    if path is None:
        return 0
    absorbing = Path(f"{path}{ABSORBING_SUFFIX}")
    if absorbing.exists():
        entries = _entries(absorbing)
        last = entries[-1] if entries else None
        if last is not None and last.action != "sidecar_unreadable":
            row = con.execute(ABSORBED_SQL, [last.at, last.actor, last.action]).fetchone()
            if row and row[0]:
                return 0  # absorbed before a crash; finish_absorb removes it
    elif _rotate(path, absorbing):
        entries = _entries(absorbing)
    else:
        return 0
    _chain(con, entries)
    return len(entries)


def _chain(con: duckdb.DuckDBPyConnection, entries: list[Entry]) -> None:
    """Append ``entries`` to the hash chain, in order, with one insert (``append_scrubbed_many``)."""
    if entries:
        secret = keys.hash_secret(con)
        append_scrubbed_many(con, [e.scrubbed_row(secret) for e in entries], secret=secret)


def finish_absorb(store: DuckDBStore) -> None:
    path = sidecar_path(store.path)
    if path is not None:
        Path(f"{path}{ABSORBING_SUFFIX}").unlink(missing_ok=True)


def append_now(store: DuckDBStore, entries: list[Entry]) -> int:
    """Absorb the journal, then append ``entries``, all in one write transaction."""
    with store.write() as con:
        count = absorb_sidecar(store, con)
        _chain(con, entries)
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
    """Entries queued by a server's requests, made durable in the journal and chained in batches
    (see the module docstring). An in-memory store has no journal: flush appends to the chain."""

    def __init__(self, store: DuckDBStore, *, sync_seconds: float = 0.0) -> None:
        self.store = store
        # 0: flush fdatasyncs before returning. > 0: flush writes only and whoever owns the trail
        # calls ``sync_pending`` at least this often (the servers' setting audit_sync_ms).
        self.sync_seconds = sync_seconds
        self._unsynced = threading.Event()
        self._queue: list[Entry] = []
        self._lock = threading.Lock()
        self._flush_lock = threading.Lock()
        self._absorb_lock = threading.Lock()
        self.enabled = not store.read_only
        self.journal = sidecar_path(store.path) if self.enabled else None
        self._secret: bytes | None = None

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

    def prepare(self) -> None:
        """Read the keyed-hash secret now rather than in the first request (a failure is retried there)."""
        if self.journal is not None:
            try:
                self._secret_of_store()
            except Exception:  # noqa: BLE001 - e.g. a wrapped secret without its master key: flush reports it
                pass

    def _secret_of_store(self) -> bytes:
        if self._secret is None:  # constant for the store's life (a master key rotation only rewraps it)
            with self.store.write() as con:
                self._secret = keys.hash_secret(con)
        return self._secret

    def flush(self) -> int:
        """Make every queued entry durable (the journal, or the chain without one); returns how many.

        Callers that arrive while a flush runs wait for it, then flush what queued meanwhile, so
        concurrent requests share ``fdatasync`` calls."""
        with self._flush_lock:
            with self._lock:
                batch, self._queue = self._queue, []
            if not batch:
                return 0
            try:
                if self.journal is None:
                    return append_now(self.store, batch)
                secret = self._secret_of_store()
                deferred = self.sync_seconds > 0
                append_journal(self.store.path, [e.scrub(secret) for e in batch], sync=not deferred)
                if deferred:
                    self._unsynced.set()
                return len(batch)
            except Exception:
                with self._lock:  # keep them for the next flush, in order
                    self._queue[:0] = batch
                raise

    @property
    def flush_is_quick(self) -> bool:
        """Whether ``flush`` only writes (no fdatasync, no store transaction): cheap enough for an
        event loop."""
        return self.journal is not None and self.sync_seconds > 0

    def sync_pending(self) -> None:
        """``fdatasync`` what ``flush`` wrote without syncing (nothing when all is synced)."""
        if self.journal is not None and self._unsynced.is_set():
            self._unsynced.clear()
            sync_journal(self.store.path)

    def absorb(self) -> int:
        """Move the journal's entries into the hash chain (one transaction); returns how many."""
        if self.journal is None:
            return 0
        with self._absorb_lock:
            if not has_pending(self.store.path):
                return 0
            return append_now(self.store, [])

    def flush_and_absorb(self) -> int:
        """Every entry recorded so far in the chain."""
        written = self.flush()
        self.absorb()
        return written
