"""Idempotent merge of validated records into the store (SEMANTICS §2 and §3).

Given the validator's output table, one call, inside the caller's write transaction:

1. classifies every valid record as ``new``, ``duplicate`` (same id, same content as the stored or
   first-seen record) or ``conflict`` (same id, other content: the first write wins);
2. stitches identities: a new record with both ids links that anonymous id to the customer, and every
   anonymous-only record of that id, stored or new, takes the customer;
3. inserts the new records with their helper columns. ``activity_partitions`` (count and last row
   of every (actor, activity) partition) lets appends in time order continue a partition's numbering
   with one point update of its previous last row; a late event renumbers only its partition's tail
   (rows at or after it); partitions that stitching changed are renumbered whole;
4. keeps invalid and conflicting records whole in ``rejected_activities`` (once per payload);
5. records the batch and the actors it touched (for context refresh).

Counts always reconcile: accepted + duplicate + rejected = submitted.
"""

from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import duckdb

from ..schema.columns import REASONS

ACTOR = "coalesce({t}customer, {t}anonymous_customer_id)"

# The content of a record for duplicate-vs-conflict decisions (SEMANTICS §2); chr(1) marks a null.
CONTENT_HASH_SQL = """
md5(concat_ws(chr(30), CAST(ts AS VARCHAR), activity, coalesce(customer, chr(1)),
    coalesce(anonymous_customer_id, chr(1)), CAST(feature_json AS VARCHAR),
    coalesce(CAST(revenue_impact AS VARCHAR), chr(1)), coalesce(link, chr(1))))
""".strip()

CLASSIFY_SQL = """
CREATE OR REPLACE TEMP TABLE _cls_t AS
WITH v AS (
    SELECT c.* EXCLUDE (reasons),
           @CONTENT_HASH@ AS _content_hash
    FROM @CHECKED@ c
    WHERE len(c.reasons) = 0
), repeated AS (
    SELECT activity_id FROM v GROUP BY activity_id HAVING count(*) > 1
), ranked AS (
    -- Ranking by arrival is only needed for ids seen more than once in the batch.
    SELECT v.*, 1 AS _rk, v._content_hash AS _first_hash FROM v ANTI JOIN repeated USING (activity_id)
    UNION ALL
    SELECT v.*,
           row_number() OVER w AS _rk,
           first_value(v._content_hash) OVER w AS _first_hash
    FROM v SEMI JOIN repeated USING (activity_id)
    WINDOW w AS (PARTITION BY v.activity_id ORDER BY v._seq)
)
SELECT r.*,
       CASE WHEN a._content_hash IS NULL AND r._rk = 1 THEN 'new'
            WHEN r._content_hash = coalesce(a._content_hash, r._first_hash) THEN 'duplicate'
            ELSE 'conflict' END AS _status
FROM ranked r
-- The stored records with an id of the batch: a semi-join that hashes the batch's ids, not the store's.
LEFT JOIN (SELECT s.activity_id, s._content_hash FROM activities s SEMI JOIN v ON s.activity_id = v.activity_id) a
       ON a.activity_id = r.activity_id;
CREATE OR REPLACE TEMP VIEW _cls AS SELECT * FROM _cls_t;
"""

# Into an empty store with no id repeated in the batch every valid record is new: ``_cls`` is then a
# view over the validator's table (nothing copied; the content hash is computed once, by the insert).
REPEATED_SQL = """
SELECT count(*) FROM (SELECT activity_id FROM @CHECKED@ WHERE len(reasons) = 0
                      GROUP BY activity_id HAVING count(*) > 1)
"""

CLASSIFY_FIRST_SQL = """
CREATE OR REPLACE TEMP VIEW _cls AS
SELECT c.* EXCLUDE (reasons), @CONTENT_HASH@ AS _content_hash, 'new' AS _status
FROM @CHECKED@ c
WHERE len(c.reasons) = 0
"""

NEW_LINKS_SQL = """
CREATE OR REPLACE TEMP TABLE _new_links AS
SELECT anonymous_customer_id,
       arg_min(customer, (ts, activity_id)) AS customer,
       min(ts) AS first_seen_ts,
       arg_min(activity_id, (ts, activity_id)) AS activity_id
FROM _cls
WHERE _status = 'new' AND customer IS NOT NULL AND anonymous_customer_id IS NOT NULL
  AND anonymous_customer_id NOT IN (SELECT anonymous_customer_id FROM identity_map)
GROUP BY anonymous_customer_id
"""

STITCH_STORED_SQL = """
CREATE OR REPLACE TEMP TABLE _stitched AS
SELECT DISTINCT m.customer AS actor, a.activity
FROM activities a JOIN _new_links m ON a.anonymous_customer_id = m.anonymous_customer_id
WHERE a.customer IS NULL;
-- The partitions those rows leave (actor = the anonymous id) lose rows: renumbered too.
CREATE OR REPLACE TEMP TABLE _full AS
SELECT actor, activity FROM _stitched
UNION
SELECT DISTINCT a.anonymous_customer_id, a.activity
FROM activities a JOIN _new_links m ON a.anonymous_customer_id = m.anonymous_customer_id
WHERE a.customer IS NULL;
UPDATE activities SET customer = m.customer
FROM _new_links m
WHERE activities.customer IS NULL AND activities.anonymous_customer_id = m.anonymous_customer_id;
"""

NO_STITCH_SQL = """
CREATE OR REPLACE TEMP TABLE _stitched (actor VARCHAR, activity VARCHAR);
CREATE OR REPLACE TEMP TABLE _full (actor VARCHAR, activity VARCHAR);
"""

NEW_ROWS_SQL = """
CREATE OR REPLACE TEMP VIEW _new AS
SELECT c.activity_id, c.ts, c.activity,
       coalesce(c.customer, m.customer) AS customer,
       c.anonymous_customer_id, c.feature_json, c.revenue_impact, c.link, c._content_hash,
       coalesce(c.customer, m.customer, c.anonymous_customer_id) AS _actor
FROM _cls c
LEFT JOIN identity_map m ON c.customer IS NULL AND m.anonymous_customer_id = c.anonymous_customer_id
WHERE c._status = 'new'
"""

TOUCHED_SQL = """
CREATE OR REPLACE TEMP TABLE _touched AS
SELECT DISTINCT _actor AS actor, activity FROM _new WHERE _actor IS NOT NULL
UNION
SELECT actor, activity FROM _stitched
"""

# -- helper columns (SEMANTICS §3) -----------------------------------------------------------------
# Every partition the batch adds to is one of: new (not in activity_partitions), full (stitching
# moved rows into or out of it: renumbered from activities), or existing. For an existing partition
# with lo = the batch's earliest ts there, only its "tail" (stored rows with ts >= lo) and its "head
# last" row (the last stored row before lo) change: tail and new rows are numbered together after the
# head's count, and the head last row's repeated_at becomes lo. Appends in time order have no tail:
# the head last row is the summary's last row, found by a scan that zone maps bound to the batch's
# time range.

PARTS_SQL = """
CREATE OR REPLACE TEMP TABLE _parts AS
SELECT n.actor, n.activity, n.lo, n.n_new, n.new_last_ts, n.new_last_id,
       p.max_occurrence AS old_max, p.last_ts, p.last_activity_id,
       p.actor IS NOT NULL AS existing,
       p.actor IS NOT NULL AND p.last_ts >= n.lo AS has_tail
FROM (SELECT _actor AS actor, activity, min(ts) AS lo, count(*) AS n_new, max(ts) AS new_last_ts,
             arg_max(activity_id, (ts, activity_id)) AS new_last_id
      FROM _new WHERE _actor IS NOT NULL GROUP BY ALL) n
LEFT JOIN activity_partitions p ON p.actor = n.actor AND p.activity = n.activity
ANTI JOIN _full f ON f.actor = n.actor AND f.activity = n.activity
"""

# One scan of the stored rows finds every row the batch renumbers or re-links, with its rowid:
# - a partition with a tail: the tail rows (ts >= lo) and its "head" row, the last one before lo,
#   which is the only stored row with ts < lo whose repeated_at (its successor's ts) is >= lo;
# - an appended-to partition: its last row (the summary's last_ts / last_activity_id).
# The helper columns of stored rows are correct (the merge keeps them so), which is what makes the
# head test on repeated_at exact. $lo_min bounds the scan (zone maps on the ts-ordered table). No
# semi-join prefilter on activity here: it makes the optimizer underestimate the scan and build the
# join's hash table on the stored rows instead of on the (small) partition list.
OLD_SQL = """
CREATE OR REPLACE TEMP TABLE _old AS
SELECT a.rid, a.activity_id, a.ts, x.actor, a.activity, a.occ, a.rep, x.lo,
       x.has_tail AND a.ts >= x.lo AS is_tail
FROM (SELECT rowid AS rid, activity_id, ts, activity, coalesce(customer, anonymous_customer_id) AS actor,
             activity_occurrence AS occ, activity_repeated_at AS rep
      FROM activities
      WHERE ts >= $lo_min OR activity_repeated_at >= $lo_min) a
JOIN _parts x ON x.existing AND a.actor = x.actor AND a.activity = x.activity
WHERE CASE WHEN x.has_tail THEN a.ts >= x.lo OR a.rep >= x.lo
           ELSE a.ts = x.last_ts AND a.activity_id = x.last_activity_id END
"""

# Without late events: new rows of the kept partitions continue after the stored count; the rows of
# other partitions (full renumbers, no actor) get NULL here.
NUMBERED_SQL = """
SELECT u.*,
       CASE WHEN p.actor IS NOT NULL THEN coalesce(p.old_max, 0) + row_number() OVER w END AS _occ,
       CASE WHEN p.actor IS NOT NULL THEN lead(u.ts) OVER w END AS _rep
FROM (SELECT *, true AS _is_new FROM _new) u
LEFT JOIN _parts p ON p.actor = u._actor AND p.activity = u.activity
WINDOW w AS (PARTITION BY u._actor, u.activity ORDER BY u.ts, u.activity_id)
"""

INSERT_SQL = f"""
INSERT INTO activities
SELECT activity_id, ts, activity, customer, anonymous_customer_id, feature_json, revenue_impact, link,
       _occ, _rep, _content_hash, CAST(? AS TIMESTAMP)
FROM ({NUMBERED_SQL}) k
WHERE _is_new
ORDER BY CAST(ts AS DATE), activity
"""

# Into a store with no rows every partition is new: no summary, no tail to join.
INSERT_FIRST_SQL = """
INSERT INTO activities
SELECT n.activity_id, n.ts, n.activity, n.customer, n.anonymous_customer_id, n.feature_json,
       n.revenue_impact, n.link,
       CASE WHEN n._actor IS NULL THEN NULL ELSE row_number() OVER w END,
       CASE WHEN n._actor IS NULL THEN NULL ELSE lead(n.ts) OVER w END,
       n._content_hash, CAST(? AS TIMESTAMP)
FROM _new n
WINDOW w AS (PARTITION BY n._actor, n.activity ORDER BY n.ts, n.activity_id)
ORDER BY CAST(n.ts AS DATE), n.activity
"""

# With late events: number the kept partitions' new and tail rows once, for the insert and the update.
NUM_SQL = """
CREATE OR REPLACE TEMP TABLE _num AS
SELECT u.activity_id, u.rid, u._old_occ, u._old_rep, u._is_new,
       coalesce(p.old_max, 0) - count(*) FILTER (NOT u._is_new) OVER (PARTITION BY u._actor, u.activity)
           + row_number() OVER w AS _occ,
       lead(u.ts) OVER w AS _rep
FROM (SELECT activity_id, NULL::BIGINT AS rid, NULL::INTEGER AS _old_occ, NULL::TIMESTAMP AS _old_rep,
             ts, activity, _actor, true AS _is_new FROM _new WHERE _actor IS NOT NULL
      UNION ALL
      SELECT activity_id, rid, occ, rep, ts, activity, actor, false FROM _old WHERE is_tail) u
JOIN _parts p ON p.actor = u._actor AND p.activity = u.activity
WINDOW w AS (PARTITION BY u._actor, u.activity ORDER BY u.ts, u.activity_id)
"""

INSERT_NUM_SQL = """
INSERT INTO activities
SELECT n.activity_id, n.ts, n.activity, n.customer, n.anonymous_customer_id, n.feature_json,
       n.revenue_impact, n.link, k._occ, k._rep, n._content_hash, CAST(? AS TIMESTAMP)
FROM _new n
LEFT JOIN (SELECT activity_id, _occ, _rep FROM _num WHERE _is_new) k ON k.activity_id = n.activity_id
ORDER BY CAST(n.ts AS DATE), n.activity
"""

# The stored rows whose helper columns change, by rowid: tail rows renumbered, head rows pointed at
# the partition's first new-or-tail ts (lo). Rows whose values stay are left alone. Updating by rowid
# needs no second search of the table; rowids are stable inside the transaction (nothing is deleted).
HEAD_UPDATES_SQL = """
CREATE OR REPLACE TEMP TABLE _upd AS
SELECT rid, occ, lo AS rep FROM _old WHERE NOT is_tail AND rep IS DISTINCT FROM lo
"""

TAIL_UPDATES_SQL = """
INSERT INTO _upd
SELECT rid, _occ, _rep FROM _num
WHERE NOT _is_new AND (_old_occ IS DISTINCT FROM _occ OR _old_rep IS DISTINCT FROM _rep)
"""

UPDATE_BY_ROWID_SQL = """
UPDATE activities SET activity_occurrence = u.occ, activity_repeated_at = u.rep
FROM _upd u
WHERE activities.rowid = u.rid
"""

SUMMARY_UPDATE_SQL = """
DELETE FROM activity_partitions p USING (SELECT actor, activity FROM _parts WHERE existing
                                         UNION ALL SELECT actor, activity FROM _full) x
WHERE p.actor = x.actor AND p.activity = x.activity;
INSERT INTO activity_partitions
SELECT actor, activity, coalesce(old_max, 0) + n_new,
       CASE WHEN last_ts IS NULL OR (new_last_ts, new_last_id) > (last_ts, last_activity_id)
            THEN new_last_ts ELSE last_ts END,
       CASE WHEN last_ts IS NULL OR (new_last_ts, new_last_id) > (last_ts, last_activity_id)
            THEN new_last_id ELSE last_activity_id END
FROM _parts;
"""

SUMMARY_FROM_ACTIVITIES_SQL = """
INSERT INTO activity_partitions
SELECT x.actor, x.activity, count(*), max(x.ts), arg_max(x.activity_id, (x.ts, x.activity_id))
FROM (SELECT activity_id, ts, activity, coalesce(customer, anonymous_customer_id) AS actor
      FROM activities) x
@FILTER@
GROUP BY ALL
"""

SUMMARY_KEY = "activity_partitions_rows"
SUMMARY_CHECK_SQL = "SELECT (SELECT count(*) FROM activities), (SELECT value FROM schema_meta WHERE key = ?)"
SUMMARY_STAMP_SQL = "INSERT OR REPLACE INTO schema_meta VALUES (?, ?)"
SUMMARY_RESTAMP_SQL = "UPDATE schema_meta SET value = ? WHERE key = ?"

RENUMBER_SQL = """
UPDATE activities SET activity_occurrence = r.occ, activity_repeated_at = r.rep
FROM (
    SELECT x.activity_id,
           row_number() OVER w AS occ,
           lead(x.ts) OVER w AS rep
    FROM (SELECT activity_id, ts, activity, coalesce(customer, anonymous_customer_id) AS actor
          FROM activities) x
    SEMI JOIN _existing e ON x.actor = e.actor AND x.activity = e.activity
    WINDOW w AS (PARTITION BY x.actor, x.activity ORDER BY x.ts, x.activity_id)
) r
WHERE activities.activity_id = r.activity_id
  AND (activities.activity_occurrence IS DISTINCT FROM r.occ
       OR activities.activity_repeated_at IS DISTINCT FROM r.rep)
"""


def renumber_partitions(con: duckdb.DuckDBPyConnection, partitions: str) -> None:
    """Recompute the helper columns of the (actor, activity) partitions listed in ``partitions``.

    ``partitions`` is an engine-chosen temp table with columns ``actor`` and ``activity`` (used by
    governance after deleting events: retention, erasure).
    """
    con.execute(RENUMBER_SQL.replace("SEMI JOIN _existing e", f"SEMI JOIN {partitions} e"))


REJECTS_SQL = """
INSERT INTO rejected_activities
SELECT CAST(gen_random_uuid() AS VARCHAR), payload, payload_hash, activity_id, to_json(reasons),
       list_transform(reasons, lambda r: r.code), ?, CAST(? AS TIMESTAMP), 'open', NULL
FROM (
    SELECT payload, md5(payload) AS payload_hash, activity_id, reasons,
           row_number() OVER (PARTITION BY md5(payload) ORDER BY _seq) AS rn
    FROM _refused
) x
WHERE rn = 1
  AND payload_hash NOT IN (SELECT payload_hash FROM rejected_activities WHERE status = 'open')
"""

CONFLICT_REASON = (
    "{'code': 'conflict', 'field': 'activity_id', 'message': '" + REASONS["conflict"] + "'}"
)

REFUSED_SQL = f"""
CREATE OR REPLACE TEMP TABLE _refused AS
SELECT r._seq, raw.payload, r.activity_id, r.reasons
FROM (SELECT _seq, activity_id, reasons FROM @CHECKED@ WHERE len(reasons) > 0
      UNION ALL
      SELECT _seq, activity_id, [{CONFLICT_REASON}] FROM _cls WHERE _status = 'conflict') r
JOIN @RAW@ raw ON raw._seq = r._seq
"""

EMPTY_REFUSED_SQL = (
    "CREATE OR REPLACE TEMP TABLE _refused (_seq BIGINT, payload VARCHAR, activity_id VARCHAR, "
    "reasons STRUCT(code VARCHAR, field VARCHAR, message VARCHAR)[])"
)


@dataclass
class LoadReport:
    """What one batch did. ``results`` holds per-record outcomes when they were asked for."""

    batch_id: str
    source: str
    submitted: int = 0
    accepted: int = 0
    duplicate: int = 0
    rejected: int = 0
    reasons: Counter[str] = field(default_factory=Counter)
    touched_actors: list[str] = field(default_factory=list)
    results: list[dict[str, Any]] | None = None

    @property
    def reconciles(self) -> bool:
        return self.accepted + self.duplicate + self.rejected == self.submitted

    def add(self, other: LoadReport) -> None:
        self.submitted += other.submitted
        self.accepted += other.accepted
        self.duplicate += other.duplicate
        self.rejected += other.rejected
        self.reasons.update(other.reasons)
        self.touched_actors.extend(other.touched_actors)
        if other.results is not None:
            self.results = (self.results or []) + other.results

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "batch_id": self.batch_id,
            "source": self.source,
            "submitted": self.submitted,
            "accepted": self.accepted,
            "duplicate": self.duplicate,
            "rejected": self.rejected,
            "top_reasons": dict(self.reasons.most_common(10)),
        }
        if self.results is not None:
            out["results"] = self.results
        return out


def _scalar(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any] | None = None) -> Any:
    row = con.execute(sql, params).fetchone()
    return row[0] if row else None


def merge_checked(
    con: duckdb.DuckDBPyConnection,
    checked: str,
    *,
    raw: str,
    source: str,
    now: datetime,
    per_record: bool = False,
) -> LoadReport:
    """Merge the validator's table ``checked`` into the store; ``raw`` holds the original payloads.

    Both names are chosen by the engine, never by users. Statements with nothing to do are skipped
    (no links, no late events, nothing refused), so a small batch costs a few cheap statements.
    """
    report = LoadReport(batch_id=str(uuid.uuid4()), source=source)
    run = lambda sql: con.execute(  # noqa: E731
        sql.replace("@CONTENT_HASH@", CONTENT_HASH_SQL).replace("@CHECKED@", checked).replace("@RAW@", raw))
    stored_rows = _ensure_summary(con)
    if stored_rows == 0 and not _scalar(con, REPEATED_SQL.replace("@CHECKED@", checked)):
        run(CLASSIFY_FIRST_SQL)
    else:
        run(CLASSIFY_SQL)
    run(NEW_LINKS_SQL)
    new, duplicate, conflict, invalid, links = con.execute(
        f"SELECT count(*) FILTER (_status = 'new'), count(*) FILTER (_status = 'duplicate'), "
        f"count(*) FILTER (_status = 'conflict'), (SELECT count(*) FROM {checked} WHERE len(reasons) > 0), "
        f"(SELECT count(*) FROM _new_links) FROM _cls").fetchone()
    by_status = {"new": new, "duplicate": duplicate, "conflict": conflict}
    if links:
        con.execute("INSERT INTO identity_map SELECT anonymous_customer_id, customer, ?, first_seen_ts, activity_id "
                    "FROM _new_links", [now])
    run(STITCH_STORED_SQL if links and stored_rows else NO_STITCH_SQL)
    run(NEW_ROWS_SQL)
    run(TOUCHED_SQL)
    _insert_numbered(con, now, first_load=not stored_rows)
    if _scalar(con, "SELECT count(*) FROM _full"):
        run(RENUMBER_SQL.replace("SEMI JOIN _existing e", "SEMI JOIN _full e"))
        con.execute(SUMMARY_UPDATE_SQL)
        con.execute(SUMMARY_FROM_ACTIVITIES_SQL.replace(
            "@FILTER@", "SEMI JOIN _full f ON f.actor = x.actor AND f.activity = x.activity"))
    else:
        con.execute(SUMMARY_UPDATE_SQL)
    con.execute(SUMMARY_RESTAMP_SQL, [str(stored_rows + new), SUMMARY_KEY])
    if invalid or by_status.get("conflict", 0):
        run(REFUSED_SQL)
        con.execute(REJECTS_SQL, [source, now])
    else:
        con.execute(EMPTY_REFUSED_SQL)
    _count(con, checked, report, by_status, invalid)
    report.touched_actors = [r[0] for r in con.execute("SELECT DISTINCT actor FROM _touched").fetchall()]
    if per_record:
        report.results = _per_record(con, checked)
    _record_batch(con, report, now)
    return report


def _ensure_summary(con: duckdb.DuckDBPyConnection) -> int:
    """The stored row count; rebuilds ``activity_partitions`` when it was built for another count
    (a writer other than the merge added or removed events: migration, retention, erasure)."""
    rows, stamp = con.execute(SUMMARY_CHECK_SQL, [SUMMARY_KEY]).fetchone()
    if stamp != str(rows):
        con.execute("DELETE FROM activity_partitions")
        con.execute(SUMMARY_FROM_ACTIVITIES_SQL.replace("@FILTER@", "WHERE x.actor IS NOT NULL"))
        con.execute(SUMMARY_STAMP_SQL, [SUMMARY_KEY, str(rows)])
    return int(rows)


def _insert_numbered(con: duckdb.DuckDBPyConnection, now: datetime, *, first_load: bool) -> None:
    """Insert the new rows with their helper columns; fix the tails and head rows they change."""
    con.execute(PARTS_SQL)
    lo_min, any_tail = con.execute(
        "SELECT min(CASE WHEN has_tail THEN lo ELSE last_ts END), bool_or(has_tail) FROM _parts WHERE existing"
    ).fetchone()
    if lo_min is not None:
        con.execute(OLD_SQL, {"lo_min": lo_min})
        con.execute(HEAD_UPDATES_SQL)
    if any_tail:
        con.execute(NUM_SQL)
        con.execute(TAIL_UPDATES_SQL)
    if lo_min is not None:
        con.execute(UPDATE_BY_ROWID_SQL)
    if any_tail:
        con.execute(INSERT_NUM_SQL, [now])
    else:
        con.execute(INSERT_FIRST_SQL if first_load else INSERT_SQL, [now])


def _count(con: duckdb.DuckDBPyConnection, checked: str, report: LoadReport,
           by_status: dict[str, int], invalid: int) -> None:
    report.accepted = by_status.get("new", 0)
    report.duplicate = by_status.get("duplicate", 0)
    report.rejected = invalid + by_status.get("conflict", 0)
    report.submitted = report.accepted + report.duplicate + report.rejected
    if not report.rejected:
        return
    rows = con.execute(
        "SELECT r.code, count(*) FROM (SELECT unnest(reasons) AS r FROM _refused) GROUP BY 1"
    ).fetchall()
    report.reasons = Counter({code: n for code, n in rows})


def _per_record(con: duckdb.DuckDBPyConnection, checked: str) -> list[dict[str, Any]]:
    rows = con.execute(
        f"""
        SELECT _seq, status, activity_id, reasons FROM (
            SELECT _seq, CASE WHEN _status = 'new' THEN 'accepted' ELSE _status END AS status,
                   activity_id, NULL AS reasons
            FROM _cls WHERE _status <> 'conflict'
            UNION ALL
            SELECT _seq, 'rejected', activity_id, reasons FROM _refused
        ) ORDER BY _seq
        """
    ).fetchall()
    return [
        {"index": seq - 1, "status": status, "activity_id": aid, "reasons": reasons or []}
        for seq, status, aid, reasons in rows
    ]


def _record_batch(con: duckdb.DuckDBPyConnection, report: LoadReport, now: datetime) -> None:
    con.execute(
        "INSERT INTO load_batches VALUES (?, ?, ?, ?, ?, ?, ?, current_timestamp::TIMESTAMP)",
        [report.batch_id, report.source, report.submitted, report.accepted, report.duplicate,
         report.rejected, now],
    )
    con.execute(
        "INSERT INTO touched_actors SELECT ?, actor, ? FROM (SELECT DISTINCT actor FROM _touched)",
        [report.batch_id, now],
    )
