"""Ingest check: feature_json against the activity's registered JSON Schema (``quality/schemas.py``).

Cost: with no schema in ``warn`` or ``reject`` mode this is one query on the tiny
``feature_schemas`` table. Otherwise the rows of the batch whose activity has a schema are grouped
by feature_json text and each distinct text is validated once in Python with ``jsonschema``
(roughly 50-100 µs per distinct value; see ``bench/bench_quality.py``); rows of other activities are
never read.

- ``reject``: every failing row gets the reason ``schema_violation`` (field ``feature_json``; the
  message names the schema and up to three errors), next to any reasons it already had.
- ``warn``: failing rows that are otherwise valid stay valid; one row per activity_id goes to
  ``schema_warnings`` (not for records already stored or already warned about).
"""

from __future__ import annotations

import json

import duckdb
import pyarrow as pa

from ...quality.validation import compiled, violations
from ...schema.columns import REASONS

ORDER = 50
REASON_CODE = "schema_violation"
REASON_FIELD = "feature_json"

ACTIVE_SQL = """
SELECT activity, schema_name, CAST(schema_json AS VARCHAR), mode
FROM feature_schemas
WHERE mode <> 'off'
"""

CANDIDATES_SQL = """
SELECT activity, CAST(feature_json AS VARCHAR) AS feature, list(_seq) AS seqs
FROM @TABLE@
WHERE feature_json IS NOT NULL AND list_contains(?, activity)
GROUP BY 1, 2
"""

REJECT_SQL = """
UPDATE @TABLE@
SET reasons = list_append(reasons, {'code': h.code, 'field': h.field, 'message': h.message})
FROM _schema_hits h
WHERE @TABLE@._seq = h._seq AND h.mode = 'reject'
"""

WARN_SQL = """
INSERT INTO schema_warnings
SELECT t.activity_id, t.activity, t.ts, h.schema_name,
       to_json([{'code': h.code, 'field': h.field, 'message': h.message}]),
       CAST(current_timestamp AS TIMESTAMP)
FROM @TABLE@ t
JOIN _schema_hits h ON t._seq = h._seq
WHERE h.mode = 'warn' AND len(t.reasons) = 0
  AND NOT EXISTS (SELECT 1 FROM schema_warnings w WHERE w.activity_id = t.activity_id)
  AND NOT EXISTS (SELECT 1 FROM activities a WHERE a.activity_id = t.activity_id)
QUALIFY row_number() OVER (PARTITION BY t.activity_id ORDER BY t._seq) = 1
"""

HITS_SCHEMA = pa.schema(
    [
        ("_seq", pa.int64()),
        ("code", pa.string()),
        ("field", pa.string()),
        ("message", pa.string()),
        ("mode", pa.string()),
        ("schema_name", pa.string()),
    ]
)


def _message(schema_name: str, errors: list[str]) -> str:
    return f"{REASONS[REASON_CODE]} ('{schema_name}'): " + "; ".join(errors)


def check(con: duckdb.DuckDBPyConnection, table: str, raw_table: str = "_raw") -> None:
    """Apply every schema in warn/reject mode to the rows of ``table`` (an engine-chosen name)."""
    active = {a: (name, text, mode) for a, name, text, mode in con.execute(ACTIVE_SQL).fetchall()}
    if not active:
        return
    hits: dict[str, list[object]] = {name: [] for name in HITS_SCHEMA.names}
    rows = con.execute(CANDIDATES_SQL.replace("@TABLE@", table), [sorted(active)]).fetchall()
    for activity, feature, seqs in rows:
        name, text, mode = active[activity]
        errors = violations(compiled(text), json.loads(feature))
        if not errors:
            continue
        message = _message(name, errors)
        for seq in seqs:
            for col, value in zip(
                HITS_SCHEMA.names,
                (seq, REASON_CODE, REASON_FIELD, message, mode, name),
                strict=True,
            ):
                hits[col].append(value)
    if not hits["_seq"]:
        return
    con.register("_schema_hits", pa.table(hits, schema=HITS_SCHEMA))
    try:
        con.execute(REJECT_SQL.replace("@TABLE@", table))
        con.execute(WARN_SQL.replace("@TABLE@", table))
    finally:
        con.unregister("_schema_hits")
