"""File-system primitives of the spool: names, locks, durable writes and readable errors.

Everything here is POSIX: ``fcntl.flock`` advisory locks (held per open file description, so two
loggers in one process exclude each other like two processes do), ``O_APPEND`` writes, ``fsync`` of
files and of the directory after a create or rename (so the new name itself survives a crash).
"""

from __future__ import annotations

import errno
import fcntl
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ..errors import IngestError

SEGMENT_SUFFIX = ".ndjson"
TIMES_SUFFIX = ".times"
# seg-<12-digit sequence>-<12 hex random>: ordered by sequence, never reused (the random part keeps a
# name unique even if a sequence number were ever issued twice, e.g. after a lost lock-file state).
SEGMENT_RE = re.compile(r"^seg-(\d{12})-([0-9a-f]{12})\.ndjson\Z")
SEGMENT_NAME_LEN = len("seg-000000000001-000000000000.ndjson")

_ADVICE = {
    errno.ENOSPC: "the disk is full: free space or move the spool (setting spool_dir)",
    errno.EDQUOT: "the disk quota is exhausted: free space or move the spool (setting spool_dir)",
    errno.EACCES: "permission denied: make the directory writable or choose another spool_dir",
    errno.EPERM: "permission denied: make the directory writable or choose another spool_dir",
    errno.EROFS: "the file system is read-only: choose another spool_dir",
    errno.ENOTDIR: "a part of the path is a file, not a directory: choose another spool_dir",
    errno.EISDIR: "a directory is in the way of a spool file: remove it",
}
_CODES = {errno.ENOSPC: "spool_full", errno.EDQUOT: "spool_full",
          errno.EACCES: "spool_unwritable", errno.EPERM: "spool_unwritable",
          errno.EROFS: "spool_unwritable", errno.ENOTDIR: "spool_unwritable"}


def segment_name(seq: int) -> str:
    return f"seg-{seq:012d}-{os.urandom(6).hex()}{SEGMENT_SUFFIX}"


def segment_seq(name: str) -> int:
    m = SEGMENT_RE.match(name)
    return int(m.group(1)) if m else -1


def times_name(segment: str) -> str:
    return segment.removesuffix(SEGMENT_SUFFIX) + TIMES_SUFFIX


def list_segments(directory: Path) -> list[str]:
    """Segment file names in load order (by sequence)."""
    try:
        names = [n for n in os.listdir(directory) if SEGMENT_RE.match(n)]
    except FileNotFoundError:
        return []
    return sorted(names, key=segment_seq)


def spool_error(path: Path | str, exc: OSError, action: str) -> IngestError:
    """An ``IngestError`` naming the spool path, the OS error and what to do about it."""
    code = exc.errno if exc.errno is not None else -1
    name = errno.errorcode.get(code, str(code))
    advice = _ADVICE.get(code, "check the spool directory")
    return IngestError(
        f"Cannot {action} spool '{path}': {exc.strerror or exc} ({name}); {advice}.",
        code=_CODES.get(code, "spool_error"),
        details={"path": str(path), "errno": name},
    )


@contextmanager
def flocked(fd: int, exclusive: bool = True) -> Iterator[None]:
    fcntl.flock(fd, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
    try:
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)


def try_flock(fd: int) -> bool:
    """Take an exclusive lock without waiting; False when another holder has it."""
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def sync_file(fd: int) -> None:
    (getattr(os, "fdatasync", None) or os.fsync)(fd)


def sync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_all(fd: int, data: bytes) -> None:
    """Write every byte (``os.write`` may write fewer than asked)."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def atomic_write(path: Path, data: bytes, *, durable: bool = True) -> None:
    """Replace ``path`` so a process crash leaves the old or the new content, never a mix; with
    ``durable`` (fsync of the file and the directory) a power failure too."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        write_all(fd, data)
        if durable:
            os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)
    if durable:
        sync_dir(path.parent)


def last_newline_end(fd: int, start: int, end: int, chunk: int = 1 << 16) -> int:
    """Offset just after the last ``\\n`` in ``[start, end)`` of ``fd``, or ``start`` if none."""
    pos = end
    while pos > start:
        lo = max(start, pos - chunk)
        found = os.pread(fd, pos - lo, lo).rfind(b"\n")
        if found >= 0:
            return lo + found + 1
        pos = lo
    return start
