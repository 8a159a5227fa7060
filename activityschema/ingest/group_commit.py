"""Group commit: concurrent submissions share one merge.

Each merge has a fixed cost (validation, classification, helper columns, one transaction), so one
merge of 10,000 records is far cheaper than twenty of 500. ``GroupCommitter.submit`` queues a
caller's records; the first caller to find no merge running becomes the leader, merges everything
queued (up to ``max_batch`` records of the same source) and hands every caller its own slice of the
per-record results. A caller returns only after the merge that holds its records committed, so an
acknowledgement still means durable (SEMANTICS §2). Duplicates across two callers of one merge are
duplicates, exactly as across two merges.

Until the spool (issue 3) lands, this is how the servers write; switching them to the logger is the
one line in ``interfaces/runtime.py`` that picks the sink.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

from ..store.duckdb import DuckDBStore
from .importer import ingest_records
from .merge import LoadReport

GROUP_MAX_BATCH_DEFAULT = 50_000

Loaded = Callable[[LoadReport], None]


@dataclass
class _Submission:
    records: Sequence[Any]
    source: str
    future: Future[LoadReport] = field(default_factory=Future)


def slice_report(merged: LoadReport, start: int, count: int, source: str) -> LoadReport:
    """The part of a merged report that belongs to records ``start .. start+count-1``."""
    part = LoadReport(batch_id=merged.batch_id, source=source, submitted=count,
                      touched_actors=merged.touched_actors)
    results = [dict(r, index=r["index"] - start) for r in (merged.results or [])[start:start + count]]
    part.results = results
    statuses = Counter(r["status"] for r in results)
    part.accepted, part.duplicate, part.rejected = statuses["accepted"], statuses["duplicate"], statuses["rejected"]
    part.reasons = Counter(reason["code"] for r in results for reason in r["reasons"] or ())
    return part


class GroupCommitter:
    """Merge concurrent submissions together (see the module docstring)."""

    def __init__(self, store: DuckDBStore, *, max_batch: int = GROUP_MAX_BATCH_DEFAULT,
                 on_loaded: Loaded | None = None) -> None:
        self.store = store
        self.max_batch = max_batch
        self.on_loaded = on_loaded
        self._queue: list[_Submission] = []
        self._lock = threading.Lock()
        self._leading = False

    def submit(self, records: Sequence[Any], *, source: str = "api") -> LoadReport:
        """Merge ``records`` (possibly together with other callers'); return their per-record report."""
        mine = _Submission(list(records), source)
        with self._lock:
            self._queue.append(mine)
            lead = not self._leading
            if lead:
                self._leading = True
        if lead:
            self._lead(mine)
        return mine.future.result()

    def _take(self) -> list[_Submission]:
        with self._lock:
            if not self._queue:
                self._leading = False
                return []
            source, taken, size = self._queue[0].source, [], 0
            for sub in list(self._queue):
                if sub.source != source or (taken and size + len(sub.records) > self.max_batch):
                    continue
                taken.append(sub)
                size += len(sub.records)
                self._queue.remove(sub)
            return taken

    def _lead(self, mine: _Submission) -> None:
        """Merge queue batches until the queue is empty (the leader's own records are in the first)."""
        while batch := self._take():
            try:
                self._merge(batch)
            except BaseException as exc:  # every waiter gets the failure; none hangs
                for sub in batch:
                    if not sub.future.done():
                        sub.future.set_exception(exc)
                if not isinstance(exc, Exception):
                    with self._lock:
                        self._leading = False
                    raise

    def _merge(self, batch: list[_Submission]) -> None:
        records = [r for sub in batch for r in sub.records]
        if not records:
            for sub in batch:
                sub.future.set_result(LoadReport(batch_id="", source=sub.source, results=[]))
            return
        merged = ingest_records(self.store, records, source=batch[0].source, per_record=True)
        start = 0
        for sub in batch:
            sub.future.set_result(slice_report(merged, start, len(sub.records), sub.source))
            start += len(sub.records)
        if self.on_loaded is not None:
            self.on_loaded(merged)
