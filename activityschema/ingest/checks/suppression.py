"""Ingest check: refuse events of suppressed actors, and apply opt-outs (governance/suppression.py).

A row is matched when the keyed hash of its customer, of its anonymous id, or of the customer that
anonymous id is linked to (``identity_map``) is on the suppression list. Then:

- ``erased``: the row is rejected with reason ``suppressed`` — nothing resurrects a forgotten
  customer, whatever else is wrong with the row;
- ``opted_out`` (except ``consent_updated`` events, which always pass so an actor can opt back in):
  with ``opt_out_mode = drop`` the row is rejected with reason ``opted_out``; with ``anonymize`` it is
  kept without customer and anonymous_customer_id.

A rejected row's payload is replaced by ``{"redacted": <code>, "activity_id": …, "subject": <hash>}``
and its other reasons dropped, so the rejects table never keeps the data it refused. Lines that an
erasure blanked out in the spool (``{"_erased": …}``) are rejected with reason ``suppressed`` too.
"""

from __future__ import annotations

from typing import Any

import duckdb

from ...governance import keys, policies
from ...schema.columns import REASONS

ORDER = 20
CONSENT_ACTIVITY = "consent_updated"
SPOOL_MARKER_KEY = "_erased"


def _q(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _reason_struct(code: str) -> str:
    return f"{{'code': {_q(code)}, 'field': NULL::VARCHAR, 'message': {_q(REASONS[code])}}}"


MARKER_SQL = f"""
UPDATE @T@ SET reasons = [{_reason_struct('suppressed')}]
FROM @RAW@ raw
WHERE @T@._seq = raw._seq
  AND contains(raw.payload, '"{SPOOL_MARKER_KEY}"')
  AND try(json_extract_string(raw.payload, '$.{SPOOL_MARKER_KEY}')) IS NOT NULL
"""

IDS_SQL = """
CREATE OR REPLACE TEMP TABLE _supp_ids AS
SELECT t._seq, t.activity,
       CASE WHEN len(t.reasons) = 0 THEN t.customer
            ELSE coalesce(t.customer, try(json_extract_string(raw.payload, '$.customer'))) END AS c,
       CASE WHEN len(t.reasons) = 0 THEN t.anonymous_customer_id
            ELSE coalesce(t.anonymous_customer_id, try(json_extract_string(raw.payload, '$.anonymous_customer_id'))) END AS a
FROM @T@ t LEFT JOIN @RAW@ raw ON raw._seq = t._seq AND len(t.reasons) > 0;
CREATE OR REPLACE TEMP TABLE _supp_pairs AS
SELECT _seq, c AS id FROM _supp_ids WHERE c IS NOT NULL
UNION ALL SELECT _seq, a FROM _supp_ids WHERE a IS NOT NULL
UNION ALL SELECT i._seq, m.customer FROM _supp_ids i JOIN identity_map m ON m.anonymous_customer_id = i.a;
"""

HASH_SQL = """
CREATE OR REPLACE TEMP TABLE _supp_hash AS
SELECT id, @HK@ AS h FROM (SELECT DISTINCT id FROM _supp_pairs)
"""

MATCH_SQL = f"""
CREATE OR REPLACE TEMP TABLE _supp_rows AS
SELECT p._seq,
       bool_or(s.reason = 'erased') AS erased,
       min(s.subject_hash) AS subject,
       any_value(i.activity) AS activity
FROM _supp_pairs p
JOIN _supp_hash h ON h.id = p.id
JOIN suppressions s ON s.subject_hash = h.h
JOIN _supp_ids i ON i._seq = p._seq
GROUP BY p._seq
"""

REJECT_SQL = """
UPDATE @RAW@ SET
    payload = CAST(json_object('redacted', $code, 'activity_id', t.activity_id,
                               'subject', left(r.subject, 32)) AS VARCHAR)
FROM _supp_rows r JOIN @T@ t ON t._seq = r._seq
WHERE @RAW@._seq = r._seq AND (@WHERE@);
UPDATE @T@ SET
    reasons = [@REASON@],
    customer = NULL, anonymous_customer_id = NULL, feature_json = NULL, link = NULL
FROM _supp_rows r
WHERE @T@._seq = r._seq AND (@WHERE@)
"""

ANONYMIZE_SQL = f"""
UPDATE @RAW@ SET
    payload = CASE WHEN json_valid(payload)
                   THEN CAST(json_merge_patch(payload, '{{"customer": null, "anonymous_customer_id": null}}') AS VARCHAR)
                   ELSE '{{"redacted": "opted_out"}}' END
FROM _supp_rows r
WHERE @RAW@._seq = r._seq AND NOT r.erased AND coalesce(r.activity, '') <> '{CONSENT_ACTIVITY}';
UPDATE @T@ SET
    customer = NULL, anonymous_customer_id = NULL
FROM _supp_rows r
WHERE @T@._seq = r._seq AND NOT r.erased AND coalesce(r.activity, '') <> '{CONSENT_ACTIVITY}'
"""

ERASED_ROWS = "r.erased"
OPTED_OUT_ROWS = f"NOT r.erased AND coalesce(r.activity, '') <> '{CONSENT_ACTIVITY}'"


def check(con: duckdb.DuckDBPyConnection, table: str, raw_table: str) -> None:
    run = lambda sql, params=None: con.execute(sql.replace("@T@", table).replace("@RAW@", raw_table), params)  # noqa: E731
    run(MARKER_SQL)
    row = con.execute("SELECT count(*) FROM suppressions").fetchone()
    if not row or not row[0]:
        return
    secret = keys.hash_secret(con)
    run(IDS_SQL)
    run(HASH_SQL.replace("@HK@", keys.keyed_hash_sql("id")), keys.keyed_hash_params(secret))
    run(MATCH_SQL)
    _refuse(run, "suppressed", ERASED_ROWS)
    if policies.read_policy(con, "opt_out_mode") == "anonymize":
        for statement in ANONYMIZE_SQL.split(";"):
            if statement.strip():
                run(statement)
    else:
        _refuse(run, "opted_out", OPTED_OUT_ROWS)


def _refuse(run: Any, code: str, where: str) -> None:
    """Redact the payloads, then mark the rows (two statements: DuckDB binds parameters per statement)."""
    redact, mark = REJECT_SQL.replace("@WHERE@", where).split(";\n")
    mark = mark.replace("@REASON@", _reason_struct(code))
    run(redact, {"code": code})
    run(mark)
