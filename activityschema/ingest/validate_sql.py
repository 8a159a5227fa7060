"""Column-wise validation of raw records inside DuckDB (SEMANTICS §1).

Input: a table ``src(_seq BIGINT, payload VARCHAR)`` — one JSON text per record. Output: a temp table
with the normalized spec columns and ``reasons``, a list of ``{code, field, message}`` structs (empty
when the record is valid). The patterns and limits come from ``schema/columns.py``, the same constants
the single-record validator uses; ``tests/unit/test_validation_parity.py`` checks both agree.
"""

from __future__ import annotations

import weakref

import duckdb

from ..schema import columns as C
from ..schema.record import derive_activity_id


def _q(text: str) -> str:
    """SQL string literal for a constant from columns.py (never for user input)."""
    return "'" + text.replace("'", "''") + "'"


def _reason(code: str, condition: str, detail_sql: str = "''") -> str:
    field = C.REASON_FIELDS.get(code)
    message = f"{_q(C.REASONS[code])} || CASE WHEN {detail_sql} <> '' THEN ': ' || {detail_sql} ELSE '' END"
    return (
        f"CASE WHEN {condition} THEN {{'code': {_q(code)}, "
        f"'field': {_q(field) if field else 'NULL::VARCHAR'}, 'message': {message}}} END"
    )


_STRUCT = _q("{" + ", ".join(f'"{c}": "JSON"' for c in C.SPEC_COLUMNS) + "}")
_ALLOWED = ", ".join(_q(k) for k in sorted(C.ALLOWED_INPUT_KEYS))
_NUMERIC = "('BIGINT', 'UBIGINT', 'DOUBLE')"


def _shown(col: str) -> str:
    """The offending value, cut to 60 characters, for messages."""
    return f"coalesce('got ' || left(CAST({col} AS VARCHAR), 60), 'missing')"


# (code, condition that is true when the rule is broken, SQL showing the offending value)
RULES: list[tuple[str, str, str]] = [
    # CASE, not AND: only ids that are not already canonical pay for the regex.
    ("invalid_activity_id",
     "CASE WHEN id_t IS NULL OR id_t = 'NULL' OR id_fast IS NOT NULL THEN false "
     "ELSE NOT (id_t = 'VARCHAR' AND "
     f"(regexp_full_match(id_s, {_q(C.UUID_PATTERN)}) OR (@DERIVE@ AND id_s <> ''))) END", _shown("id_s")),
    ("invalid_ts", "ts IS NULL", _shown("ts_s")),
    ("ts_in_future", "ts > @NOW@ + to_microseconds(CAST(@MAXF@ * 3600000000 AS BIGINT))", _shown("ts")),
    ("invalid_activity",
     f"NOT coalesce(act_t = 'VARCHAR' AND length(act_s) <= {C.ACTIVITY_MAX_LEN} "
     f"AND regexp_full_match(act_s, {_q(C.ACTIVITY_PATTERN)}), false)", _shown("act_s")),
    ("invalid_customer",
     f"cust_t IS NOT NULL AND cust_t <> 'NULL' AND NOT (cust_t = 'VARCHAR' "
     f"AND length(cust_s) BETWEEN 1 AND {C.CUSTOMER_MAX_LEN})", _shown("cust_s")),
    ("invalid_anonymous_customer_id",
     f"anon_t IS NOT NULL AND anon_t <> 'NULL' AND NOT (anon_t = 'VARCHAR' "
     f"AND length(anon_s) BETWEEN 1 AND {C.CUSTOMER_MAX_LEN})", _shown("anon_s")),
    ("invalid_feature_json", "feature_text IS NULL", "''"),
    ("feature_json_too_large", f"strlen(feature_text) > {C.FEATURE_JSON_MAX_BYTES}", "''"),
    ("invalid_revenue_impact",
     f"rev_t IS NOT NULL AND rev_t <> 'NULL' AND NOT (rev_t IN {_NUMERIC} AND isfinite(rev_d))",
     _shown("rev_d")),
    ("invalid_link",
     f"link_t IS NOT NULL AND link_t <> 'NULL' AND NOT (link_t = 'VARCHAR' "
     f"AND length(link_s) <= {C.LINK_MAX_LEN} AND regexp_full_match(link_s, {_q(C.LINK_PATTERN)}))",
     _shown("link_s")),
]
_UNKNOWN_STRUCT = (
    "CASE WHEN bad_unknown_field THEN {'code': 'unknown_field', 'field': NULL::VARCHAR, "
    "'message': 'unknown top-level field(s): ' || array_to_string(list_sort(unknown), ', ')} END"
)
FLAGS_SQL = ",\n           ".join(
    [f"coalesce({cond}, false) AS bad_{code}" for code, cond, _ in RULES]
    + ["coalesce(len(unknown) > 0, false) AS bad_unknown_field"]
)
ANY_FLAG_SQL = " OR ".join([f"bad_{code}" for code, _, _ in RULES] + ["bad_unknown_field"])
REASON_STRUCTS_SQL = ",\n                ".join(
    [_reason(code, f"bad_{code}", detail) for code, _, detail in RULES] + [_UNKNOWN_STRUCT]
)
FAST_TS_PATTERN = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z$"


VALIDATE_SQL = f"""
CREATE OR REPLACE TEMP TABLE @OUT@ AS
WITH objects AS (
    -- Two parses per line: json_keys (also proves it is valid JSON) and from_json into JSON fields.
    SELECT _seq, keys, keys IS NOT NULL AND left(ltrim(payload), 1) = '{{' AS is_obj, payload,
           @PAYLOAD_MD5@ AS payload_md5
    FROM (SELECT _seq, payload, try(json_keys(payload)) AS keys FROM @SRC@)
), fields AS (
    SELECT _seq, is_obj, payload_md5,
           CASE WHEN is_obj THEN from_json(payload, {_STRUCT}) END AS v,
           CASE WHEN is_obj THEN list_filter(keys, lambda k: k NOT IN ({_ALLOWED})) END AS unknown
    FROM objects
), typed AS (
    SELECT _seq, is_obj, unknown, payload_md5,
           @TYPED@
    FROM fields
), ts_fast AS (
    -- The common shape (2026-01-15T14:30:00.123Z) parses with a plain cast; others take the
    -- general path below, which handles every offset form the rules allow.
    SELECT *, coalesce(regexp_full_match(ts_s, {_q(FAST_TS_PATTERN)})
                       AND substr(ts_s, 1, 4) >= '0001' AND substr(ts_s, 12, 2) <= '23'
                       AND substr(ts_s, 15, 2) <= '59' AND substr(ts_s, 18, 2) <= '59', false) AS is_fast,
           -- Likewise the common id shape (canonical 8-4-4-4-12) is checked and normalized by a UUID
           -- cast; any other form takes the UUID_PATTERN path below.
           CASE WHEN id_t = 'VARCHAR' AND id_s LIKE '________-____-____-____-____________'
                THEN CAST(try_cast(id_s AS UUID) AS VARCHAR) END AS id_fast
    FROM typed
), ts_parts AS (
    SELECT *, CASE WHEN NOT is_fast THEN regexp_extract(trim(ts_s), {_q(C.TS_PATTERN)},
                  ['y', 'mo', 'd', 'hh', 'mi', 'ss', 'frac', 'tz']) END AS tp
    FROM ts_fast
), ts_parsed AS (
    SELECT *,
        CASE WHEN is_fast THEN try_cast(rtrim(ts_s, 'Z') AS TIMESTAMP)
             WHEN ts_s IS NOT NULL AND regexp_full_match(trim(ts_s), {_q(C.TS_PATTERN)})
             AND CAST(tp.y AS INTEGER) >= 1
             AND coalesce(CAST(nullif(tp.hh, '') AS INTEGER), 0) <= 23
             AND coalesce(CAST(nullif(tp.mi, '') AS INTEGER), 0) <= 59
             AND coalesce(CAST(nullif(tp.ss, '') AS INTEGER), 0) <= 59
        THEN try_cast(
                 tp.y || '-' || tp.mo || '-' || tp.d || ' ' ||
                 coalesce(nullif(tp.hh, ''), '00') || ':' || coalesce(nullif(tp.mi, ''), '00') || ':' ||
                 coalesce(nullif(tp.ss, ''), '00') || '.' || rpad(left(tp.frac, 6), 6, '0')
             AS TIMESTAMP)
             - CASE WHEN tp.tz IN ('', 'Z', 'z') THEN INTERVAL 0 MINUTE
                    ELSE (CASE WHEN left(tp.tz, 1) = '-' THEN -1 ELSE 1 END) * (
                         CAST(substr(replace(tp.tz, ':', ''), 2, 2) AS INTEGER) * INTERVAL 1 HOUR
                         + CAST(coalesce(nullif(substr(replace(tp.tz, ':', ''), 4, 2), ''), '0') AS INTEGER)
                           * INTERVAL 1 MINUTE) END
        END AS ts_raw,
        CASE WHEN NOT is_fast AND tp.tz NOT IN ('', 'Z', 'z')
             THEN CAST(substr(replace(tp.tz, ':', ''), 2, 2) AS INTEGER) > 23
               OR CAST(coalesce(nullif(substr(replace(tp.tz, ':', ''), 4, 2), ''), '0') AS INTEGER) > 59
             ELSE false END AS tz_bad
    FROM ts_parts
), normalized AS (
    SELECT _seq, is_obj, unknown, payload_md5, id_t, id_s, id_fast, ts_s, act_t, act_s, cust_t, cust_s,
           anon_t, anon_s, feat_t, rev_t, rev_d, link_t, link_s,
           CASE WHEN tz_bad OR year(ts_raw) > 9999 THEN NULL ELSE ts_raw END AS ts,
           -- Every branch is JSON already serialized by the parser (minified), so the output column
           -- needs no second parse.
           CASE WHEN feat_t IS NULL OR feat_t = 'NULL' THEN '{{}}'::JSON
                WHEN feat_t = 'OBJECT' THEN feat_obj
                WHEN feat_t = 'VARCHAR' AND json_type(try(CAST(feat_str AS JSON))) = 'OBJECT'
                    THEN json(feat_str)
           END AS feature_text
    FROM ts_parsed
), flagged AS (
    SELECT *, @FLAGS@
    FROM normalized
), checked AS (
    SELECT _seq, payload_md5, ts, feature_text, id_t, id_s, id_fast,
        CASE WHEN act_t = 'VARCHAR' THEN act_s END AS activity,
        CASE WHEN cust_t = 'VARCHAR' THEN cust_s END AS customer,
        CASE WHEN anon_t = 'VARCHAR' THEN anon_s END AS anonymous_customer_id,
        CASE WHEN rev_t IN {_NUMERIC} THEN rev_d END AS revenue_impact,
        CASE WHEN link_t = 'VARCHAR' THEN link_s END AS link,
        CASE WHEN NOT is_obj THEN [{{'code': 'invalid_json', 'field': NULL::VARCHAR,
                                     'message': {_q(C.REASONS['invalid_json'])}}}]
             WHEN @ANY_FLAG@ THEN list_filter([@REASON_STRUCTS@], lambda r: r IS NOT NULL)
             ELSE []
        END AS reasons
    FROM flagged
)
SELECT _seq,
    CASE WHEN id_t IS NULL OR id_t = 'NULL' THEN @MISSING_ID@
         WHEN id_fast IS NOT NULL THEN id_fast
         WHEN regexp_full_match(id_s, {_q(C.UUID_PATTERN)})
             THEN lower(insert_hyphens(replace(replace(replace(id_s, '-', ''), '{{', ''), '}}', '')))
         WHEN @DERIVE@ AND id_t = 'VARCHAR' AND id_s <> '' THEN as_uuid5(id_s) END AS activity_id,
    ts, activity, customer, anonymous_customer_id,
    feature_text AS feature_json, revenue_impact, link, reasons
FROM checked
"""

_TYPED_COLUMNS = """
json_type(v.activity_id) AS id_t, json_extract_string(v.activity_id, '$') AS id_s,
json_extract_string(v.ts, '$') AS ts_s,
json_type(v.activity) AS act_t, json_extract_string(v.activity, '$') AS act_s,
json_type(v.customer) AS cust_t, json_extract_string(v.customer, '$') AS cust_s,
json_type(v.anonymous_customer_id) AS anon_t, json_extract_string(v.anonymous_customer_id, '$') AS anon_s,
json_type(v.feature_json) AS feat_t, v.feature_json AS feat_obj,
json_extract_string(v.feature_json, '$') AS feat_str,
json_type(v.revenue_impact) AS rev_t, try_cast(json_extract_string(v.revenue_impact, '$') AS DOUBLE) AS rev_d,
json_type(v.link) AS link_t, json_extract_string(v.link, '$') AS link_s
""".strip()


_INSTALLED: weakref.WeakSet[duckdb.DuckDBPyConnection] = weakref.WeakSet()


def install_functions(con: duckdb.DuckDBPyConnection) -> None:
    """Register the helper SQL functions the validator needs on this connection (once per connection)."""
    if con in _INSTALLED:
        return
    installed = con.execute(
        "SELECT count(*) FROM duckdb_functions() WHERE function_name = 'as_uuid5'"
    ).fetchone()
    if installed and installed[0]:
        _INSTALLED.add(con)
        return
    con.execute(
        "CREATE OR REPLACE TEMP MACRO insert_hyphens(h) AS "
        "substr(h, 1, 8) || '-' || substr(h, 9, 4) || '-' || substr(h, 13, 4) || '-' || "
        "substr(h, 17, 4) || '-' || substr(h, 21, 12)"
    )
    con.create_function(
        "as_uuid5",
        lambda v: derive_activity_id(v),  # only called for non-UUID ids in derived-id imports
        ["VARCHAR"],
        "VARCHAR",
        null_handling="default",
        side_effects=False,
    )
    _INSTALLED.add(con)


def validate_table(
    con: duckdb.DuckDBPyConnection,
    src: str,
    out: str,
    *,
    now_sql: str,
    max_future_hours: float = C.MAX_FUTURE_HOURS_DEFAULT,
    derive_ids: bool = False,
) -> None:
    """Validate ``src(_seq, payload)`` into temp table ``out``.

    ``src`` and ``out`` are internal table names chosen by the engine (never user input). With
    ``derive_ids`` a non-UUID id becomes uuid5(namespace, id) and a missing id becomes
    uuid5(namespace, 'line:' + md5(payload)), so re-importing the same file is idempotent.
    """
    install_functions(con)
    missing_id = (
        "as_uuid5('line:' || payload_md5)" if derive_ids else "CAST(gen_random_uuid() AS VARCHAR)"
    )
    tokens = {  # the fragments first: they contain the value tokens below
        "@FLAGS@": FLAGS_SQL,
        "@ANY_FLAG@": ANY_FLAG_SQL,
        "@REASON_STRUCTS@": REASON_STRUCTS_SQL,
        "@OUT@": out,
        "@SRC@": src,
        "@TYPED@": _TYPED_COLUMNS,
        "@DERIVE@": "true" if derive_ids else "false",
        "@NOW@": now_sql,
        "@MAXF@": repr(float(max_future_hours)),
        "@MISSING_ID@": missing_id,
        "@PAYLOAD_MD5@": "md5(payload)" if derive_ids else "NULL::VARCHAR",
    }
    sql = VALIDATE_SQL
    for token, value in tokens.items():
        sql = sql.replace(token, value)
    con.execute(sql)

