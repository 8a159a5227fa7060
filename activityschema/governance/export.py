"""Exports: a customer's own data (portability) and shared exports that honour do-not-sell.

``export_customer`` writes *everything held about a customer* into one file: its identities, its
events (all columns), its rejected records, its consent state and suppression status, the rows of
every other per-customer table (identity links, insight atoms, context — found the same way erasure
finds them, so the two cannot drift apart) and the recipients its data was disclosed to. Encrypted
fields are opened only when asked and the master key is present; shredded ones stay marked.

``share_activities`` writes events for a third party. With purpose ``sale`` or ``share`` (CCPA "sell
or share"), actors whose current ``do_not_sell`` flag is true are left out; ``service_provider``
exports are not a sale and keep them. Encrypted fields are never shared: those keys are dropped. Each
share is recorded (recipient, purpose, and per actor a keyed hash, the events and the date range) for
the disclosure report.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator, Mapping
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import duckdb

from ..errors import PermissionDenied, ValidationError
from ..store.duckdb import DuckDBStore
from . import consent, crypto, keys, scrub
from .audit import append_entry
from .erasure import linked_ids

FORMAT = "activityschema.customer_export.v1"
FORMATS = ("json", "ndjson")
SELL_PURPOSES = ("sale", "share")
PURPOSES = (*SELL_PURPOSES, "service_provider")
SPECIAL_TABLES = ("activities", "rejected_activities")
SHARE_FETCH_ROWS = 50_000

ACTIVITIES_SQL = """
SELECT activity_id, ts, activity, customer, anonymous_customer_id, CAST(feature_json AS VARCHAR) AS feature_json,
       revenue_impact, link, activity_occurrence, activity_repeated_at
FROM activities WHERE @OWNER@
ORDER BY ts, activity_id
"""
REJECTS_SQL = """
SELECT reject_id, received_at, source, status, reason_codes, CAST(reasons AS VARCHAR) AS reasons, payload
FROM rejected_activities WHERE @OWNER@
ORDER BY received_at, reject_id
"""
SHARE_SQL = """
SELECT activity_id, ts, activity, customer, anonymous_customer_id, CAST(feature_json AS VARCHAR) AS feature_json,
       revenue_impact, link, activity_occurrence, activity_repeated_at
FROM activities
WHERE coalesce(customer, anonymous_customer_id, '') NOT IN (SELECT actor FROM _share_excluded)
  AND (CAST($pattern AS VARCHAR) IS NULL OR activity GLOB $pattern)
  AND (CAST($since AS TIMESTAMP) IS NULL OR ts >= $since) AND (CAST($until AS TIMESTAMP) IS NULL OR ts < $until)
ORDER BY ts, activity_id
"""
SHARE_SUBJECTS_SQL = """
SELECT coalesce(customer, anonymous_customer_id) AS actor, min(ts), max(ts), count(*)
FROM activities
WHERE coalesce(customer, anonymous_customer_id, '') NOT IN (SELECT actor FROM _share_excluded)
  AND (CAST($pattern AS VARCHAR) IS NULL OR activity GLOB $pattern)
  AND (CAST($since AS TIMESTAMP) IS NULL OR ts >= $since) AND (CAST($until AS TIMESTAMP) IS NULL OR ts < $until)
  AND coalesce(customer, anonymous_customer_id) IS NOT NULL
GROUP BY 1
"""


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _jsonable(value: Any) -> Any:
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    return value


def _rows(con: duckdb.DuckDBPyConnection, sql: str, params: Mapping[str, Any]) -> list[dict[str, Any]]:
    cur = con.execute(sql, dict(params))
    names = [d[0] for d in cur.description or []]
    return [{n: _jsonable(v) for n, v in zip(names, row, strict=True)} for row in cur.fetchall()]


def _open_features(rows: list[dict[str, Any]], cipher: crypto.FieldCipher | None, stats: crypto.DecryptStats) -> None:
    for row in rows:
        features = json.loads(row["feature_json"] or "{}")
        row["feature_json"] = crypto.decrypt_features(cipher, features, stats) if cipher else features


def _payload_record(payload: str) -> Any:
    try:
        return json.loads(payload)
    except ValueError:
        return {"raw": payload}


def collect_customer(con: duckdb.DuckDBPyConnection, customer: str, *, decrypt: bool = False,
                     env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Everything held about ``customer`` as one JSON-ready document."""
    ids = linked_ids(con, customer)
    secret = keys.hash_secret(con, env)
    stats = crypto.DecryptStats()
    cipher = crypto.cipher_for(con, secret=secret, env=env) if decrypt else None
    activities = _rows(con, ACTIVITIES_SQL.replace("@OWNER@", scrub.ERASABLE["activities"].owner_sql), {"ids": ids})
    _open_features(activities, cipher, stats)
    rejects = _rows(con, REJECTS_SQL.replace("@OWNER@", scrub.ERASABLE["rejected_activities"].owner_sql), {"ids": ids})
    for r in rejects:
        r["reasons"], r["record"] = json.loads(r["reasons"]), _payload_record(r.pop("payload"))
    tables = {}
    for table, columns in scrub.catalog(con).items():
        predicate, _ = scrub.owner_predicate(table, columns)
        if predicate and table not in SPECIAL_TABLES and table not in scrub.PROTECTED_TABLES:
            tables[table] = _rows(con, f"SELECT * FROM {scrub.qi(table)} WHERE {predicate}", {"ids": ids})
    subject_hashes = [keys.keyed_hash(secret, i) for i in ids]
    supp = con.execute("SELECT reason, kind, created_at FROM suppressions WHERE list_contains($h, subject_hash)",
                       {"h": subject_hashes}).fetchall()
    return {
        "format": FORMAT, "customer": customer, "generated_at": _now().isoformat(),
        "identities": {"customer": customer, "anonymous_customer_ids": ids[1:]},
        "consent": {k: {**v, "ts": _jsonable(v["ts"])} for k, v in consent.consent_state(con, customer).items()},
        "suppressed": [{"reason": r, "kind": k, "since": _jsonable(t)} for r, k, t in supp],
        "activities": activities, "rejected_activities": rejects, "tables": tables,
        "disclosures": recipients(con, subject_hashes),
        "encryption": {"decrypted": stats.decrypted, "shredded": stats.shredded, "opened": decrypt},
    }


def recipients(con: duckdb.DuckDBPyConnection, subject_hashes: list[str]) -> list[dict[str, Any]]:
    return _rows(con, """
        SELECT d.recipient, d.purpose, d.created_at AS disclosed_at, sum(s.events) AS events,
               min(s.first_ts) AS first_ts, max(s.last_ts) AS last_ts
        FROM disclosure_subjects s JOIN disclosures d USING (export_id)
        WHERE list_contains($h, s.subject_hash)
        GROUP BY d.export_id, d.recipient, d.purpose, d.created_at
        ORDER BY d.created_at""", {"h": subject_hashes})


def _write_document(doc: dict[str, Any], path: str | Path, fmt: str) -> None:
    with open(path, "w", encoding="utf-8") as out:
        if fmt == "json":
            json.dump(doc, out, ensure_ascii=False, indent=2, default=str)
            out.write("\n")
            return
        header = {k: v for k, v in doc.items() if k not in ("activities", "rejected_activities", "tables")}
        out.write(json.dumps({"record_type": "header", **header}, ensure_ascii=False, default=str) + "\n")
        for kind, rows in (("activity", doc["activities"]), ("rejected_activity", doc["rejected_activities"])):
            for row in rows:
                out.write(json.dumps({"record_type": kind, **row}, ensure_ascii=False, default=str) + "\n")
        for table, rows in doc["tables"].items():
            for row in rows:
                out.write(json.dumps({"record_type": "table_row", "table": table, **row}, ensure_ascii=False, default=str) + "\n")


def export_customer(store: DuckDBStore, customer: str, path: str | Path, *, fmt: str = "json",
                    decrypt: bool = False, actor: str = "library", scope_actors: frozenset[str] | None = None,
                    env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Write all data held about ``customer`` to one JSON or NDJSON file. Audited.

    ``scope_actors``: the caller's row scope; a scoped caller may export only customers in it.
    """
    if fmt not in FORMATS:
        raise ValidationError(f"Export format '{fmt}' is not supported. Allowed: {', '.join(FORMATS)}.", code="invalid_format")
    if scope_actors is not None and customer not in scope_actors:
        raise PermissionDenied("This key's row scope does not include that customer.", code="out_of_scope")
    with store.write() as con:
        doc = collect_customer(con, customer, decrypt=decrypt, env=env)
        _write_document(doc, path, fmt)
        summary = {"activities": len(doc["activities"]), "rejected_activities": len(doc["rejected_activities"]),
                   "tables": {t: len(r) for t, r in doc["tables"].items()}, **doc["encryption"]}
        append_entry(con, actor, "export_customer", subject=customer, row_count=len(doc["activities"]),
                     details={"format": fmt, **summary})
    return {"path": str(path), "format": fmt, **summary}


def _share_lines(con: duckdb.DuckDBPyConnection, params: dict[str, Any]) -> Iterator[str]:
    cur = con.execute(SHARE_SQL, params)
    names = [d[0] for d in cur.description or []]
    while batch := cur.fetchmany(SHARE_FETCH_ROWS):
        for row in batch:
            rec = {n: _jsonable(v) for n, v in zip(names, row, strict=True)}
            features = json.loads(rec["feature_json"] or "{}")
            rec["feature_json"] = {k: v for k, v in features.items() if not crypto.is_encrypted(v)}
            yield json.dumps(rec, ensure_ascii=False)


def share_activities(store: DuckDBStore, path: str | Path, *, recipient: str, purpose: str,
                     activity_pattern: str | None = None, since: datetime | None = None,
                     until: datetime | None = None, actor: str = "library", now: datetime | None = None) -> dict[str, Any]:
    """Write events for a third party as NDJSON, honouring do-not-sell; record the disclosure. Audited."""
    if purpose not in PURPOSES:
        raise ValidationError(f"Purpose '{purpose}' is not known. Allowed: {', '.join(PURPOSES)}.", code="invalid_purpose")
    if not recipient.strip():
        raise ValidationError("Name the recipient of the export.", code="invalid_recipient")
    now = now or _now()
    export_id = str(uuid.uuid4())
    with store.write() as con:
        con.execute("CREATE OR REPLACE TEMP TABLE _share_excluded AS " + consent.FLAG_TRUE_SQL + " AND $sell",
                    {"path": f"$.{consent.DO_NOT_SELL_FLAG}", "sell": purpose in SELL_PURPOSES})
        excluded = con.execute("SELECT count(*) FROM _share_excluded").fetchall()[0][0]
        params = {"pattern": activity_pattern, "since": since, "until": until}
        rows = 0
        with open(path, "w", encoding="utf-8") as out:
            for line in _share_lines(con, params):
                out.write(line + "\n")
                rows += 1
        subjects = con.execute(SHARE_SUBJECTS_SQL, params).fetchall()
        secret = keys.hash_secret(con)
        if subjects:  # executemany refuses an empty list
            con.executemany("INSERT INTO disclosure_subjects VALUES (?, ?, ?, ?, ?)",
                            [(export_id, keys.keyed_hash(secret, a), lo, hi, n) for a, lo, hi, n in subjects])
        con.execute("INSERT INTO disclosures VALUES (?, ?, ?, ?, ?, ?, ?)",
                    [export_id, recipient, purpose, now, actor, rows, len(subjects)])
        append_entry(con, actor, "share", row_count=rows,
                     details={"export_id": export_id, "recipient": recipient, "purpose": purpose,
                              "excluded_do_not_sell": excluded}, now=now)
    return {"export_id": export_id, "path": str(path), "rows": rows, "actors": len(subjects),
            "excluded_do_not_sell": excluded, "purpose": purpose, "recipient": recipient}
