"""The durable spool: append-only NDJSON segments that many processes append to, one loader drains.

A spool directory (default ``<db>.spool`` beside the store) holds:

    spool.lock                  advisory lock (flock) and the shared state: the active segment, the
                                time of its first write and of the last time marker
    seg-<seq>-<rand>.ndjson     segments in sequence order; the one named by the state is *active*,
                                every lower sequence is *sealed* and never written again
    seg-<seq>-<rand>.times      time markers ``<offset> <unix ns>``, at most one a second (lag)
    offsets.json                committed offset per segment (the loader, after each store commit)
    loader.lock                 held by the running loader (one per spool)

Why an acknowledged event survives any crash:

- An append takes the exclusive lock, writes the whole batch of lines with one ``O_APPEND`` write,
  releases the lock and ``fdatasync``s before the caller is told the events are durable.
- A writer killed mid-write leaves a torn tail (no final newline). It was never acknowledged. The
  next appender sees it under the lock and rotates, so the torn bytes end a sealed segment and are
  never followed by good lines; readers only consume up to the last newline.
- A new segment is created and the directory fsynced before anything is written into it.
- Each process starts a new segment at its first append, so no process appends to a segment that
  a power failure may have shortened below the loader's committed offset.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from ..settings import resolve
from .spool_files import (
    SEGMENT_NAME_LEN,
    flocked,
    list_segments,
    segment_name,
    segment_seq,
    spool_error,
    sync_dir,
    sync_file,
    times_name,
    write_all,
)

STATE_FILE = "spool.lock"
OFFSETS_FILE = "offsets.json"
LOADER_LOCK_FILE = "loader.lock"
SPOOL_SUFFIX = ".spool"
MARK_INTERVAL_NS = 1_000_000_000
_STATE_LEN = SEGMENT_NAME_LEN + 2 * 21 + 1


@dataclass
class SpoolState:
    """What every appender agrees on, kept in ``spool.lock`` (fixed width, rewritten in place)."""

    active: str
    first_write_ns: int = 0
    mark_ns: int = 0

    def encode(self) -> bytes:
        return f"{self.active} {self.first_write_ns:020d} {self.mark_ns:020d}\n".encode()

    @classmethod
    def decode(cls, raw: bytes) -> SpoolState | None:
        parts = raw.decode("ascii", "replace").split()
        if len(raw) != _STATE_LEN or len(parts) != 3 or segment_seq(parts[0]) < 0:
            return None
        if not (parts[1].isdigit() and parts[2].isdigit()):
            return None
        return cls(parts[0], int(parts[1]), int(parts[2]))


def peek_active(directory: Path) -> str | None:
    """The active segment as last recorded, read without the lock (for status and backlog)."""
    try:
        with open(directory / STATE_FILE, "rb") as fh:
            state = SpoolState.decode(fh.read(_STATE_LEN + 1))
    except FileNotFoundError:
        state = None
    if state is not None:
        return state.active
    existing = list_segments(directory)
    return existing[-1] if existing else None


def default_spool_dir(db: str | Path | None = None, spool_dir: str | Path | None = None,
                      env: dict[str, str] | None = None) -> Path:
    """The spool directory: the explicit or configured ``spool_dir``, else ``<db>.spool``."""
    configured = resolve("spool_dir", str(spool_dir) if spool_dir else None, env)
    if configured:
        return Path(configured)
    return Path(str(resolve("db", str(db) if db else None, env)) + SPOOL_SUFFIX)


class Spool:
    """One spool directory. Appends are safe from any number of threads and processes.

    ``flock`` locks belong to an open file description, so threads sharing this object are
    serialized by ``_io`` before they touch the lock; each logger and loader opens its own Spool.
    """

    def __init__(self, directory: str | Path, *, segment_bytes: int | None = None,
                 segment_seconds: float | None = None, env: dict[str, str] | None = None) -> None:
        self.dir = Path(directory)
        self.segment_bytes = int(resolve("spool_segment_bytes", segment_bytes, env))
        self.segment_ns = int(float(resolve("spool_segment_seconds", segment_seconds, env)) * 1e9)
        self._io = threading.Lock()
        self._appending = threading.Lock()  # an append's fd stays open until its fsync is done
        self._lock_fd: int | None = None
        self._segment: tuple[str, int] | None = None
        self._created: str | None = None  # the last segment this object created
        self._appended = False

    # -- opening ----------------------------------------------------------------------------
    def open(self) -> Spool:
        """Create the directory and the first segment if needed; a clear error if we cannot."""
        if self._lock_fd is not None:
            return self
        with self._io:
            if self._lock_fd is None:
                try:
                    self.dir.mkdir(parents=True, exist_ok=True)
                    self._lock_fd = os.open(self.dir / STATE_FILE, os.O_RDWR | os.O_CREAT, 0o644)
                    with flocked(self._lock_fd):
                        self._recover_state()
                except OSError as exc:
                    raise spool_error(self.dir, exc, "open") from exc
        return self

    def close(self) -> None:
        with self._appending, self._io:
            if self._segment is not None:
                os.close(self._segment[1])
                self._segment = None
            if self._lock_fd is not None:
                os.close(self._lock_fd)
                self._lock_fd = None

    @contextmanager
    def _locked(self, exclusive: bool = True) -> Iterator[int]:
        """This object's turn (``_io``), then the cross-process lock; yields the lock fd."""
        self.open()
        with self._io:
            assert self._lock_fd is not None
            with flocked(self._lock_fd, exclusive):
                yield self._lock_fd

    # -- shared state -----------------------------------------------------------------------
    def _read_state(self) -> SpoolState | None:
        assert self._lock_fd is not None
        return SpoolState.decode(os.pread(self._lock_fd, _STATE_LEN + 1, 0))

    def _write_state(self, state: SpoolState) -> None:
        assert self._lock_fd is not None
        os.pwrite(self._lock_fd, state.encode(), 0)

    def _recover_state(self) -> SpoolState:
        """Under the lock: a state naming an existing segment no older than any on disk.

        The state is not fsynced; after a power loss it may be stale or empty, so the newest
        segment on disk wins, and a segment named by the state but gone gets a fresh successor
        (a name is never reused, so a loader's offset for it can never apply to other bytes).
        """
        state = self._read_state()
        existing = list_segments(self.dir)
        newest = existing[-1] if existing else None
        newest_seq = segment_seq(newest) if newest else 0
        state_seq = segment_seq(state.active) if state else 0
        if state is not None and newest_seq <= state_seq and (self.dir / state.active).exists():
            return state
        if newest is not None and newest_seq > state_seq:
            state = SpoolState(newest)  # first write unknown: the next append rotates it
            self._write_state(state)
            return state
        return self._create_segment(max(newest_seq, state_seq) + 1)

    def active(self) -> str:
        """Name of the segment appends currently go to (every lower sequence is sealed)."""
        with self._locked(exclusive=False):
            state = self._read_state()
        if state is None:
            with self._locked():
                state = self._recover_state()
        return state.active

    # -- appending --------------------------------------------------------------------------
    def append(self, data: bytes) -> None:
        """Append whole lines and return once they are on disk (``fdatasync``)."""
        if not data:
            return
        try:
            with self._appending:
                with self._locked():
                    fd = self._append_locked(data)
                sync_file(fd)
        except OSError as exc:
            raise spool_error(self.dir, exc, "append to") from exc

    def _append_locked(self, data: bytes) -> int:
        state = self._read_state() or self._recover_state()
        fd, state = self._segment_fd(state)
        size = os.fstat(fd).st_size
        now = time.time_ns()
        # A process's first append starts a segment of its own: after a power failure the active
        # segment may have lost bytes the loader had already read (never acknowledged, but its
        # committed offset is past them), and appending there would hide new lines below it.
        first = not self._appended and state.active != self._created
        if first or self._full_old_or_torn(fd, size, state, now):
            fd, state = self._segment_fd(self._create_segment(segment_seq(state.active) + 1))
            size = 0
        self._appended = True
        dirty = False
        if size == 0:
            state.first_write_ns, dirty = now, True
        if size == 0 or now - state.mark_ns >= MARK_INTERVAL_NS:
            self._mark(state.active, size, now)
            state.mark_ns, dirty = now, True
        write_all(fd, data)
        if dirty:
            self._write_state(state)
        return fd

    def _full_old_or_torn(self, fd: int, size: int, state: SpoolState, now: int) -> bool:
        if not size:
            return False
        if size >= self.segment_bytes or now - state.first_write_ns >= self.segment_ns:
            return True
        return os.pread(fd, 1, size - 1) != b"\n"  # a writer died mid-write: seal the torn tail

    def _segment_fd(self, state: SpoolState) -> tuple[int, SpoolState]:
        """An fd of the active segment (cached); a vanished one gets a successor, never recreated."""
        if self._segment is not None and self._segment[0] == state.active:
            return self._segment[1], state
        if self._segment is not None:
            os.close(self._segment[1])
            self._segment = None
        try:
            fd = os.open(self.dir / state.active, os.O_RDWR | os.O_APPEND)
        except FileNotFoundError:
            state = self._recover_state()
            fd = os.open(self.dir / state.active, os.O_RDWR | os.O_APPEND)
        self._segment = (state.active, fd)
        return fd, state

    def _create_segment(self, seq: int) -> SpoolState:
        """Under the lock: a new empty active segment, its name durable before any write to it."""
        name = segment_name(seq)
        os.close(os.open(self.dir / name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644))
        sync_dir(self.dir)
        self._created = name
        state = SpoolState(name)
        self._write_state(state)
        return state

    def _mark(self, segment: str, offset: int, now_ns: int) -> None:
        fd = os.open(self.dir / times_name(segment), os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, f"{offset} {now_ns}\n".encode())
        finally:
            os.close(fd)

    # -- sealing (the loader) ---------------------------------------------------------------
    def seal_if_older(self, name: str, max_age_seconds: float) -> bool:
        """Seal the active segment ``name`` when its first write is older than the bound.

        Appends rotate by age themselves; this covers a spool whose writers went quiet, so its
        last segment can be loaded, retired and deleted.
        """
        try:
            with self._locked():
                state = self._read_state()
                if state is None or state.active != name or not state.first_write_ns:
                    return False
                if time.time_ns() - state.first_write_ns < max_age_seconds * 1e9:
                    return False
                if os.stat(self.dir / name).st_size == 0:
                    return False
                self._create_segment(segment_seq(name) + 1)
                return True
        except OSError as exc:
            raise spool_error(self.dir, exc, "rotate") from exc

    def segments(self) -> list[str]:
        return list_segments(self.dir)

    def __enter__(self) -> Spool:
        return self.open()

    def __exit__(self, *exc: object) -> None:
        self.close()
