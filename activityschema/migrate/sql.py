"""The migration's SQL: one set of templates, with the few dialect-specific pieces filled in.

Templates are engine-made text; ``{…}`` fields are filled only with fragments from ``FRAGMENTS``
(per dialect) and with identifiers checked against allow-lists or ``IDENTIFIER_RE``. Every value
(mapping keys, activity names, timestamps) is a bound parameter.

Converted rows (``_mig_rows``, a temporary table) keep, beside the v2 columns, the raw source values
that validation compares against, the original row as JSON (``payload``, for rejects), a content hash
(duplicate vs conflict) and a ``status``:

- ``invalid``: the row breaks a structural v2 rule (no ts, no activity, a value over its length);
- ``kept``: the first row of its ``activity_id`` (ordered by ts, then the row's JSON text);
- ``duplicate``: same id and same content as the kept row (dropped, counted);
- ``conflict``: same id, other content (kept in ``rejected_activities`` with reason ``conflict``).

Backfilled ids: ``uuid(md5(actor || '::' || activity || '::' || epoch_microseconds(ts)))`` where
``actor`` is ``coalesce(customer, anonymous_customer_id, '')`` and ``uuid(h)`` writes the 32 hex
digits as 8-4-4-4-12. Microseconds since the epoch are used instead of the text of ``ts`` because
each engine writes timestamps differently and an id must not depend on the engine.
"""

from __future__ import annotations

from ..schema import columns as C
from ..schema.record import DERIVED_ID_NAMESPACE
from .mapping import FOLDED_COLUMNS

UUID_FROM_HEX = ("lower(substr({h}, 1, 8) || '-' || substr({h}, 9, 4) || '-' || substr({h}, 13, 4) || '-' "
                 "|| substr({h}, 17, 4) || '-' || substr({h}, 21, 12))")


def _duckdb_features(pairs: list[tuple[str, str]]) -> str:
    if not pairs:
        return "CAST('{}' AS JSON)"
    items = ", ".join(f"struct_pack(k := {k}, v := {v})" for k, v in pairs)
    return f"to_json(map_from_entries(list_filter([{items}], lambda e: e.v IS NOT NULL AND e.k <> '')))"


def _snowflake_features(pairs: list[tuple[str, str]]) -> str:
    if not pairs:
        return "OBJECT_CONSTRUCT()"
    # OBJECT_CONSTRUCT omits NULL values; a dropped column gets a unique placeholder key and NULL.
    items = ", ".join(f"IFF({k} = '', '_dropped_{i}', {k}), IFF({k} = '', NULL, {v})"
                      for i, (k, v) in enumerate(pairs))
    return f"OBJECT_CONSTRUCT({items})"


_DUCKDB_STORED_HASH = (
    "md5(CAST(to_json(struct_pack(ts := ts, activity := activity, customer := customer, "
    "anonymous_customer_id := anonymous_customer_id, feature_json := feature_json, "
    "revenue_impact := revenue_impact, link := link)) AS VARCHAR))"
)

FRAGMENTS: dict[str, dict[str, str]] = {
    "duckdb": {
        "TEMP": "CREATE OR REPLACE TEMP TABLE",
        "TS_TYPE": "TIMESTAMP",
        "EPOCH_US": "epoch_us({x})",
        "UUID5": "as_uuid5({x})",
        "UUID_MATCH": "regexp_full_match({x}, '" + C.UUID_PATTERN + "')",
        "PAYLOAD_SOURCE": "(SELECT s.*, CAST(to_json(s) AS VARCHAR) AS _payload FROM {source} s)",
        "JSON_TEXT": "CAST({x} AS VARCHAR)",
        "JSON_GET": "json_extract_string({j}, '$.' || {k})",
        "STORED_HASH": _DUCKDB_STORED_HASH,
        "NEW_UUID": "CAST(gen_random_uuid() AS VARCHAR)",
        "REASONS": "CAST({x} AS JSON)",
        "CODES": "[{x}]",
        "AGG": "string_agg({x}, chr(10) ORDER BY {k})",
    },
    "snowflake": {
        "TEMP": "CREATE OR REPLACE TEMPORARY TABLE",
        "TS_TYPE": "TIMESTAMP_NTZ",
        "EPOCH_US": "DATE_PART(EPOCH_MICROSECOND, {x})",
        "UUID5": f"UUID_STRING('{DERIVED_ID_NAMESPACE}', {{x}})",
        "UUID_MATCH": "REGEXP_LIKE({x}, '" + C.UUID_PATTERN + "')",
        "PAYLOAD_SOURCE": "(SELECT s.*, TO_JSON(OBJECT_CONSTRUCT(*)) AS _payload FROM {source} s)",
        "JSON_TEXT": "TO_JSON({x})",
        "JSON_GET": "JSON_EXTRACT_PATH_TEXT(TO_JSON({j}), {k})",
        "STORED_HASH": "CAST(NULL AS VARCHAR)",
        "NEW_UUID": "UUID_STRING()",
        "REASONS": "PARSE_JSON({x})",
        "CODES": "ARRAY_CONSTRUCT({x})",
        "AGG": "LISTAGG({x}, '\\n') WITHIN GROUP (ORDER BY {k})",
    },
}

FEATURES = {"duckdb": _duckdb_features, "snowflake": _snowflake_features}

# Source timestamp types, per dialect, and how each becomes a UTC timestamp without time zone.
TS_CONVERSIONS: dict[str, dict[str, str]] = {
    "duckdb": {t: "CAST(r.ts AS TIMESTAMP)" for t in (
        "TIMESTAMP", "TIMESTAMP_NS", "TIMESTAMP_MS", "TIMESTAMP_S", "DATE", "TIMESTAMP WITHOUT TIME ZONE")},
    "snowflake": {
        "TIMESTAMP_NTZ": "CAST(r.ts AS TIMESTAMP_NTZ)",
        "DATE": "CAST(r.ts AS TIMESTAMP_NTZ)",
        "TIMESTAMP_TZ": "CAST(CONVERT_TIMEZONE('UTC', r.ts) AS TIMESTAMP_NTZ)",
        "TIMESTAMP_LTZ": "CAST(CONVERT_TIMEZONE('UTC', r.ts) AS TIMESTAMP_NTZ)",
    },
}

NAMES_TABLE = "{TEMP} _mig_names (activity VARCHAR, " + ", ".join(f"k_{c} VARCHAR" for c in FOLDED_COLUMNS) + ")"
NAMES_INSERT = ("INSERT INTO _mig_names VALUES (" + ", ".join("?" for _ in range(len(FOLDED_COLUMNS) + 1)) + ")")
REASONS_TABLE = "{TEMP} _mig_reasons (code VARCHAR, field VARCHAR, reasons VARCHAR)"
REASONS_INSERT = "INSERT INTO _mig_reasons VALUES (?, ?, ?)"

STRUCTURAL_PROBLEM = f"""
CASE WHEN a.ts IS NULL THEN 'invalid_ts'
     WHEN a.activity IS NULL OR length(a.activity) = 0 OR length(a.activity) > {C.ACTIVITY_MAX_LEN}
         THEN 'invalid_activity'
     WHEN length(a.customer) > {C.CUSTOMER_MAX_LEN} THEN 'invalid_customer'
     WHEN length(a.anonymous_customer_id) > {C.CUSTOMER_MAX_LEN} THEN 'invalid_anonymous_customer_id'
     WHEN length(a.link) > {C.LINK_MAX_LEN} THEN 'invalid_link'
END"""


def _v(x: str) -> str:
    return f"coalesce('v' || {x}, 'n')"


CONTENT_HASH = ("md5(concat_ws('|', " + ", ".join(_v(x) for x in (
    "CAST({EPOCH_US_TS} AS VARCHAR)", "a.activity", "a.customer", "a.anonymous_customer_id",
    "{JSON_TEXT_FEATURES}", "CAST(a.revenue_impact AS VARCHAR)", "a.link")) + "))")

CONVERT = """
{TEMP} _mig_rows AS
SELECT c.*,
       CASE WHEN c.problem IS NOT NULL THEN 'invalid'
            WHEN c.rk = 1 THEN 'kept'
            WHEN c.content_hash = c.first_hash THEN 'duplicate'
            ELSE 'conflict' END AS status
FROM (
    SELECT b.*,
           row_number() OVER (PARTITION BY b.activity_id, b.problem IS NULL
                              ORDER BY b.ts NULLS LAST, b.payload) AS rk,
           first_value(b.content_hash) OVER (PARTITION BY b.activity_id, b.problem IS NULL
                                             ORDER BY b.ts NULLS LAST, b.payload) AS first_hash
    FROM (
        SELECT a.*, {ID} AS activity_id, {ID_ORIGIN} AS id_origin,
               {PROBLEM} AS problem, {CONTENT_HASH} AS content_hash
        FROM (
            SELECT {TS} AS ts,
                   CAST(r.activity AS VARCHAR) AS activity,
                   NULLIF(CAST(r.customer AS VARCHAR), '') AS customer,
                   {ANON} AS anonymous_customer_id,
                   {FEATURES} AS feature_json,
                   {REVENUE} AS revenue_impact,
                   {LINK} AS link,
                   {SOURCE_ID} AS source_activity_id,
                   {RAW_COLUMNS},
                   {KEYS},
                   r._payload AS payload
            FROM {PAYLOAD_SOURCE} r
            LEFT JOIN _mig_names n ON n.activity = CAST(r.activity AS VARCHAR)
            LEFT JOIN _mig_names d ON d.activity = '*'
        ) a
    ) b
) c
"""

STATUS_COUNTS = "SELECT status, count(*) FROM _mig_rows GROUP BY status"
ORIGIN_COUNTS = "SELECT id_origin, count(*) FROM _mig_rows GROUP BY id_origin"
SOURCE_COUNT = "SELECT count(*) FROM {source}"
TOP_KEYS = """
SELECT activity, {KEY_LIST}, count(*) AS n
FROM _mig_rows WHERE status = 'kept'
GROUP BY activity, {KEY_LIST}
ORDER BY n DESC, activity
LIMIT 20
"""

MERGE_ROWS = """
MERGE INTO activities t
USING (
    SELECT activity_id, ts, activity, customer, anonymous_customer_id, feature_json, revenue_impact, link,
           {STORED_HASH} AS content_hash, CAST(? AS {TS_TYPE}) AS loaded_at
    FROM _mig_rows WHERE status = 'kept'
) s
ON t.activity_id = s.activity_id
WHEN NOT MATCHED THEN INSERT (
    activity_id, ts, activity, customer, anonymous_customer_id, feature_json, revenue_impact, link,
    _content_hash, _loaded_at)
VALUES (
    s.activity_id, s.ts, s.activity, s.customer, s.anonymous_customer_id, s.feature_json,
    s.revenue_impact, s.link, s.content_hash, s.loaded_at)
"""

REJECTS = """
INSERT INTO rejected_activities (reject_id, payload, payload_hash, activity_id, reasons, reason_codes,
                                 source, received_at, status, resolved_at)
SELECT {NEW_UUID}, x.payload, x.payload_hash, x.activity_id, {REASONS_X}, {CODES_X},
       ?, CAST(? AS {TS_TYPE}), 'open', NULL
FROM (
    SELECT m.payload, md5(m.payload) AS payload_hash, m.activity_id, r.reasons, r.code,
           row_number() OVER (PARTITION BY md5(m.payload) ORDER BY m.payload) AS rn
    FROM _mig_rows m
    JOIN _mig_reasons r ON r.code = CASE WHEN m.status = 'conflict' THEN 'conflict' ELSE m.problem END
    WHERE m.status IN ('conflict', 'invalid')
) x
WHERE x.rn = 1
  AND x.payload_hash NOT IN (SELECT payload_hash FROM rejected_activities WHERE status = 'open')
"""

IDENTITY = """
INSERT INTO identity_map (anonymous_customer_id, customer, linked_at, first_seen_ts, activity_id)
SELECT anonymous_customer_id, customer, CAST(? AS {TS_TYPE}), ts, activity_id
FROM (
    SELECT anonymous_customer_id, customer, ts, activity_id,
           row_number() OVER (PARTITION BY anonymous_customer_id ORDER BY ts, activity_id) AS rn
    FROM activities
    WHERE customer IS NOT NULL AND anonymous_customer_id IS NOT NULL
) x
WHERE x.rn = 1 AND x.anonymous_customer_id NOT IN (SELECT anonymous_customer_id FROM identity_map)
"""

STITCH = """
UPDATE activities SET customer = m.customer
FROM identity_map m
WHERE activities.customer IS NULL AND activities.anonymous_customer_id = m.anonymous_customer_id
"""

_HELPER_WINDOW = ("OVER (PARTITION BY coalesce(customer, anonymous_customer_id), activity "
                  "ORDER BY ts, activity_id)")

HELPERS = f"""
UPDATE activities SET activity_occurrence = r.occ, activity_repeated_at = r.rep
FROM (
    SELECT activity_id, row_number() {_HELPER_WINDOW} AS occ, lead(ts) {_HELPER_WINDOW} AS rep
    FROM activities
    WHERE coalesce(customer, anonymous_customer_id) IS NOT NULL
) r
WHERE activities.activity_id = r.activity_id
  AND (activities.activity_occurrence IS DISTINCT FROM r.occ
       OR activities.activity_repeated_at IS DISTINCT FROM r.rep)
"""

RECORD_DELETE = "DELETE FROM schema_meta WHERE key IN ('spec_version', 'migrated_from', 'migration_source', 'migrated_at')"
RECORD_INSERT = "INSERT INTO schema_meta (key, value) VALUES (?, ?)"
RENAME = "ALTER TABLE {source} RENAME TO {archive}"


def render(template: str, dialect: str, **fields: str) -> str:
    """Fill ``{FIELD}`` markers with this dialect's fragments and the given engine-made text."""
    values = {**FRAGMENTS[dialect], **fields}
    out = template
    for name, value in values.items():
        out = out.replace("{" + name + "}", value)
    return out


def fragment(dialect: str, name: str, **args: str) -> str:
    text = FRAGMENTS[dialect][name]
    for key, value in args.items():
        text = text.replace("{" + key + "}", value)
    return text
