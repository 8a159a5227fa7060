"""Loading into the Snowflake store: validate in-process, merge in the warehouse.

The rules stay in one place: records are staged and validated column-wise in an in-process DuckDB
with the same validator (``validate_sql.py``) and ingest checks as the embedded store, and the
content hash that tells a duplicate from a conflict is computed there with the same expression as
``merge.py``, so a batch is classified identically on both backends. Then:

1. the staged rows (valid and invalid, with their payloads) are sent to the session's temporary
   stage table in chunks of ``UPLOAD_CHUNK_ROWS`` (the connector binds each chunk as arrays, and
   spills large binds to a temporary internal stage by itself); ``ts`` travels as exact text
   (``YYYY-MM-DD HH:MM:SS.ffffff``) and is cast in the warehouse, so no driver-side timestamp
   conversion can shift it;
2. one transaction runs the steps of ``snowflake_sql.py``: classification with in-batch dedup,
   identity stitching, ONE ``MERGE`` on ``activity_id``, helper-column renumbering of the touched
   partitions, rejects, and the batch record.

``ingest_records_snowflake`` and ``import_file_snowflake`` have the shapes of ``ingest_records`` and
``import_file``, which dispatch here when the store is not DuckDB.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb

from ..errors import IngestError
from ..schema.columns import MAX_FUTURE_HOURS_DEFAULT
from ..schema.ddl import duckdb_ddl
from ..store.snowflake import SnowflakeSession, SnowflakeStore
from . import snowflake_governance as governance
from . import snowflake_sql as Q
from .merge import CONTENT_HASH_SQL, LoadReport
from .sources import stage_file, stage_payloads
from .validate_sql import validate_table

# Work done last inside a load's transaction, after the merge (the loader records its offsets here).
InTransaction = Callable[[SnowflakeSession, LoadReport], None]

UPLOAD_CHUNK_ROWS = 16_384
SESSION_KEY = "ingest_work_tables"

# The content hash of merge.py's CLASSIFY_SQL, over the validator's output (keep them identical;
# tests/integration/test_snowflake_ingest.py checks both backends store the same hash).

UPLOAD_SQL = f"""
SELECT _checked._seq, _raw.payload, md5(_raw.payload) AS payload_hash, len(reasons) = 0 AS valid,
       CASE WHEN len(reasons) > 0 THEN CAST(to_json(reasons) AS VARCHAR) END AS reasons,
       CASE WHEN len(reasons) > 0
            THEN CAST(to_json(list_transform(reasons, lambda r: r.code)) AS VARCHAR) END AS reason_codes,
       activity_id, strftime(ts, '%Y-%m-%d %H:%M:%S.%f') AS ts, activity, customer, anonymous_customer_id,
       CAST(feature_json AS VARCHAR) AS feature_json, revenue_impact, link,
       CASE WHEN len(reasons) = 0 THEN {CONTENT_HASH_SQL} END AS _content_hash
FROM _checked JOIN _raw ON _raw._seq = _checked._seq
ORDER BY _checked._seq
"""

REFUSED_LOCAL_SQL = "SELECT _seq, activity_id, reasons FROM _checked WHERE len(reasons) > 0 ORDER BY _seq"
REASON_COUNTS_SQL = "SELECT r.code, count(*) FROM (SELECT unnest(reasons) AS r FROM _checked) GROUP BY 1"


def _validated(store: SnowflakeStore, stage: Any, *, now: datetime, derive_ids: bool,
               max_future_hours: float) -> tuple[duckdb.DuckDBPyConnection, governance.Pulled]:
    """An in-memory DuckDB holding ``_checked``: the validator's output for the staged records,
    after the ingest checks ran against the warehouse's governance state (``snowflake_governance``)."""
    from .importer import _ts_literal, ingest_checks

    con = duckdb.connect()
    try:
        # The engine's tables, so ingest checks find their registries; filled from the warehouse.
        for ddl in duckdb_ddl():
            con.execute(ddl)
        stage(con)
        validate_table(con, "_raw", "_checked", now_sql=_ts_literal(now),
                       max_future_hours=max_future_hours, derive_ids=derive_ids)
        pulled = governance.pull(store, con)
        for check in ingest_checks():
            check(con, "_checked", "_raw")
    except BaseException:
        con.close()
        raise
    return con, pulled


def _upload(session: SnowflakeSession, local: duckdb.DuckDBPyConnection) -> int:
    session.execute(Q.CLEAR_STAGE)
    cur = local.execute(UPLOAD_SQL)
    sent = 0
    while rows := cur.fetchmany(UPLOAD_CHUNK_ROWS):
        session.executemany(Q.UPLOAD, rows)
        sent += len(rows)
    return sent


def _merge(session: SnowflakeSession, now: datetime) -> int:
    """Steps 1–5 of snowflake_sql.py; returns the number of rows the MERGE inserted."""
    for sql in Q.CLEAR_WORK:
        session.execute(sql)
    session.execute(Q.CLASSIFY)
    session.execute(Q.LINKS)
    if session.scalar(Q.COUNT_LINKS):  # most batches link no new identity: skip three round trips
        session.execute(Q.IDENTITY, [now])
        session.execute(Q.STITCHED)
        session.execute(Q.STITCH)
    session.execute(Q.NEW_ROWS)
    session.execute(Q.TOUCHED)
    session.execute(Q.EXISTING)
    expected, existing = (int(n or 0) for n in session.fetchall(Q.WORK_COUNTS)[0])
    inserted = int((session.fetchall(Q.MERGE, [now]) or [(0,)])[0][0] or 0)
    if inserted != expected:
        # Another writer stored some of these ids between classification and MERGE: the MERGE kept
        # the store correct, but the counts would not be; roll back so the retry classifies again.
        raise IngestError(
            f"The MERGE inserted {inserted} of {expected} new rows: another writer loaded the same "
            "activity_ids concurrently. Nothing was committed; retry the batch.",
            code="concurrent_load",
        )
    if existing:
        session.execute(Q.RENUMBER)
    return inserted


def _report(session: SnowflakeSession, local: duckdb.DuckDBPyConnection, report: LoadReport,
            per_record: bool) -> None:
    report.submitted = int(local.execute("SELECT count(*) FROM _checked").fetchone()[0])  # type: ignore[index]
    by_status = {status: int(n) for status, n in session.fetchall(Q.STATUS_COUNTS)}
    invalid = local.execute(REFUSED_LOCAL_SQL).fetchall()
    report.accepted = by_status.get("new", 0)
    report.duplicate = by_status.get("duplicate", 0)
    report.rejected = len(invalid) + by_status.get("conflict", 0)
    report.reasons = Counter({code: n for code, n in local.execute(REASON_COUNTS_SQL).fetchall()})
    if by_status.get("conflict"):
        report.reasons["conflict"] += by_status["conflict"]
    report.touched_actors = [r[0] for r in session.fetchall(Q.TOUCHED_ACTORS)]
    if per_record:
        report.results = _per_record(session, invalid)


def _per_record(session: SnowflakeSession, invalid: list[tuple[Any, ...]]) -> list[dict[str, Any]]:
    conflict = [{"code": "conflict", "field": "activity_id", "message": Q.REASONS["conflict"]}]
    out = [{"index": seq - 1, "status": "rejected", "activity_id": aid, "reasons": list(reasons)}
           for seq, aid, reasons in invalid]
    for seq, status, aid in session.fetchall(Q.PER_RECORD):
        if status == "conflict":
            out.append({"index": seq - 1, "status": "rejected", "activity_id": aid, "reasons": conflict})
        else:
            out.append({"index": seq - 1, "status": "accepted" if status == "new" else status,
                        "activity_id": aid, "reasons": []})
    return sorted(out, key=lambda r: r["index"])


def load_validated(
    store: SnowflakeStore,
    local: duckdb.DuckDBPyConnection,
    *,
    source: str,
    now: datetime,
    per_record: bool = False,
    pulled: governance.Pulled | None = None,
    in_transaction: InTransaction | None = None,
) -> LoadReport:
    """Send the validator's ``_checked`` table of ``local`` to Snowflake and merge it; ``pulled``
    (from ``_validated``) says which governance changes of the checks to write back;
    ``in_transaction`` runs last inside the load's transaction (the loader's offsets)."""
    report = LoadReport(batch_id=str(uuid.uuid4()), source=source)
    store.ensure_session_objects(SESSION_KEY, Q.WORK_TABLES)
    with store.session() as session:
        _upload(session, local)
        with session.transaction():
            if pulled is not None:
                governance.push(session, local, pulled)
            _merge(session, now)
            _report(session, local, report, per_record)
            if report.rejected:
                session.execute(Q.REJECTS, [source, now, Q.CONFLICT_REASONS, Q.CONFLICT_CODES])
            session.execute(Q.RECORD_BATCH, [report.batch_id, report.source, report.submitted,
                                             report.accepted, report.duplicate, report.rejected, now])
            session.execute(Q.RECORD_TOUCHED, [report.batch_id, now])
            if in_transaction is not None:
                in_transaction(session, report)
    return report


def ingest_records_snowflake(
    store: SnowflakeStore,
    records: Sequence[Any] | Iterable[Any],
    *,
    source: str = "api",
    now: datetime | None = None,
    per_record: bool = False,
    max_future_hours: float = MAX_FUTURE_HOURS_DEFAULT,
) -> LoadReport:
    """``ingest_records`` for the Snowflake store: dicts or JSON texts, one transaction."""
    from .importer import to_payload

    return ingest_payloads_snowflake(store, [to_payload(r) for r in records], source=source, now=now,
                                     per_record=per_record, max_future_hours=max_future_hours)


def ingest_payloads_snowflake(
    store: SnowflakeStore,
    payloads: list[str],
    *,
    source: str,
    now: datetime | None = None,
    per_record: bool = False,
    max_future_hours: float = MAX_FUTURE_HOURS_DEFAULT,
    in_transaction: InTransaction | None = None,
) -> LoadReport:
    """Raw JSON lines (a spool batch, a request) validated locally and merged in one transaction."""
    from .importer import utc_now

    now = now or utc_now()
    local, pulled = _validated(store, lambda con: stage_payloads(con, payloads, "_raw"), now=now, derive_ids=False,
                               max_future_hours=max_future_hours)
    try:
        return load_validated(store, local, source=source, now=now, per_record=per_record, pulled=pulled,
                              in_transaction=in_transaction)
    finally:
        local.close()


def import_file_snowflake(
    store: SnowflakeStore,
    path: str | Path,
    *,
    fmt: str | None = None,
    derive_ids: bool = False,
    now: datetime | None = None,
    max_future_hours: float = MAX_FUTURE_HOURS_DEFAULT,
    progress: Any = None,
) -> LoadReport:
    """``import_file`` for the Snowflake store: the file is read and validated locally."""
    from .importer import utc_now

    now = now or utc_now()
    if progress:
        progress("reading")
    local, pulled = _validated(store, lambda con: stage_file(con, str(path), "_raw", fmt), now=now,
                               derive_ids=derive_ids, max_future_hours=max_future_hours)
    try:
        if progress:
            progress("merging")
        return load_validated(store, local, source=f"file:{Path(path).name}", now=now, pulled=pulled)
    finally:
        local.close()
