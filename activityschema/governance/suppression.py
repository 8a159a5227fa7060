"""The suppression list: keyed hashes of actors whose events must not come back.

Two reasons put an actor here. ``erased``: ``forget`` removed the customer; every later event of the
customer, of an anonymous id that was linked to it, or a replay of its old events, is rejected with
reason ``suppressed`` (only an explicit, audited ``unsuppress`` lifts it). ``opted_out``: the actor's
latest ``consent_updated`` event says ``tracking: false``; its events are dropped or anonymized
(policy ``opt_out_mode``) until a later consent event says ``tracking: true``.

Rows hold ``subject_hash`` (the keyed hash of the id) and ``group_hash`` (the hash of the customer
the id belonged to), never the id itself. The ingest side is ``ingest/checks/suppression.py``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import duckdb

from ..errors import NotFoundError
from ..store.duckdb import DuckDBStore
from . import keys

REASON_ERASED = "erased"
REASON_OPTED_OUT = "opted_out"
KIND_CUSTOMER = "customer"
KIND_ANONYMOUS = "anonymous"

UPSERT_ERASED_SQL = """
INSERT INTO suppressions VALUES (?, ?, ?, 'erased', ?, ?)
ON CONFLICT (subject_hash) DO UPDATE SET group_hash = excluded.group_hash, kind = excluded.kind,
    reason = 'erased', created_at = excluded.created_at, created_by = excluded.created_by
"""
INSERT_OPT_OUT_SQL = "INSERT INTO suppressions VALUES (?, ?, ?, 'opted_out', ?, ?) ON CONFLICT DO NOTHING"
DELETE_OPT_OUT_SQL = "DELETE FROM suppressions WHERE subject_hash = ? AND reason = 'opted_out'"
UNSUPPRESS_SQL = "DELETE FROM suppressions WHERE (subject_hash = ? OR group_hash = ?) AND reason = 'erased'"
LOOKUP_SQL = "SELECT reason, kind, created_at FROM suppressions WHERE subject_hash = ?"


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def suppress_erased(con: duckdb.DuckDBPyConnection, secret: bytes, customer: str, anonymous_ids: list[str],
                    *, actor: str, now: datetime) -> int:
    """Put a customer and its anonymous ids on the list (inside the caller's transaction)."""
    group = keys.keyed_hash(secret, customer)
    rows = [(group, group, KIND_CUSTOMER)] + [(keys.keyed_hash(secret, a), group, KIND_ANONYMOUS) for a in anonymous_ids]
    for subject, grp, kind in rows:
        con.execute(UPSERT_ERASED_SQL, [subject, grp, kind, now, actor])
    return len(rows)


def set_opt_out(con: duckdb.DuckDBPyConnection, secret: bytes, actor_id: str, opted_out: bool, *,
                is_customer: bool, by: str, now: datetime) -> None:
    subject = keys.keyed_hash(secret, actor_id)
    if opted_out:
        kind = KIND_CUSTOMER if is_customer else KIND_ANONYMOUS
        con.execute(INSERT_OPT_OUT_SQL, [subject, subject, kind, now, by])
    else:
        con.execute(DELETE_OPT_OUT_SQL, [subject])


def suppression_of(store: DuckDBStore, actor_id: str) -> dict[str, Any] | None:
    """The suppression entry for an id (reason, kind, since), or None."""
    with store.write() as con:
        secret = keys.hash_secret(con)
        row = con.execute(LOOKUP_SQL, [keys.keyed_hash(secret, actor_id)]).fetchone()
    return None if row is None else {"reason": row[0], "kind": row[1], "since": row[2]}


def unsuppress(store: DuckDBStore, customer: str, *, actor: str, reason: str, now: datetime | None = None) -> int:
    """Lift an erasure suppression (the customer and the anonymous ids erased with it). Audited."""
    from .audit import append_entry

    now = now or _now()
    with store.write() as con:
        secret = keys.hash_secret(con)
        subject = keys.keyed_hash(secret, customer)
        removed = con.execute("SELECT count(*) FROM suppressions WHERE (subject_hash = ? OR group_hash = ?) AND reason = 'erased'",
                              [subject, subject]).fetchone()
        n = int(removed[0]) if removed else 0
        if n == 0:
            raise NotFoundError("That customer is not suppressed by an erasure (nothing to lift).",
                                code="not_suppressed")
        con.execute(UNSUPPRESS_SQL, [subject, subject])
        append_entry(con, actor, "unsuppress", subject=customer, row_count=n, details={"reason": reason}, now=now)
    return n
