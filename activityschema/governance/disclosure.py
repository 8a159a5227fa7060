"""The disclosure report (CCPA "right to know"): what is held about a customer and who received it.

Per customer: the categories of data held (each with whether it is present and how much), the
activities with their counts and first/last time, the overall date range, the consent flags, the
retention policies that apply to its activities, and the recipients of shared exports that included
it (recipient, purpose, when, how many events, which date range).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from ..store.duckdb import DuckDBStore
from . import consent, crypto, keys, scrub
from .audit import append_entry
from .erasure import linked_ids
from .export import _jsonable, recipients

OWNER = scrub.ERASABLE["activities"].owner_sql
ACTIVITIES_SQL = f"""
SELECT activity, count(*) AS events, min(ts) AS first_ts, max(ts) AS last_ts,
       count(revenue_impact) AS revenue_events, sum(revenue_impact) AS revenue_total,
       count(link) AS links
FROM activities WHERE {OWNER}
GROUP BY activity ORDER BY activity
"""
FEATURE_KEYS_SQL = f"""
SELECT k, count(*) FROM (SELECT unnest(json_keys(feature_json)) AS k FROM activities WHERE {OWNER})
GROUP BY k ORDER BY k
"""
ENCRYPTED_KEYS_SQL = f"""
SELECT DISTINCT k FROM (
    SELECT unnest(json_keys(feature_json)) AS k, feature_json FROM activities WHERE {OWNER}
) WHERE json_extract(feature_json, '$."' || replace(k, '"', '') || '"."{crypto.ENC_FIELD}"') IS NOT NULL
"""
RETENTION_SQL = """
SELECT p.pattern, p.max_age_days, list(DISTINCT a.activity ORDER BY a.activity) AS activities
FROM retention_policies p JOIN (SELECT DISTINCT activity FROM activities WHERE @OWNER@) a ON a.activity GLOB p.pattern
GROUP BY p.pattern, p.max_age_days ORDER BY p.pattern
"""

CATEGORIES = (
    ("identifiers", "customer id and linked anonymous ids"),
    ("activity", "events: what the customer did and when"),
    ("commercial", "revenue_impact amounts attached to events"),
    ("attributes", "feature_json keys attached to events"),
    ("links", "URLs attached to events"),
    ("inferences", "rows in other per-customer tables (insight atoms, context)"),
    ("consent", "consent choices recorded as consent_updated events"),
)


def disclosure_report(store: DuckDBStore, customer: str, *, actor: str = "library",
                      env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """What is held about ``customer``, in categories, and who it was disclosed to. Audited."""
    with store.write() as con:
        ids = linked_ids(con, customer)
        secret = keys.hash_secret(con, env)
        p = {"ids": ids}
        acts = con.execute(ACTIVITIES_SQL, p).fetchall()
        feature_keys = dict(con.execute(FEATURE_KEYS_SQL, p).fetchall())
        encrypted = sorted(r[0] for r in con.execute(ENCRYPTED_KEYS_SQL, p).fetchall())
        other: Counter[str] = Counter()
        for table, columns in scrub.catalog(con).items():
            predicate, _ = scrub.owner_predicate(table, columns)
            if predicate and table not in ("activities", "rejected_activities", "identity_map", "touched_actors") \
                    and table not in scrub.PROTECTED_TABLES:
                row = con.execute(f"SELECT count(*) FROM {scrub.qi(table)} WHERE {predicate}", p).fetchone()
                if row and row[0]:
                    other[table] = int(row[0])
        flags = consent.consent_state(con, customer)
        retention = con.execute(RETENTION_SQL.replace("@OWNER@", OWNER), p).fetchall()
        sent = recipients(con, [keys.keyed_hash(secret, i) for i in ids])
        events = sum(a[1] for a in acts)
        present = {
            "identifiers": {"customer": customer, "anonymous_ids": len(ids) - 1},
            "activity": {"events": events, "activities": len(acts)},
            "commercial": {"events": sum(a[4] for a in acts), "total": sum(a[5] or 0 for a in acts)},
            "attributes": {"keys": feature_keys, "encrypted_keys": encrypted},
            "links": {"events": sum(a[6] for a in acts)},
            "inferences": dict(other),
            "consent": {k: v["value"] for k, v in flags.items()},
        }
        report = {
            "customer": customer,
            "generated_at": datetime.now(UTC).replace(tzinfo=None).isoformat(),
            "categories": [{"category": name, "description": text, "held": _held(present[name]), "detail": present[name]}
                           for name, text in CATEGORIES],
            "activities": [{"activity": a, "events": n, "first_ts": _jsonable(lo), "last_ts": _jsonable(hi)}
                           for a, n, lo, hi, *_ in acts],
            "date_range": {"first": _jsonable(min((a[2] for a in acts), default=None)),
                           "last": _jsonable(max((a[3] for a in acts), default=None))},
            "retention": [{"pattern": pat, "max_age_days": days, "activities": list(names)} for pat, days, names in retention],
            "recipients": sent,
        }
        append_entry(con, actor, "disclosure_report", subject=customer, row_count=events)
    return report


def _held(detail: Any) -> bool:
    if isinstance(detail, dict):
        return any(_held(v) for k, v in detail.items() if k != "customer") or bool(detail.get("customer"))
    if isinstance(detail, (list, tuple)):
        return bool(detail)
    return bool(detail)
