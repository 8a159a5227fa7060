"""Reading a spool without writing to it: complete lines, committed offsets, backlog and lag.

Used by the loader (which reads lines and commits offsets), by loggers (backpressure) and by
``activityschema spool status``. Reads take no lock: segments only grow by whole appends, a reader
stops at the last newline, and sealed segments never change.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .spool import LOADER_LOCK_FILE, OFFSETS_FILE, Spool, peek_active
from .spool_files import (
    atomic_write,
    last_newline_end,
    list_segments,
    segment_seq,
    times_name,
    try_flock,
)

# A line is at most ~17 MB (feature_json is capped at 16 MB); a window never grows past this.
MAX_LINE_BYTES = 64 * 1024 * 1024


def read_lines(directory: Path, name: str, offset: int, max_bytes: int,
               max_lines: int) -> tuple[list[bytes], int]:
    """Complete lines of segment ``name`` from ``offset``: (lines, offset after the last one)."""
    try:
        fd = os.open(directory / name, os.O_RDONLY)
    except FileNotFoundError:
        return [], offset
    try:
        size = os.fstat(fd).st_size
        window = max_bytes
        while offset < size:
            data = os.pread(fd, min(window, size - offset), offset)
            cut = data.rfind(b"\n")
            if cut >= 0:
                lines = data[:cut].split(b"\n")
                if len(lines) > max_lines:
                    lines = lines[:max_lines]
                    return lines, offset + sum(len(line) + 1 for line in lines)
                return lines, offset + cut + 1
            if len(data) < window or window >= MAX_LINE_BYTES:
                break  # an incomplete (in-flight or torn) last line: not ours to read yet
            window *= 2
        return [], offset
    finally:
        os.close(fd)


def read_offsets(directory: Path) -> dict[str, int]:
    """Committed offset per segment, as the loader last wrote them (empty when none)."""
    try:
        data = json.loads((directory / OFFSETS_FILE).read_bytes())
        return {str(k): int(v) for k, v in data.get("segments", {}).items()}
    except (FileNotFoundError, ValueError, AttributeError):
        return {}


def write_offsets(directory: Path, offsets: dict[str, int]) -> None:
    """Replace the offsets file atomically (temp + rename), without fsync.

    The store's ``spool_progress``, committed (and synced) before this file is written, is the truth:
    the loader starts from the larger of the two, so after a power failure a stale, empty or unreadable
    file (``read_offsets`` answers ``{}``) only makes ``spool status`` show more pending until the
    loader runs. Skipping the two syncs per loaded batch keeps them off the disk queue that writers'
    durable appends (``log()``, the servers' answers) wait in."""
    body = {"segments": offsets, "updated_at_ns": time.time_ns()}
    atomic_write(directory / OFFSETS_FILE, json.dumps(body, sort_keys=True).encode(), durable=False)


def marker_time_ns(directory: Path, segment: str, offset: int) -> int | None:
    """Latest time marker at or before ``offset``: the byte there was written less than ~1 s later."""
    try:
        text = (directory / times_name(segment)).read_text()
    except FileNotFoundError:
        return None
    best: int | None = None
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[0].isdigit() and parts[1].isdigit():
            if int(parts[0]) <= offset:
                best = int(parts[1])
    return best


@dataclass
class SegmentInfo:
    name: str
    size: int
    committed: int
    complete: int
    sealed: bool

    @property
    def pending(self) -> int:
        return max(0, self.complete - self.committed)


@dataclass
class Backlog:
    """What the loader has not yet committed: bytes of complete lines, and the age of the oldest."""

    directory: str
    pending_bytes: int = 0
    lag_seconds: float = 0.0
    segments: list[SegmentInfo] = field(default_factory=list)
    loader_pid: int | None = None

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        for seg, info in zip(out["segments"], self.segments, strict=True):
            seg["pending"] = info.pending
        return out


def _complete_end(directory: Path, name: str, start: int, size: int) -> int:
    if size <= start:
        return start
    try:
        fd = os.open(directory / name, os.O_RDONLY)
    except FileNotFoundError:
        return start
    try:
        return last_newline_end(fd, start, size, chunk=4096)
    finally:
        os.close(fd)


def backlog(spool: Spool, *, with_loader: bool = False) -> Backlog:
    """Pending bytes and lag of ``spool``, computed from the files alone (no store needed)."""
    directory = spool.dir
    offsets = read_offsets(directory)
    active_seq = segment_seq(peek_active(directory) or "")
    out = Backlog(str(directory))
    oldest: tuple[str, int] | None = None
    for name in list_segments(directory):
        try:
            size = os.stat(directory / name).st_size
        except FileNotFoundError:
            continue
        committed = offsets.get(name, 0)
        info = SegmentInfo(name, size, committed, _complete_end(directory, name, committed, size),
                           segment_seq(name) < active_seq)
        out.segments.append(info)
        out.pending_bytes += info.pending
        if info.pending and oldest is None:
            oldest = (name, committed)
    if oldest is not None:
        written = marker_time_ns(directory, *oldest)
        if written is not None:
            out.lag_seconds = max(0.0, (time.time_ns() - written) / 1e9)
    if with_loader:
        out.loader_pid = loader_pid(directory)
    return out


def loader_pid(directory: Path) -> int | None:
    """Pid of the loader holding this spool, or None when no loader runs."""
    path = directory / LOADER_LOCK_FILE
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return None
    try:
        if try_flock(fd):
            return None  # we got it: nobody holds it (closing the fd releases it)
        text = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
        return int(text) if text.isdigit() else -1
    finally:
        os.close(fd)
