"""The loader: drains a spool into the store, batch by batch, exactly once.

Each batch is a run of complete lines of one or more segments, fed as raw JSON text to the same SQL
validation and idempotent merge as a file import (``stage_payloads`` → ``ingest_staged``): in-batch
and cross-batch dedup on ``activity_id``, conflicts and invalid records to the rejects table,
identity stitching, incremental helper columns and the touched actors of the batch.

Order of commits, and why a crash at any instant is harmless:

1. one store transaction: the merge *and* the segment's new offset in ``spool_progress``;
2. then ``offsets.json`` in the spool (temp + fsync + rename), for ``spool status`` and writers;
3. a sealed segment loaded to its last complete line is deleted (or archived).

A crash between 1 and 2 leaves the file offset behind; on start the loader takes the larger of the
two, so nothing is replayed. Were a batch ever replayed anyway (a store restored from an older
backup), the merge counts its events as duplicates and stores nothing twice.

On the Snowflake backend the batch is validated locally and merged in the warehouse
(``snowflake_load``) with the offsets written last inside that same transaction, so the order and
the argument are the same. (Should a warehouse ever commit the merge without the offsets, the
replayed batch would merge as duplicates: still nothing lost, nothing stored twice.)
"""

from __future__ import annotations

import logging
import os
import shutil
import threading
import time
import uuid
from collections.abc import Callable, Iterator
import contextlib
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import duckdb

from ..errors import ConfigError, IngestError, StoreError
from ..settings import resolve
from ..store.duckdb import DuckDBStore
from .importer import ingest_staged, utc_now
from .merge import LoadReport
from .sources import stage_payloads
from .spool import LOADER_LOCK_FILE, Spool, default_spool_dir
from .spool_files import segment_seq, spool_error, times_name, try_flock
from .spool_view import loader_pid, read_lines, read_offsets, write_offsets

log = logging.getLogger("activityschema.loader")

POLL_SECONDS_DEFAULT = 0.05
SEAL_CHECK_SECONDS = 1.0
READ_BYTES = 32 * 1024 * 1024
RETRY_FIRST_SECONDS = 0.1
RETRY_MAX_SECONDS = 10.0
RAW_TABLE = "_spool_raw"
CLAIM_ATTEMPTS = 5
CLAIM_RETRY_SECONDS = 0.02

PROGRESS_SQL = "SELECT segment, end_offset FROM spool_progress"
UPSERT_PROGRESS_SQL = """
INSERT INTO spool_progress (segment, end_offset, batch_id, updated_at)
VALUES (?, ?, ?, CAST(? AS TIMESTAMP))
ON CONFLICT (segment) DO UPDATE SET
    end_offset = excluded.end_offset,
    batch_id = excluded.batch_id,
    updated_at = excluded.updated_at
"""
FORGET_SQL = "DELETE FROM spool_progress WHERE list_contains(CAST(? AS VARCHAR[]), segment)"
WAREHOUSE_UPSERT_PROGRESS_SQL = """
MERGE INTO spool_progress t
USING (SELECT ? AS segment, ? AS end_offset, ? AS batch_id, CAST(? AS TIMESTAMP_NTZ) AS updated_at) s
ON t.segment = s.segment
WHEN MATCHED THEN UPDATE SET end_offset = s.end_offset, batch_id = s.batch_id, updated_at = s.updated_at
WHEN NOT MATCHED THEN INSERT (segment, end_offset, batch_id, updated_at)
    VALUES (s.segment, s.end_offset, s.batch_id, s.updated_at)
"""
WAREHOUSE_FORGET_SQL = "DELETE FROM spool_progress WHERE segment = ?"

BatchListener = Callable[[LoadReport], None]


@dataclass
class LoaderStats:
    batches: int = 0
    submitted: int = 0
    accepted: int = 0
    duplicate: int = 0
    rejected: int = 0
    segments_retired: int = 0
    retries: int = 0
    last_error: str | None = None

    def add(self, report: LoadReport) -> None:
        self.batches += 1
        self.submitted += report.submitted
        self.accepted += report.accepted
        self.duplicate += report.duplicate
        self.rejected += report.rejected

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


THREAD_NAME = "as-loader"  # what ``top -H`` / ``ps -L`` show for an in-process loader thread (Linux)


def _lower_priority(nice: int) -> None:
    """Name the calling thread for the OS and make it ``nice`` steps nicer (Linux schedules threads
    one by one).

    A loader in a server process competes for the CPUs with the requests it serves: under
    contention the requests come first and merges take what is left (backpressure bounds the backlog
    that builds up). Without contention the niceness changes nothing. Best effort: where threads
    cannot be named or reniced on their own, nothing happens."""
    if not hasattr(threading, "get_native_id"):
        return
    tid = threading.get_native_id()
    try:
        with open(f"/proc/self/task/{tid}/comm", "w") as comm:
            comm.write(THREAD_NAME)
    except OSError:
        pass
    lower_thread(tid, nice)


def lower_thread(tid: int | None, nice: int) -> bool:
    """Make the thread ``tid`` (a native id) ``nice`` steps nicer; False where that cannot be done."""
    if tid is None or nice <= 0 or not hasattr(os, "setpriority"):
        return False
    try:
        os.setpriority(os.PRIO_PROCESS, tid, min(os.getpriority(os.PRIO_PROCESS, tid) + nice, 19))
    except OSError:  # the thread ended, or renicing is not allowed here
        log.debug("could not lower thread %s's priority", tid, exc_info=True)
        return False
    return True


def lower_engine_threads(nice: int) -> int:
    """Make the threads this process did not start from Python (DuckDB's worker threads, Arrow's
    pool) ``nice`` steps nicer; returns how many. Linux only; best effort.

    A query runs on the thread that issued it *and* on DuckDB's workers. With only the loader thread
    reniced, a merge still took a whole CPU at normal priority through a worker, so the requests
    arriving meanwhile (each needs a CPU for a few milliseconds) queued behind it. Reniced, the
    workers yield to request threads under contention; a request's own query keeps its priority on
    the thread that issued it, and without contention nothing changes."""
    if nice <= 0 or not hasattr(os, "setpriority") or not os.path.isdir("/proc/self/task"):
        return 0
    ours = {t.native_id for t in threading.enumerate()} | {os.getpid()}
    return sum(lower_thread(int(name), nice) for name in os.listdir("/proc/self/task") if int(name) not in ours)


class _Stopped(Exception):
    """Raised inside the loop when a stop was asked for while waiting to retry."""


class Loader:
    """Drains one spool into one store; one loader per spool (``loader.lock``)."""

    def __init__(self, store: DuckDBStore, spool: Spool | str | Path | None = None, *,
                 batch_events: int | None = None, archive_dir: str | Path | None = None,
                 poll_seconds: float = POLL_SECONDS_DEFAULT, on_batch: BatchListener | None = None,
                 max_retries: int | None = None, nice: int = 0, linger_ms: float | None = None,
                 env: dict[str, str] | None = None) -> None:
        self._warehouse = getattr(store, "dialect", "duckdb") != "duckdb"
        if self._warehouse and spool is None and not resolve("spool_dir", None, env):
            # ``<db>.spool`` has no meaning for a warehouse: the spool is a local directory.
            raise ConfigError("Loading a spool into Snowflake needs its directory: pass the spool "
                              "(--spool-dir) or set ACTIVITYSCHEMA_SPOOL_DIR.", code="spool_dir_required")
        if not isinstance(spool, Spool):
            spool = Spool(spool or default_spool_dir(store.path, env=env), env=env)
        self.store = store
        self.spool = spool
        self.batch_events = int(resolve("loader_batch_events", batch_events, env))
        self.archive_dir = Path(archive_dir) if archive_dir else None
        self.poll_seconds = poll_seconds
        # After a batch smaller than batch_events, wait this long before the next one, so a trickle of
        # events (an MCP client's log_event calls) is merged every linger, not one merge per event: a
        # merge costs milliseconds of CPU whatever its size, and on a small machine those merges
        # compete with the requests. ``nudge`` (a read of one's own queued writes) cuts the wait short.
        self.linger_seconds = float(resolve("loader_linger_ms", linger_ms, env)) / 1000
        self.max_retries = max_retries
        self.max_future_hours = float(resolve("max_future_hours", None, env))
        self.nice = nice  # steps nicer for the thread of start(); the servers pass setting loader_nice
        self.stats = LoaderStats()
        self.error: BaseException | None = None
        self._listeners = [on_batch] if on_batch else []
        self._offsets: dict[str, int] = {}
        self._forget: list[str] = []
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._last_batch_full = False
        self._thread: threading.Thread | None = None
        self._next_seal = 0.0
        self._drain = False

    # -- running ----------------------------------------------------------------------------
    def run_once(self) -> LoaderStats:
        """Load everything complete in the spool now, retire what is done, and return."""
        with self._claimed():
            while self._step():
                pass
        return self.stats

    def follow(self, stop: threading.Event | None = None) -> LoaderStats:
        """Load continuously until ``stop`` (or ``self.stop()``) is set."""
        self._stop = stop or self._stop
        with self._claimed():
            self._loop()
        return self.stats

    def start(self) -> Loader:
        """Load in a daemon thread (in-process). Claims the spool first, so a second loader
        fails here with ``loader_running`` rather than in the thread."""
        self._stop.clear()
        claim = self._claimed()
        claim.__enter__()
        self._thread = threading.Thread(target=self._thread_main, args=(claim,),
                                        name="activityschema-loader", daemon=True)
        self._thread.start()
        return self

    def _thread_main(self, claim: contextlib.AbstractContextManager[None]) -> None:
        _lower_priority(self.nice)
        try:
            self._loop()
        except BaseException as exc:  # noqa: BLE001 - kept for the owner to inspect
            self.error = exc
            log.exception("loader stopped on an error")
        finally:
            claim.__exit__(None, None, None)

    def _loop(self) -> None:
        try:
            while not self._stop.is_set():
                if not self._step():
                    self._rest(self.poll_seconds)
                elif not self._last_batch_full and self.linger_seconds > 0:
                    self._rest(self.linger_seconds)
            while self._drain and self._step():
                pass
        except _Stopped:
            pass

    def _rest(self, seconds: float) -> None:
        """Sleep until ``seconds`` pass, ``nudge`` is called or the loader is asked to stop."""
        self._wake.wait(seconds)
        self._wake.clear()

    def nudge(self) -> None:
        """Load what is in the spool now rather than after the current pause (poll or linger)."""
        self._wake.set()

    def stop(self, timeout: float = 30.0, *, drain: bool = False) -> None:
        """Ask the loader to finish its current batch (with ``drain``, everything already in the
        spool) and stop; wait for the thread at most ``timeout`` seconds (None: until it ends).
        ``running`` stays true while a timed-out thread is still at work; call again to wait more
        (without ``drain`` it stops after the batch in progress)."""
        self._drain = drain
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            if not self._thread.is_alive():
                self._thread = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def add_listener(self, listener: BatchListener) -> None:
        """Call ``listener(report)`` after each committed batch (its ``touched_actors`` tell a
        context cache exactly which actors to refresh)."""
        self._listeners.append(listener)

    # -- one loader per spool -----------------------------------------------------------------
    @contextmanager
    def _claimed(self) -> Iterator[None]:
        self.spool.open()
        path = self.spool.dir / LOADER_LOCK_FILE
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise spool_error(self.spool.dir, exc, "claim") from exc
        try:
            if not self._try_claim(fd):
                other = loader_pid(self.spool.dir)
                raise IngestError(
                    f"Another loader (pid {other}) is draining spool '{self.spool.dir}'; "
                    "one loader per spool.", code="loader_running")
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
            self._load_offsets()
            yield
        finally:
            os.close(fd)  # releases the lock

    @staticmethod
    def _try_claim(fd: int) -> bool:
        # ``spool status`` probes the lock for an instant: do not mistake that for a loader.
        for _ in range(CLAIM_ATTEMPTS):
            if try_flock(fd):
                return True
            time.sleep(CLAIM_RETRY_SECONDS)
        return False

    def _load_offsets(self) -> None:
        """Start from the larger of the spool's offsets file and the store's progress table."""
        names = self.spool.segments()
        from_file = read_offsets(self.spool.dir)
        from_store = dict(self._retrying(lambda: self.store.fetchall(PROGRESS_SQL)))
        self._offsets = {n: max(from_file.get(n, 0), from_store.get(n, 0)) for n in names}
        self._offsets = {n: off for n, off in self._offsets.items() if off}
        if self._offsets != from_file:
            write_offsets(self.spool.dir, self._offsets)

    # -- one step -----------------------------------------------------------------------------
    def _step(self) -> bool:
        """Retire finished segments, then load one batch; False when there was nothing to do."""
        names = self.spool.segments()
        if not names:
            return False
        active_seq = segment_seq(self.spool.active())  # read before the segments' contents
        chunks: list[tuple[str, list[bytes], int]] = []
        room, retired = self.batch_events, False
        for name in names:
            start = self._offsets.get(name, 0)
            lines, end = ([], start)
            if room:
                lines, end = read_lines(self.spool.dir, name, start, READ_BYTES, room)
            if end > start:
                chunks.append((name, lines, end))
                room -= len(lines)
            elif segment_seq(name) < active_seq and not chunks:
                self._retire(name)  # sealed, and nothing after its last loaded line
                retired = True
        if chunks:
            self._last_batch_full = room == 0
            self._commit(chunks)
            return True
        self._maybe_seal(names[-1])
        return retired

    def _commit(self, chunks: list[tuple[str, list[bytes], int]]) -> None:
        """One transaction for the lines of one or more segments and their new offsets."""
        payloads = [line.decode("utf-8", "replace")
                    for _, lines, _ in chunks for line in lines if line.strip()]
        ends = [(name, end) for name, _, end in chunks]
        source = "spool:" + chunks[0][0] + (f"+{len(chunks) - 1}" if len(chunks) > 1 else "")
        if self._warehouse:
            report = self._retrying(lambda: self._load_warehouse(source, payloads, ends))
        else:
            report = self._retrying(lambda: self.store.run_write(
                lambda con: self._load(con, source, payloads, ends)))
        self._forget = []
        self._offsets.update(ends)
        write_offsets(self.spool.dir, self._offsets)
        self.stats.add(report)
        for listener in self._listeners:
            listener(report)

    def _load(self, con: duckdb.DuckDBPyConnection, source: str, payloads: list[str],
              ends: list[tuple[str, int]]) -> LoadReport:
        now = utc_now()
        report = LoadReport(batch_id=str(uuid.uuid4()), source=source)
        if payloads:
            stage_payloads(con, payloads, RAW_TABLE)
            report = ingest_staged(con, RAW_TABLE, source=source, now=now,
                                   max_future_hours=self.max_future_hours)
            con.execute(f"DROP TABLE IF EXISTS {RAW_TABLE}")
        for name, end in ends:
            con.execute(UPSERT_PROGRESS_SQL, [name, end, report.batch_id, now])
        if self._forget:
            con.execute(FORGET_SQL, [self._forget])
        return report

    def _load_warehouse(self, source: str, payloads: list[str], ends: list[tuple[str, int]]) -> LoadReport:
        """The Snowflake form of ``_load``: the offsets go last into the load's own transaction."""
        from .snowflake_load import ingest_payloads_snowflake

        now = utc_now()
        forget = list(self._forget)

        def record_offsets(session: Any, report: LoadReport) -> None:
            for name, end in ends:
                session.execute(WAREHOUSE_UPSERT_PROGRESS_SQL, [name, end, report.batch_id, now])
            for name in forget:
                session.execute(WAREHOUSE_FORGET_SQL, [name])

        if payloads:
            return ingest_payloads_snowflake(self.store, payloads, source=source, now=now,  # type: ignore[arg-type]
                                             max_future_hours=self.max_future_hours, in_transaction=record_offsets)
        report = LoadReport(batch_id=str(uuid.uuid4()), source=source)
        with self.store.session() as session, session.transaction():  # type: ignore[attr-defined]
            record_offsets(session, report)
        return report

    def _retire(self, name: str) -> None:
        """A sealed segment loaded to its last complete line: archive or delete it."""
        source = self.spool.dir / name
        try:
            if self.archive_dir is not None:
                self.archive_dir.mkdir(parents=True, exist_ok=True)
                shutil.move(source, self.archive_dir / name)
            else:
                source.unlink(missing_ok=True)
            (self.spool.dir / times_name(name)).unlink(missing_ok=True)
        except OSError as exc:
            raise spool_error(self.spool.dir, exc, "retire a segment of") from exc
        self._offsets.pop(name, None)
        self._forget.append(name)
        write_offsets(self.spool.dir, self._offsets)
        self.stats.segments_retired += 1

    def _maybe_seal(self, newest: str) -> None:
        now = time.monotonic()
        if now >= self._next_seal:
            self._next_seal = now + SEAL_CHECK_SECONDS
            self.spool.seal_if_older(newest, self.spool.segment_ns / 1e9)

    def _retrying(self, fn: Callable[[], Any]) -> Any:
        """Run ``fn``; while the store fails, wait with exponential backoff and try again."""
        delay, attempt = RETRY_FIRST_SECONDS, 0
        while True:
            try:
                return fn()
            except StoreError as exc:
                attempt += 1
                self.stats.retries += 1
                self.stats.last_error = exc.message
                if self.max_retries is not None and attempt > self.max_retries:
                    raise
                log.warning("store unavailable (%s); retrying in %.1f s", exc.message, delay)
                if self._stop.wait(delay):
                    raise _Stopped() from exc
                delay = min(delay * 2, RETRY_MAX_SECONDS)
