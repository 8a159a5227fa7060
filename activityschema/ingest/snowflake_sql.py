"""Snowflake SQL of the warehouse load (semantics: SEMANTICS §2 and §3, same as ``merge.py``).

Session-scoped work tables are created once per write connection (DDL commits in Snowflake, so it
never runs inside the load's transaction); each load empties and refills them with DML. The steps,
in the load's one transaction:

1. ``CLASSIFY``: every valid staged record is ``new`` (first of its id, not stored), ``duplicate``
   (same content hash as the stored or first-seen record) or ``conflict``. Stored rows without a
   hash (migrated on Snowflake) are compared column by column.
2. ``LINKS`` / ``IDENTITY`` / ``STITCH``: new links anonymous id → customer, recorded in
   ``identity_map``; stored anonymous-only rows of a linked id take the customer.
3. ``NEW_ROWS`` / ``TOUCHED`` / ``EXISTING``: the rows to insert (anonymous rows of a linked id take
   its customer) and the (actor, activity) partitions they touch that already had rows.
4. ``MERGE``: ONE ``MERGE INTO activities … ON activity_id WHEN NOT MATCHED THEN INSERT``; helper
   columns are computed in the source for partitions the store had not seen.
5. ``RENUMBER``: only the touched partitions that already had rows are renumbered.
6. ``REJECTS``: invalid and conflicting records kept whole, once per open payload.
"""

from __future__ import annotations

import json

from ..schema.columns import REASONS

STAGE = "_as_stage"
WORK_TABLES = (
    f"""CREATE TEMPORARY TABLE IF NOT EXISTS {STAGE} (
    _seq BIGINT, payload VARCHAR, payload_hash VARCHAR, valid BOOLEAN, reasons VARCHAR,
    reason_codes VARCHAR, activity_id VARCHAR, ts VARCHAR, activity VARCHAR,
    customer VARCHAR, anonymous_customer_id VARCHAR, feature_json VARCHAR, revenue_impact FLOAT,
    link VARCHAR, _content_hash VARCHAR)""",
    """CREATE TEMPORARY TABLE IF NOT EXISTS _as_cls (
    _seq BIGINT, activity_id VARCHAR, ts TIMESTAMP_NTZ(6), activity VARCHAR, customer VARCHAR,
    anonymous_customer_id VARCHAR, feature_json VARCHAR, revenue_impact FLOAT, link VARCHAR,
    _content_hash VARCHAR, payload VARCHAR, payload_hash VARCHAR, _status VARCHAR)""",
    """CREATE TEMPORARY TABLE IF NOT EXISTS _as_links (
    anonymous_customer_id VARCHAR, customer VARCHAR, first_seen_ts TIMESTAMP_NTZ(6), activity_id VARCHAR)""",
    """CREATE TEMPORARY TABLE IF NOT EXISTS _as_new (
    activity_id VARCHAR, ts TIMESTAMP_NTZ(6), activity VARCHAR, customer VARCHAR,
    anonymous_customer_id VARCHAR, feature_json VARCHAR, revenue_impact FLOAT, link VARCHAR,
    _content_hash VARCHAR, _actor VARCHAR)""",
    "CREATE TEMPORARY TABLE IF NOT EXISTS _as_touched (actor VARCHAR, activity VARCHAR)",
    "CREATE TEMPORARY TABLE IF NOT EXISTS _as_existing (actor VARCHAR, activity VARCHAR)",
)
STAGE_COLUMNS = (
    "_seq", "payload", "payload_hash", "valid", "reasons", "reason_codes", "activity_id", "ts",
    "activity", "customer", "anonymous_customer_id", "feature_json", "revenue_impact", "link",
    "_content_hash",
)
CLEAR_STAGE = f"DELETE FROM {STAGE}"
UPLOAD = (f"INSERT INTO {STAGE} ({', '.join(STAGE_COLUMNS)}) "
          f"VALUES ({', '.join('?' for _ in STAGE_COLUMNS)})")
CLEAR_WORK = tuple(f"DELETE FROM {t}" for t in ("_as_cls", "_as_links", "_as_new", "_as_touched", "_as_existing"))

# Stored rows without a content hash (migrated on Snowflake) are the same record when every
# column the producer sent is equal (a customer set later by stitching counts as equal).
_SAME_COLUMNS = """
EQUAL_NULL(a.ts, CAST(r.ts AS TIMESTAMP_NTZ(6))) AND EQUAL_NULL(a.activity, r.activity)
AND (EQUAL_NULL(a.customer, r.customer) OR (r.customer IS NULL AND a.anonymous_customer_id IS NOT NULL))
AND EQUAL_NULL(a.anonymous_customer_id, r.anonymous_customer_id)
AND EQUAL_NULL(a.revenue_impact, r.revenue_impact) AND EQUAL_NULL(a.link, r.link)
AND EQUAL_NULL(a.feature_json, PARSE_JSON(r.feature_json))"""

CLASSIFY = f"""
INSERT INTO _as_cls
SELECT r._seq, r.activity_id, CAST(r.ts AS TIMESTAMP_NTZ(6)), r.activity, r.customer,
       r.anonymous_customer_id, r.feature_json,
       r.revenue_impact, r.link, r._content_hash, r.payload, r.payload_hash,
       CASE
           WHEN a.activity_id IS NULL THEN
               CASE WHEN r._rk = 1 THEN 'new'
                    WHEN r._content_hash = r._first_hash THEN 'duplicate'
                    ELSE 'conflict' END
           WHEN a._content_hash IS NOT NULL THEN
               CASE WHEN r._content_hash = a._content_hash THEN 'duplicate' ELSE 'conflict' END
           WHEN {_SAME_COLUMNS} THEN 'duplicate'
           ELSE 'conflict'
       END
FROM (
    SELECT s.*,
           ROW_NUMBER() OVER (PARTITION BY s.activity_id ORDER BY s._seq) AS _rk,
           FIRST_VALUE(s._content_hash) OVER (PARTITION BY s.activity_id ORDER BY s._seq) AS _first_hash
    FROM {STAGE} s
    WHERE s.valid
) r
LEFT JOIN activities a ON a.activity_id = r.activity_id
"""

LINKS = """
INSERT INTO _as_links
SELECT anonymous_customer_id, customer, ts, activity_id
FROM _as_cls
WHERE _status = 'new' AND customer IS NOT NULL AND anonymous_customer_id IS NOT NULL
  AND anonymous_customer_id NOT IN (SELECT anonymous_customer_id FROM identity_map)
QUALIFY ROW_NUMBER() OVER (PARTITION BY anonymous_customer_id ORDER BY ts, activity_id) = 1
"""

IDENTITY = """
INSERT INTO identity_map (anonymous_customer_id, customer, linked_at, first_seen_ts, activity_id)
SELECT anonymous_customer_id, customer, CAST(? AS TIMESTAMP_NTZ), first_seen_ts, activity_id
FROM _as_links
"""

STITCHED = """
INSERT INTO _as_touched (actor, activity)
SELECT DISTINCT m.customer, a.activity
FROM activities a
JOIN _as_links m ON a.anonymous_customer_id = m.anonymous_customer_id
WHERE a.customer IS NULL
"""

STITCH = """
UPDATE activities SET customer = m.customer
FROM _as_links m
WHERE activities.customer IS NULL AND activities.anonymous_customer_id = m.anonymous_customer_id
"""

NEW_ROWS = """
INSERT INTO _as_new
SELECT c.activity_id, c.ts, c.activity, COALESCE(c.customer, m.customer), c.anonymous_customer_id,
       c.feature_json, c.revenue_impact, c.link, c._content_hash,
       COALESCE(c.customer, m.customer, c.anonymous_customer_id)
FROM _as_cls c
LEFT JOIN identity_map m ON c.customer IS NULL AND m.anonymous_customer_id = c.anonymous_customer_id
WHERE c._status = 'new'
"""

TOUCHED = """
INSERT INTO _as_touched (actor, activity)
SELECT DISTINCT _actor, activity FROM _as_new WHERE _actor IS NOT NULL
"""

EXISTING = """
INSERT INTO _as_existing (actor, activity)
SELECT DISTINCT t.actor, t.activity
FROM _as_touched t
JOIN activities a ON a.activity = t.activity AND COALESCE(a.customer, a.anonymous_customer_id) = t.actor
"""

_WINDOW = "OVER (PARTITION BY n._actor, n.activity ORDER BY n.ts, n.activity_id)"

MERGE = f"""
MERGE INTO activities t
USING (
    SELECT n.activity_id, n.ts, n.activity, n.customer, n.anonymous_customer_id,
           PARSE_JSON(n.feature_json) AS feature_json, n.revenue_impact, n.link,
           CASE WHEN n._actor IS NULL OR e.actor IS NOT NULL THEN NULL
                ELSE ROW_NUMBER() {_WINDOW} END AS activity_occurrence,
           CASE WHEN n._actor IS NULL OR e.actor IS NOT NULL THEN NULL
                ELSE LEAD(n.ts) {_WINDOW} END AS activity_repeated_at,
           n._content_hash, CAST(? AS TIMESTAMP_NTZ) AS loaded_at
    FROM _as_new n
    LEFT JOIN _as_existing e ON e.actor = n._actor AND e.activity = n.activity
) s
ON t.activity_id = s.activity_id
WHEN NOT MATCHED THEN INSERT (
    activity_id, ts, activity, customer, anonymous_customer_id, feature_json, revenue_impact, link,
    activity_occurrence, activity_repeated_at, _content_hash, _loaded_at)
VALUES (
    s.activity_id, s.ts, s.activity, s.customer, s.anonymous_customer_id, s.feature_json,
    s.revenue_impact, s.link, s.activity_occurrence, s.activity_repeated_at, s._content_hash,
    s.loaded_at)
"""

_RENUMBER_WINDOW = "OVER (PARTITION BY x.actor, x.activity ORDER BY x.ts, x.activity_id)"

RENUMBER = f"""
UPDATE activities SET activity_occurrence = r.occ, activity_repeated_at = r.rep
FROM (
    SELECT x.activity_id, ROW_NUMBER() {_RENUMBER_WINDOW} AS occ, LEAD(x.ts) {_RENUMBER_WINDOW} AS rep
    FROM (SELECT a.activity_id, a.ts, a.activity, COALESCE(a.customer, a.anonymous_customer_id) AS actor
          FROM activities a) x
    JOIN _as_existing e ON x.actor = e.actor AND x.activity = e.activity
) r
WHERE activities.activity_id = r.activity_id
  AND (activities.activity_occurrence IS DISTINCT FROM r.occ
       OR activities.activity_repeated_at IS DISTINCT FROM r.rep)
"""

CONFLICT_REASONS = json.dumps([{"code": "conflict", "field": "activity_id", "message": REASONS["conflict"]}])
CONFLICT_CODES = json.dumps(["conflict"])

REJECTS = f"""
INSERT INTO rejected_activities (reject_id, payload, payload_hash, activity_id, reasons, reason_codes,
                                 source, received_at, status, resolved_at)
SELECT UUID_STRING(), x.payload, x.payload_hash, x.activity_id, PARSE_JSON(x.reasons),
       CAST(PARSE_JSON(x.reason_codes) AS ARRAY), ?, CAST(? AS TIMESTAMP_NTZ), 'open', NULL
FROM (
    SELECT _seq, payload, payload_hash, activity_id, reasons, reason_codes FROM {STAGE} WHERE NOT valid
    UNION ALL
    SELECT _seq, payload, payload_hash, activity_id, ?, ? FROM _as_cls WHERE _status = 'conflict'
) x
WHERE x.payload_hash NOT IN (SELECT payload_hash FROM rejected_activities WHERE status = 'open')
QUALIFY ROW_NUMBER() OVER (PARTITION BY x.payload_hash ORDER BY x._seq) = 1
"""

COUNT_LINKS = "SELECT COUNT(*) FROM _as_links"
WORK_COUNTS = "SELECT (SELECT COUNT(*) FROM _as_new), (SELECT COUNT(*) FROM _as_existing)"
STATUS_COUNTS = "SELECT _status, COUNT(*) FROM _as_cls GROUP BY _status"
TOUCHED_ACTORS = "SELECT DISTINCT actor FROM _as_touched WHERE actor IS NOT NULL ORDER BY actor"
PER_RECORD = "SELECT _seq, _status, activity_id FROM _as_cls ORDER BY _seq"

RECORD_BATCH = """
INSERT INTO load_batches (batch_id, source, submitted, accepted, duplicate, rejected, started_at, finished_at)
SELECT ?, ?, ?, ?, ?, ?, CAST(? AS TIMESTAMP_NTZ), CAST(CURRENT_TIMESTAMP() AS TIMESTAMP_NTZ)
"""

RECORD_TOUCHED = """
INSERT INTO touched_actors (batch_id, actor, touched_at)
SELECT ?, actor, CAST(? AS TIMESTAMP_NTZ) FROM (SELECT DISTINCT actor FROM _as_touched WHERE actor IS NOT NULL)
"""
