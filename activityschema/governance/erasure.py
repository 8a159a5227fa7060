"""Right to erasure: ``forget(customer)`` removes a customer and its anonymous ids from everything.

What is erased — the *ids*: the customer, the anonymous ids linked to it in ``identity_map``, and
anonymous ids seen on its events (stored, rejected or spooled) that are not linked to another
customer. An anonymous id linked to someone else stays theirs.

In one store transaction: the ids go on the suppression list (reason ``erased``); their own rows are
deleted from every table (``scrub.ERASABLE`` and identity-named columns); an erased anonymous id on
another customer's event is cleared; every remaining mention in text or JSON (provenance parameters,
other customers' feature values, reject messages) becomes the id's keyed-hash token. Then the ids'
data keys are deleted (crypto-shredding), the spool is scrubbed (``spool_scrub``), and a final scan
of every table and spool file proves nothing is left (``residue`` is empty) before the receipt and the
audit entry are written. Helper columns of other actors are untouched (no partition of theirs loses
a row), and the report says what was removed. Running ``forget`` again is harmless.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import duckdb

from ..errors import ValidationError
from ..store.duckdb import DuckDBStore
from . import crypto, keys, scrub, spool_scrub, suppression
from .audit import append_entry

# The merge's content hash (ingest/merge.py CLASSIFY_SQL); recomputed for rows an erasure changed.
CONTENT_HASH_SQL = """
UPDATE activities SET _content_hash = md5(CAST(to_json(struct_pack(ts := ts, activity := activity,
    customer := customer, anonymous_customer_id := anonymous_customer_id, feature_json := feature_json,
    revenue_impact := revenue_impact, link := link)) AS VARCHAR))
WHERE list_contains($rids, rowid)
"""

LINKED_SQL = """
SELECT anonymous_customer_id FROM identity_map WHERE customer = $c
UNION
SELECT x.anon FROM (
    SELECT anonymous_customer_id AS anon FROM activities WHERE customer = $c
    UNION
    SELECT try(json_extract_string(payload, '$.anonymous_customer_id')) FROM rejected_activities
    WHERE try(json_extract_string(payload, '$.customer')) = $c
    UNION
    SELECT unnest($spooled)
) x
WHERE x.anon IS NOT NULL
  AND x.anon NOT IN (SELECT anonymous_customer_id FROM identity_map WHERE customer <> $c)
"""

RECEIPT_SQL = "INSERT INTO erasures VALUES (?, ?, ?, ?, ?)"


@dataclass
class ErasureReport:
    erasure_id: str
    subject: str
    found: bool = False
    anonymous_ids: int = 0
    suppressed: int = 0
    deleted: dict[str, int] = field(default_factory=dict)
    cleared: dict[str, int] = field(default_factory=dict)
    scrubbed: dict[str, int] = field(default_factory=dict)
    keys_destroyed: int = 0
    spool: dict[str, Any] = field(default_factory=dict)
    residue: list[dict[str, Any]] = field(default_factory=list)
    completed_at: datetime | None = None

    @property
    def complete(self) -> bool:
        return not self.residue

    def to_dict(self) -> dict[str, Any]:
        out = dict(self.__dict__)
        out["completed_at"] = self.completed_at.isoformat() if self.completed_at else None
        out["complete"] = self.complete
        return out


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def linked_ids(con: duckdb.DuckDBPyConnection, customer: str, spooled: set[str] | None = None) -> list[str]:
    """The customer and the anonymous ids erased with it (see the module docstring)."""
    rows = con.execute(LINKED_SQL, {"c": customer, "spooled": sorted(spooled or ())}).fetchall()
    return [customer, *sorted({r[0] for r in rows} - {customer})]


def _scrub_store(con: duckdb.DuckDBPyConnection, secret: bytes, customer: str, ids: list[str],
                 report: ErasureReport, *, actor: str, now: datetime) -> None:
    report.suppressed = suppression.suppress_erased(con, secret, customer, ids[1:], actor=actor, now=now)
    deleted, cleared = scrub.delete_owned(con, ids)
    by_form = {form: i for i in ids for form in scrub.id_forms([i])}
    changed = scrub.scrub_mentions(con, ids, lambda text: keys.token(secret, by_form.get(text, text)))
    touched = sorted(set(cleared.get("activities", [])) | set(changed.get("activities", [])))
    if touched:
        con.execute(CONTENT_HASH_SQL, {"rids": touched})
    report.deleted = deleted
    report.cleared = {t: len(r) for t, r in cleared.items()}
    report.scrubbed = {t: len(r) for t, r in changed.items()}
    report.found = bool(deleted or cleared or changed)


def forget(store: DuckDBStore, customer: str, *, actor: str = "library", reason: str | None = None,
           now: datetime | None = None, env: Mapping[str, str] | None = None) -> ErasureReport:
    """Erase ``customer`` everywhere and suppress it; returns what was removed. Audited."""
    if not isinstance(customer, str) or not customer.strip():
        raise ValidationError("forget needs a customer id (a non-empty string).", code="invalid_customer")
    now = now or _now()
    directory = spool_scrub.spool_directory(store.path)
    spooled = spool_scrub.linked_anonymous_ids(directory, customer)
    with store.write() as con:
        secret = keys.hash_secret(con, env)
        ids = linked_ids(con, customer, spooled)
        report = ErasureReport(erasure_id=str(uuid.uuid4()), subject=keys.token(secret, customer),
                               anonymous_ids=len(ids) - 1)
        _scrub_store(con, secret, customer, ids, report, actor=actor, now=now)
    report.keys_destroyed = crypto.destroy_keys(store.cursor(), secret, ids, env)
    pattern = scrub.mention_pattern(scrub.id_forms(ids))
    spool = spool_scrub.scrub_spool(directory, set(ids), pattern)
    report.spool = spool.to_dict()
    report.found = report.found or bool(spool.lines_blanked or spool.lines_masked or report.keys_destroyed)
    report.residue = scrub.find_mentions(store.cursor(), ids) + [{"file": f} for f in spool.unscrubbed_files]
    report.completed_at = _now()
    with store.write() as con:
        con.execute(RECEIPT_SQL, [report.erasure_id, keys.keyed_hash(secret, customer), actor, report.completed_at,
                                  json.dumps(report.to_dict(), sort_keys=True, default=str)])
        append_entry(con, actor, "forget", subject=customer, row_count=sum(report.deleted.values()),
                     details={"erasure_id": report.erasure_id, "reason": reason, "deleted": report.deleted,
                              "keys_destroyed": report.keys_destroyed, "complete": report.complete}, now=now)
    return report
