"""``ActivityLogger``: log events from an application; once ``log()`` returns, they survive a crash.

    logger = ActivityLogger(db="events.duckdb")          # spool: events.duckdb.spool/
    logger.log({"activity": "visited_page", "ts": "2026-05-01T10:00:00Z", "customer": "c1"})
    logger.log_many(records)                             # the fast path: one wait for many events
    await logger.alog(record)                            # asyncio: awaits without blocking the loop

Every record is validated at once (``ValidationError`` with every reason; nothing is logged), and
its normalized form — canonical ``activity_id``, generated when missing, UTC ``ts``, ``feature_json``
as an object — is appended to the spool. A loader (``activityschema loader``, or ``store=`` here for
a background thread) moves the spool into the store.

Durability modes (setting ``logger_flush_ms``):

- ``0`` (default): ``log()`` returns after the event is fsynced. Concurrent callers share one fsync
  (group commit), so throughput grows with concurrency or with ``log_many``.
- ``N > 0``: ``log()`` returns once the event is queued in memory; a background thread writes and
  fsyncs the queue at most every N ms. **A crash can lose the events of the last N ms.** ``flush()``
  and ``close()`` make everything logged so far durable.
"""

from __future__ import annotations

import asyncio
import atexit
import os
import threading
import time
import weakref
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ..errors import BackpressureError, IngestError
from ..settings import resolve
from ..store.duckdb import DuckDBStore
from .encode import encode_records
from .loader import Loader
from .spool import Spool, default_spool_dir
from .spool_view import Backlog, backlog

# A batched-mode queue never holds more than this; log() waits for the writer beyond it.
MAX_QUEUED_BYTES = 16 * 1024 * 1024
BACKLOG_CHECK_SECONDS = 0.05
BACKPRESSURE_POLL_SECONDS = 0.02


class _Batch:
    """Lines waiting for one write + fsync, and everyone waiting for that to finish."""

    __slots__ = ("lines", "nbytes", "done", "error", "futures")

    def __init__(self) -> None:
        self.lines: list[bytes] = []
        self.nbytes = 0
        self.done = threading.Event()
        self.error: BaseException | None = None
        self.futures: list[tuple[asyncio.AbstractEventLoop, asyncio.Future[None]]] = []

    def finish(self, error: BaseException | None) -> None:
        self.error = error
        self.done.set()
        by_loop: dict[asyncio.AbstractEventLoop, list[asyncio.Future[None]]] = {}
        for loop, future in self.futures:
            by_loop.setdefault(loop, []).append(future)
        for loop, futures in by_loop.items():  # one wake-up per event loop, not one per caller
            try:
                loop.call_soon_threadsafe(_settle, futures, error)
            except RuntimeError:  # that event loop is closed: nobody is waiting any more
                pass

    def result(self) -> None:
        self.done.wait()
        if self.error is not None:
            raise self.error


def _settle(futures: list[asyncio.Future[None]], error: BaseException | None) -> None:
    for future in futures:
        if future.done():
            continue
        if error is None:
            future.set_result(None)
        else:
            future.set_exception(error)


class ActivityLogger:
    """Validates events and appends them durably to a spool; see the module docstring."""

    def __init__(self, spool_dir: str | Path | None = None, *, db: str | Path | None = None,
                 store: DuckDBStore | None = None, flush_ms: float | None = None,
                 max_backlog_bytes: int | None = None, max_backlog_seconds: float | None = None,
                 backpressure_timeout: float | None = None, segment_bytes: int | None = None,
                 segment_seconds: float | None = None, env: dict[str, str] | None = None) -> None:
        directory = default_spool_dir(db or (store.path if store else None), spool_dir, env)
        self.spool = Spool(directory, segment_bytes=segment_bytes, segment_seconds=segment_seconds,
                           env=env).open()
        self._view = Spool(directory, segment_bytes=segment_bytes, segment_seconds=segment_seconds,
                           env=env)
        self.flush_seconds = float(resolve("logger_flush_ms", flush_ms, env)) / 1000
        self.max_backlog_bytes = int(resolve("spool_max_backlog_bytes", max_backlog_bytes, env))
        self.max_backlog_seconds = float(
            resolve("spool_max_backlog_seconds", max_backlog_seconds, env))
        self.backpressure_timeout = float(
            resolve("spool_backpressure_timeout", backpressure_timeout, env))
        self.max_future_hours = float(resolve("max_future_hours", None, env))
        self._cond = threading.Condition()
        self._batch = _Batch()
        self._inflight: _Batch | None = None
        self._flush_asked = False
        self._closed = False
        self._failure: BaseException | None = None
        self._room = threading.Lock()
        self._next_check = 0.0
        self._unchecked_bytes = 0
        self._over = False
        self._pid = os.getpid()
        self.loader = Loader(store, self._view, env=env).start() if store is not None else None
        self._writer = threading.Thread(target=self._write_loop, name="activityschema-logger",
                                        daemon=True)
        self._writer.start()
        _LIVE.add(self)

    # -- logging ----------------------------------------------------------------------------
    def log(self, record: dict[str, Any]) -> str:
        """Log one event; returns its ``activity_id`` once durable (or queued, in batched mode)."""
        return self.log_many([record])[0]

    def log_many(self, records: Iterable[dict[str, Any]]) -> list[str]:
        """Log events together (all or none); one fsync covers them all. Returns their ids."""
        self._check_process()
        lines = encode_records(list(records), max_future_hours=self.max_future_hours)
        if not lines:
            return []
        nbytes = sum(map(len, lines))
        deadline = time.monotonic() + self.backpressure_timeout
        while not self._has_room(nbytes, deadline):
            time.sleep(BACKPRESSURE_POLL_SECONDS)
        batch, _ = self._enqueue(lines)
        if not self.flush_seconds:
            batch.result()
        return [_activity_id(line) for line in lines]

    async def alog(self, record: dict[str, Any]) -> str:
        """``log()`` for asyncio: the event loop keeps running while the fsync happens."""
        return (await self.alog_many([record]))[0]

    async def alog_many(self, records: Iterable[dict[str, Any]]) -> list[str]:
        self._check_process()
        lines = encode_records(list(records), max_future_hours=self.max_future_hours)
        if not lines:
            return []
        nbytes = sum(map(len, lines))
        deadline = time.monotonic() + self.backpressure_timeout
        while not self._has_room(nbytes, deadline):
            await asyncio.sleep(BACKPRESSURE_POLL_SECONDS)
        _, future = self._enqueue(lines, waiter=asyncio.get_running_loop())
        if future is not None:
            await future
        return [_activity_id(line) for line in lines]

    def flush(self) -> None:
        """Return once every event logged so far is durable (raises a pending write error)."""
        with self._cond:
            waiting = [b for b in (self._inflight, self._batch) if b is not None and b.lines]
            self._flush_asked = True
            self._cond.notify_all()
        for batch in waiting:
            batch.done.wait()
        self._raise_failure()

    def close(self) -> None:
        """Flush, stop the writer thread; a loader this logger started loads what is left, then stops."""
        with self._cond:
            if self._closed:
                return
            self._closed = True
            self._cond.notify_all()
        self._writer.join()
        if self.loader is not None:
            self.loader.stop(drain=True)  # what this logger wrote is in the store when close returns
        self.spool.close()
        self._view.close()
        self._raise_failure()

    def __enter__(self) -> ActivityLogger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def backlog(self) -> Backlog:
        """Bytes and age of what the loader has not loaded yet."""
        return backlog(self._view)

    # -- the queue and the writer thread ----------------------------------------------------
    def _enqueue(self, lines: list[bytes], waiter: asyncio.AbstractEventLoop | None = None
                 ) -> tuple[_Batch, asyncio.Future[None] | None]:
        nbytes = sum(map(len, lines))
        future = None
        with self._cond:
            while (self._batch.nbytes and self._batch.nbytes + nbytes > MAX_QUEUED_BYTES
                   and not self._closed):
                self._cond.notify_all()  # a full queue is written now, not at the next interval
                self._cond.wait()
            if self._closed:
                raise IngestError("The ActivityLogger is closed; create a new one to log.",
                                  code="logger_closed")
            self._raise_failure()
            batch = self._batch
            if not batch.lines:
                self._cond.notify_all()  # the writer sleeps only while the queue is empty
            batch.lines.extend(lines)
            batch.nbytes += nbytes
            if waiter is not None and not self.flush_seconds:
                future = waiter.create_future()
                batch.futures.append((waiter, future))
        return batch, future

    def _write_loop(self) -> None:
        last = 0.0
        while True:
            with self._cond:
                while not self._batch.lines and not self._closed:
                    self._flush_asked = False
                    self._cond.wait()
                if not self._batch.lines:
                    self._batch.finish(None)
                    return
                while not (self._flush_asked or self._closed
                           or self._batch.nbytes >= MAX_QUEUED_BYTES):
                    wait = last + self.flush_seconds - time.monotonic()
                    if wait <= 0:
                        break
                    self._cond.wait(wait)
                batch, self._batch = self._batch, _Batch()
                self._inflight = batch
                self._flush_asked = False
                self._cond.notify_all()
            last = time.monotonic()
            self._write(batch)
            with self._cond:
                self._inflight = None

    def _write(self, batch: _Batch) -> None:
        try:
            self.spool.append(b"".join(batch.lines))
        except BaseException as exc:  # noqa: BLE001 - handed to every waiter
            if self.flush_seconds:
                self._failure = exc  # nobody waits in batched mode: raise it on the next call
            batch.finish(exc)
        else:
            batch.finish(None)

    def _check_process(self) -> None:
        # After fork() the child has no writer thread and shares the parent's lock: refuse loudly.
        if os.getpid() != self._pid:
            raise IngestError("This ActivityLogger was created in another process (before a fork); "
                              "create one in each process.", code="logger_forked")

    def _raise_failure(self) -> None:
        failure, self._failure = self._failure, None
        if failure is not None:
            raise IngestError(
                f"Events logged earlier were not written to the spool: {failure}",
                code=getattr(failure, "code", "spool_error")) from failure

    # -- backpressure -----------------------------------------------------------------------
    def _has_room(self, nbytes: int, deadline: float) -> bool:
        """True while the spool backlog is within its bounds; raises once ``deadline`` passed.

        The backlog is read from the spool files at most every BACKLOG_CHECK_SECONDS; in between,
        this logger adds what it queued, so one busy process cannot overshoot the bound by much.
        """
        now = time.monotonic()
        with self._room:
            if (not self._over and now < self._next_check
                    and self._unchecked_bytes + nbytes <= self.max_backlog_bytes):
                self._unchecked_bytes += nbytes
                return True
            current = backlog(self._view)
            self._next_check = now + BACKLOG_CHECK_SECONDS
            pending, lag = current.pending_bytes, current.lag_seconds
            over_bytes = pending > 0 and pending + nbytes > self.max_backlog_bytes
            over_age = bool(self.max_backlog_seconds) and lag > self.max_backlog_seconds
            self._over = over_bytes or over_age
            self._unchecked_bytes = current.pending_bytes + (0 if self._over else nbytes)
        if not self._over:
            return True
        if now >= deadline:
            raise BackpressureError(
                f"Spool '{self.spool.dir}' holds {current.pending_bytes:,} unloaded bytes, oldest "
                f"{current.lag_seconds:.1f} s old (bounds: {self.max_backlog_bytes:,} bytes"
                + (f", {self.max_backlog_seconds:g} s" if self.max_backlog_seconds else "")
                + f"); waited {self.backpressure_timeout:g} s for the loader. Is "
                "`activityschema loader` running?",
                details={"pending_bytes": current.pending_bytes,
                         "lag_seconds": current.lag_seconds})
        return False


def _activity_id(line: bytes) -> str:
    # Every line starts with {"activity_id":"<36 characters>" (encode._assemble puts it first).
    return line[16:52].decode()


# Loggers still open at interpreter exit are closed (flushed) then, batched mode included.
_LIVE: weakref.WeakSet[ActivityLogger] = weakref.WeakSet()


@atexit.register
def _close_all_at_exit() -> None:
    for logger in list(_LIVE):
        try:
            logger.close()
        except Exception:  # noqa: BLE001, S110 - nothing left to report to at interpreter exit
            pass
