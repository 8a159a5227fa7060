"""Erasure in the spool: events written to ``<db>.spool/`` but not loaded yet.

Assumptions about the spool (``ingest/spool*.py``), kept deliberately small:

- segments are NDJSON files (``*.ndjson``) that writers only append to (``O_APPEND``) and the loader
  reads by byte offset; loaded segments may be archived as ``*.ndjson.gz``;
- a complete line ends with ``\\n``; a last line without one is still being written (or torn).

So an open segment is rewritten **in place, line by line, at the same length**: byte offsets the
loader committed stay valid and appenders holding the file open lose nothing (a rename would send
their writes to an unlinked file). A line whose actor is the erased customer (or an erased anonymous
id without a customer) becomes ``{"_erased":"suppressed"}`` padded with spaces, which the
suppression check rejects as ``suppressed``; any other line mentioning an erased id gets that id
masked with ``*`` (an erased anonymous id field on another customer's line is removed). Gzip archives
are immutable, so they are rewritten whole to a temporary file and renamed over.

If a lock file named in ``SPOOL_LOCK_FILES`` exists, it is held (``flock``) while scrubbing. A line
still being appended is skipped; if it belongs to the erased customer, the suppression list rejects it
when it is loaded. Files of other formats that mention an id are reported, not changed.
"""

from __future__ import annotations

import fcntl
import gzip
import json
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..settings import resolve

MARKER = '{"_erased":"suppressed"}'
SPOOL_SUFFIX = ".spool"
SEGMENT_SUFFIX = ".ndjson"
ARCHIVE_SUFFIX = ".ndjson.gz"
SPOOL_LOCK_FILES = ("spool.lock", "loader.lock", ".lock")
MASK_CHAR = "*"


@dataclass
class SpoolReport:
    directory: str | None = None
    files_scanned: int = 0
    files_changed: int = 0
    lines_blanked: int = 0
    lines_masked: int = 0
    pending_lines: int = 0
    unscrubbed_files: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def spool_directory(db_path: str | None) -> Path | None:
    configured = str(resolve("spool_dir") or "")
    if configured:
        return Path(configured)
    if not db_path or db_path == ":memory:":
        return None
    return Path(db_path + SPOOL_SUFFIX)


@contextmanager
def _spool_lock(directory: Path) -> Iterator[None]:
    for name in SPOOL_LOCK_FILES:
        path = directory / name
        if path.exists():
            fd = os.open(path, os.O_RDWR)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                yield
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
                os.close(fd)
            return
    yield


def linked_anonymous_ids(directory: Path | None, customer: str) -> set[str]:
    """Anonymous ids that spooled events of ``customer`` carry (they will be linked when loaded)."""
    found: set[str] = set()
    needle = customer.encode("utf-8")
    for path in _segments(directory):
        for line in _read_lines(path):
            if needle in line:
                record = _parse(line)
                if record and record.get("customer") == customer and isinstance(record.get("anonymous_customer_id"), str):
                    found.add(record["anonymous_customer_id"])
    return found


def _segments(directory: Path | None) -> list[Path]:
    if directory is None or not directory.is_dir():
        return []
    return sorted(p for p in directory.rglob("*") if p.is_file() and p.name.endswith((SEGMENT_SUFFIX, ARCHIVE_SUFFIX)))


def _read_lines(path: Path) -> list[bytes]:
    data = gzip.decompress(path.read_bytes()) if path.name.endswith(ARCHIVE_SUFFIX) else path.read_bytes()
    return data.splitlines(keepends=True)


def _parse(line: bytes) -> dict[str, Any] | None:
    try:
        record = json.loads(line)
    except ValueError:
        return None
    return record if isinstance(record, dict) else None


def _mask(text: str, pattern: re.Pattern[str]) -> str:
    return pattern.sub(lambda m: MASK_CHAR * len(m.group(0)), text)


def _mask_value(value: Any, pattern: re.Pattern[str]) -> Any:
    if isinstance(value, str):
        return _mask(value, pattern)
    if isinstance(value, list):
        return [_mask_value(v, pattern) for v in value]
    if isinstance(value, dict):
        return {_mask(k, pattern): _mask_value(v, pattern) for k, v in value.items()}
    return value


def scrub_line(line: bytes, ids: set[str], pattern: re.Pattern[str]) -> tuple[bytes, str]:
    """The same-length replacement of one complete line and what was done (blanked/masked/kept)."""
    body, newline = (line[:-1], b"\n") if line.endswith(b"\n") else (line, b"")
    record = _parse(body)
    if record is not None:
        customer, anon = record.get("customer"), record.get("anonymous_customer_id")
        if customer in ids or (customer is None and anon in ids):
            return MARKER.encode().ljust(len(body)) + newline if len(MARKER) <= len(body) else b" " * len(body) + newline, "blanked"
        masked_record = _mask_value({k: v for k, v in record.items()
                                     if not (k == "anonymous_customer_id" and v in ids)}, pattern)
        if masked_record == record:
            return line, "kept"
        new = json.dumps(masked_record, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        if len(new) <= len(body):
            return new.ljust(len(body)) + newline, "masked"
        return MARKER.encode().ljust(len(body)) + newline, "blanked"
    text = body.decode("utf-8", errors="replace")
    masked = _mask(text, pattern).encode("utf-8")
    if masked == body:
        return line, "kept"
    if len(masked) == len(body):
        return masked + newline, "masked"
    return b" " * len(body) + newline, "blanked"


def scrub_spool(directory: Path | None, ids: set[str], pattern: re.Pattern[str]) -> SpoolReport:
    report = SpoolReport(directory=str(directory) if directory else None)
    if directory is None or not directory.is_dir():
        return report
    needles = [i.encode("utf-8") for i in ids] + [json.dumps(i)[1:-1].encode() for i in ids]
    with _spool_lock(directory):
        for path in _segments(directory):
            report.files_scanned += 1
            if path.name.endswith(ARCHIVE_SUFFIX):
                _scrub_archive(path, ids, pattern, needles, report)
            else:
                _scrub_segment(path, ids, pattern, needles, report)
        for path in sorted(p for p in directory.rglob("*") if p.is_file() and p not in set(_segments(directory))):
            data = path.read_bytes()
            if any(n in data for n in needles):
                report.unscrubbed_files.append(str(path))
    return report


def _scrub_segment(path: Path, ids: set[str], pattern: re.Pattern[str], needles: list[bytes], report: SpoolReport) -> None:
    changed = False
    with open(path, "r+b") as fh:
        offset = 0
        for line in fh.read().splitlines(keepends=True):
            if any(n in line for n in needles):
                if not line.endswith(b"\n"):
                    report.pending_lines += 1
                else:
                    new, what = scrub_line(line, ids, pattern)
                    if new != line:
                        os.pwrite(fh.fileno(), new, offset)
                        changed = True
                        report.lines_blanked += what == "blanked"
                        report.lines_masked += what == "masked"
            offset += len(line)
        if changed:
            os.fsync(fh.fileno())
            report.files_changed += 1


def _scrub_archive(path: Path, ids: set[str], pattern: re.Pattern[str], needles: list[bytes], report: SpoolReport) -> None:
    lines = _read_lines(path)
    out, changed = [], False
    for line in lines:
        if any(n in line for n in needles):
            new, what = scrub_line(line if line.endswith(b"\n") else line + b"\n", ids, pattern)
            new = new if line.endswith(b"\n") else new[:-1]
            changed = changed or new != line
            report.lines_blanked += what == "blanked"
            report.lines_masked += what == "masked"
            line = new
        out.append(line)
    if changed:
        tmp = path.with_name(path.name + ".tmp")
        with open(tmp, "wb") as fh:
            fh.write(gzip.compress(b"".join(out)))
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
        report.files_changed += 1
