"""Queued (spool) ingestion for the servers: validate in Python, append durably, answer at once.

When a server process runs the loader (it owns the DuckDB file), ``POST /v1/activities`` and MCP
``log_event`` need not merge per request: each record is validated by the same rules as the store's
SQL validator (``schema/record.py``, parity-tested), the valid ones are appended to the spool by the
``ActivityLogger`` (group-committed fsync) and answered ``accepted`` — durably queued, SEMANTICS §2.
The loader merges them moments later; a duplicate or conflict is resolved there (a conflict lands in
the rejects table, like a record an ingest check refuses). Records that fail validation are merged
at once through ``reject`` so they are kept whole in the rejects table before the answer, with the
store's own reasons. Counts reconcile: accepted + rejected = submitted (duplicate is always 0 here).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

from ..errors import ValidationError
from ..schema.jsonable import jsonable
from .logger import ActivityLogger
from .merge import LoadReport

Reject = Callable[[Sequence[Any]], LoadReport]


def _parsed(record: Any) -> tuple[Any, bool]:
    """(the record as an object, whether it could be read): texts are JSON lines (NDJSON bodies)."""
    if isinstance(record, (str, bytes)):
        try:
            return json.loads(record), True
        except ValueError:
            return None, False
    return record, True


def actor_of(record: Any) -> str | None:
    """coalesce(customer, anonymous_customer_id) of a record as sent (before identity stitching)."""
    value, _ = _parsed(record)
    if not isinstance(value, dict):
        return None
    actor = value.get("customer") or value.get("anonymous_customer_id")
    return actor if isinstance(actor, str) else None


def queue_records(logger: ActivityLogger, records: Sequence[Any], *, source: str, reject: Reject) -> LoadReport:
    """Append the valid records to the spool (durable on return); merge the invalid ones through
    ``reject`` so they reach the rejects table. Returns per-record results in input order."""
    report = LoadReport(batch_id="", source=source, submitted=len(records))
    # A JSON body holds objects already; only NDJSON lines (texts) need reading one by one.
    if any(type(r) is str or type(r) is bytes for r in records):
        parsed = [_parsed(r) for r in records]
        valid = [i for i, (_, readable) in enumerate(parsed) if readable]
        values = [p for p, _ in parsed]
    else:
        valid, values = list(range(len(records))), list(records)
    ids: list[str] = []
    while valid:
        try:  # all or none: the logger validates every record (one encode, one fsync)
            ids = logger.log_many(values if len(valid) == len(values) else [values[i] for i in valid])
            break
        except ValidationError as exc:  # drop the invalid ones (listed by index) and log the rest
            bad = {valid[d["index"]] for d in (exc.details or {}).get("records", [])}
            if not bad:
                raise
            valid = [i for i in valid if i not in bad]
    if len(ids) == len(records):  # the common case: every record accepted, results built in one pass
        report.results = [{"index": i, "status": "accepted", "activity_id": aid, "reasons": []}
                          for i, aid in enumerate(ids)]
        report.accepted = len(ids)
        return report
    results: list[dict[str, Any] | None] = [None] * len(records)
    for i, aid in zip(valid, ids, strict=True):
        results[i] = {"index": i, "status": "accepted", "activity_id": aid, "reasons": []}
    invalid = [i for i in range(len(records)) if results[i] is None]
    if invalid:
        merged = reject([records[i] for i in invalid])
        report.batch_id = merged.batch_id
        for i, result in zip(invalid, merged.results or [], strict=True):
            results[i] = jsonable({**result, "index": i})  # store values (UUIDs) as JSON text
    report.results = [r for r in results if r is not None]
    statuses = Counter(r["status"] for r in report.results)
    report.accepted, report.duplicate, report.rejected = statuses["accepted"], statuses["duplicate"], statuses["rejected"]
    report.reasons = Counter(reason["code"] for r in report.results for reason in r["reasons"] or ())
    return report


def accepted_actors(records: Sequence[Any], report: LoadReport) -> set[str]:
    """The actors (as sent) of the records ``report`` accepted."""
    results = report.results or ()
    if report.accepted == len(records) and not any(type(r) is not dict for r in records):
        actors = {r.get("customer") or r.get("anonymous_customer_id") for r in records}
        return {a for a in actors if type(a) is str}
    found = {actor_of(records[r["index"]]) for r in results if r["status"] == "accepted"}
    return {a for a in found if a is not None}
