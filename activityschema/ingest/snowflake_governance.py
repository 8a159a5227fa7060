"""Governance and quality state for a Snowflake load: pulled into the local validation DuckDB before
the ingest checks run, and what the checks changed pushed back in the load's transaction.

The ingest checks (``ingest/checks/``) run in the in-process DuckDB that validates a batch, so on
Snowflake they would see empty registries. ``pull`` copies what they read, from the warehouse:

- whole small tables: ``governance_secrets`` (the keyed-hash secret), ``governance_policies``,
  ``suppressions`` (keyed hashes only) and ``feature_schemas``;
- only the rows the batch can touch: ``identity_map`` links of the batch's anonymous ids, and when
  the batch carries consent events, the stored consent events of its actors and the stored rows
  with the batch's consent-event ids (the consent check skips events already stored).

``push`` writes back, inside the load's transaction: suppression rows the consent check added or
removed (opt-outs), a keyed-hash secret created for this load (the first time one was needed), and
new ``schema_warnings``. Encryption at ingest (policy ``encrypt_keys``) keeps its per-customer data
keys in tables this module does not synchronise: a load with that policy set is refused on
Snowflake (``unsupported_feature``) rather than storing clear text.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import duckdb

from ..errors import UnsupportedFeature
from ..governance.consent import CONSENT_ACTIVITY
from ..store.snowflake import SnowflakeSession, SnowflakeStore

# table -> (what to select in the warehouse, the local columns it fills)
WHOLE_TABLES: dict[str, tuple[str, str]] = {
    "governance_secrets": ("name, value, wrapped_by, created_at", "name, value, wrapped_by, created_at"),
    "governance_policies": ("name, value, updated_at, updated_by", "name, value, updated_at, updated_by"),
    "suppressions": ("subject_hash, group_hash, kind, reason, created_at, created_by",
                     "subject_hash, group_hash, kind, reason, created_at, created_by"),
    "feature_schemas": ("activity, schema_name, CAST(schema_json AS VARCHAR), mode, registered_at",
                        "activity, schema_name, schema_json, mode, registered_at"),
}
ACTIVITY_SELECT = ("activity_id, ts, activity, customer, anonymous_customer_id, CAST(feature_json AS VARCHAR), "
                   "revenue_impact, link")
ACTIVITY_COLUMNS = "activity_id, ts, activity, customer, anonymous_customer_id, feature_json, revenue_impact, link"
IDENTITY_COLUMNS = "anonymous_customer_id, customer, linked_at, first_seen_ts, activity_id"
BATCH_ANONYMOUS_SQL = ("SELECT DISTINCT anonymous_customer_id FROM _checked WHERE anonymous_customer_id IS NOT NULL "
                       "UNION SELECT DISTINCT try(json_extract_string(payload, '$.anonymous_customer_id')) FROM _raw "
                       "WHERE try(json_extract_string(payload, '$.anonymous_customer_id')) IS NOT NULL")
BATCH_CONSENT_SQL = (f"SELECT DISTINCT activity_id, coalesce(customer, anonymous_customer_id) FROM _checked "
                     f"WHERE activity = '{CONSENT_ACTIVITY}' AND len(reasons) = 0")
IDENTITY_SQL = (f"SELECT {IDENTITY_COLUMNS} FROM identity_map "
                "WHERE list_contains($ids, anonymous_customer_id)")
CONSENT_EVENTS_SQL = (f"SELECT {ACTIVITY_SELECT} FROM activities WHERE (activity = '{CONSENT_ACTIVITY}' "
                      "AND list_contains($actors, coalesce(customer, anonymous_customer_id))) "
                      "OR list_contains($ids, activity_id)")
LOCAL_INSERT = "INSERT INTO {table} ({columns}) VALUES ({marks})"  # into empty tables: no duplicates
SUPPRESSION_KEYS_SQL = "SELECT subject_hash, reason FROM suppressions"
NEW_SUPPRESSIONS_SQL = "SELECT subject_hash, group_hash, kind, reason, created_at, created_by FROM suppressions"
SECRET_ROWS_SQL = "SELECT name, value, wrapped_by, created_at FROM governance_secrets"
WARNINGS_SQL = "SELECT activity_id, activity, ts, schema_name, CAST(reasons AS VARCHAR), recorded_at FROM schema_warnings"

PUSH_SUPPRESSION = ("INSERT INTO suppressions (subject_hash, group_hash, kind, reason, created_at, created_by) "
                    "SELECT ?, ?, ?, ?, CAST(? AS TIMESTAMP_NTZ), ? "
                    "WHERE NOT EXISTS (SELECT 1 FROM suppressions WHERE subject_hash = ?)")
DROP_OPT_OUT = "DELETE FROM suppressions WHERE subject_hash = ? AND reason = 'opted_out'"
PUSH_SECRET = ("INSERT INTO governance_secrets (name, value, wrapped_by, created_at) "
               "SELECT ?, TO_BINARY(?, 'HEX'), ?, CAST(? AS TIMESTAMP_NTZ) "
               "WHERE NOT EXISTS (SELECT 1 FROM governance_secrets WHERE name = ?)")
PUSH_WARNING = ("INSERT INTO schema_warnings (activity_id, activity, ts, schema_name, reasons, recorded_at) "
                "SELECT ?, ?, CAST(? AS TIMESTAMP_NTZ), ?, PARSE_JSON(?), CAST(? AS TIMESTAMP_NTZ) "
                "WHERE NOT EXISTS (SELECT 1 FROM schema_warnings WHERE activity_id = ?) "
                "AND NOT EXISTS (SELECT 1 FROM activities WHERE activity_id = ?)")


@dataclass
class Pulled:
    """What the warehouse held before the checks ran, to tell what they changed."""

    suppressions: set[tuple[str, str]] = field(default_factory=set)
    secrets: set[str] = field(default_factory=set)


def _insert_local(con: duckdb.DuckDBPyConnection, table: str, columns: str, rows: list[tuple[Any, ...]]) -> None:
    if not rows:
        return
    marks = ", ".join("?" for _ in rows[0])
    con.executemany(LOCAL_INSERT.format(table=table, columns=columns, marks=marks), [list(r) for r in rows])


def _binary(value: Any) -> Any:
    """BINARY may arrive as bytes, bytearray or hex text (the emulator)."""
    if isinstance(value, str):
        return bytes.fromhex(value)
    return bytes(value) if isinstance(value, bytearray | memoryview) else value


def pull(store: SnowflakeStore, con: duckdb.DuckDBPyConnection) -> Pulled:
    """Copy into ``con`` (the validation DuckDB, after staging) the governance rows the checks read."""
    pulled = Pulled()
    for table, (select, columns) in WHOLE_TABLES.items():
        rows = store.fetchall(f"SELECT {select} FROM {table}")
        if table == "governance_secrets":
            rows = [(r[0], _binary(r[1]), *r[2:]) for r in rows]
            pulled.secrets = {r[0] for r in rows}
        _insert_local(con, table, columns, rows)
    policy = con.execute("SELECT value FROM governance_policies WHERE name = 'encrypt_keys'").fetchone()
    if policy and json.loads(policy[0]):
        raise UnsupportedFeature(store.dialect, "encryption at ingest (policy encrypt_keys): its data keys are not "
                                 "synchronised with the warehouse; clear the policy or load into DuckDB")
    pulled.suppressions = {(h, r) for h, r in con.execute(SUPPRESSION_KEYS_SQL).fetchall()}
    consent = con.execute(BATCH_CONSENT_SQL).fetchall()
    if not pulled.suppressions and not consent:
        return pulled  # no check can match anything: skip the per-batch lookups
    anonymous = [r[0] for r in con.execute(BATCH_ANONYMOUS_SQL).fetchall()]
    if anonymous:
        _insert_local(con, "identity_map", IDENTITY_COLUMNS, store.fetchall(IDENTITY_SQL, {"ids": anonymous}))
    if consent:
        linked = con.execute("SELECT customer FROM identity_map").fetchall()
        actors = sorted({a for _, a in consent if a} | {r[0] for r in linked})
        rows = store.fetchall(CONSENT_EVENTS_SQL, {"actors": actors, "ids": [i for i, _ in consent]})
        _insert_local(con, "activities", ACTIVITY_COLUMNS, rows)
    return pulled


def push(session: SnowflakeSession, con: duckdb.DuckDBPyConnection, pulled: Pulled) -> None:
    """Write what the checks changed back to the warehouse: in the load's transaction, before the
    MERGE (a warning is only for a record not stored yet)."""
    for name, value, wrapped_by, created_at in con.execute(SECRET_ROWS_SQL).fetchall():
        if name not in pulled.secrets:
            session.execute(PUSH_SECRET, [name, bytes(value).hex(), wrapped_by, created_at, name])
    now = {(h, r): row for row in con.execute(NEW_SUPPRESSIONS_SQL).fetchall() for h, r in [(row[0], row[3])]}
    for subject, reason in pulled.suppressions - set(now):
        if reason == "opted_out":
            session.execute(DROP_OPT_OUT, [subject])
    for key in set(now) - pulled.suppressions:
        row = now[key]
        session.execute(PUSH_SUPPRESSION, [*row, row[0]])
    for row in con.execute(WARNINGS_SQL).fetchall():
        session.execute(PUSH_WARNING, [*row, row[0], row[0]])
