"""Insight atoms: what an agent learned about a customer, with the query that proves it.

An atom is the spec's ``InsightAtom``: ``(atom_id, customer_id, subject, metric, value,
provenance_query_hash, ts, ttl)``. Rules (SEMANTICS §8):

- ``provenance_query_hash`` must name a query recorded in ``provenance_chain``; an atom without
  lineage is refused (``unknown_query_hash``).
- The customer must be known (it has activities, atoms or a context), so a typo is an error rather
  than a new customer.
- ``ttl`` is in seconds (> 0) and optional. An atom whose ``ts + ttl`` has passed is never returned
  by any read, and ``purge_expired`` deletes it.
- "Latest" per ``(subject, metric)`` is the atom with the greatest ``(ts, atom_id)``.
"""

from __future__ import annotations

import json
import math
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from ..analytics.runner import UNRESTRICTED, Scope
from ..errors import NotFoundError, PayloadTooLarge, ValidationError
from ..provenance import chain
from ..schema.jsonable import dumps, parse_json_text
from ..store.duckdb import DuckDBStore
from .scope import check_customer_id, ensure_in_scope

ATOM_TEXT_MAX_LEN = 255
ATOM_VALUE_MAX_BYTES = 1024 * 1024
ATOM_TTL_MAX_SECONDS = 100 * 365 * 24 * 3600
HISTORY_LIMIT_DEFAULT = 100
HISTORY_LIMIT_MAX = 10_000

ATOM_COLUMNS = ("atom_id, customer_id, subject, metric, CAST(value AS VARCHAR) AS value, provenance_query_hash, "
                "ts, ttl, expires_at, created_by")

INSERT_SQL = """
INSERT INTO insight_atoms
VALUES ($atom_id, $customer, $subject, $metric, $value, $hash, $ts, $ttl, $expires_at, $created_by)
"""

LIVE_FILTER = "(expires_at IS NULL OR expires_at > $now)"

LATEST_SQL = f"""
SELECT {ATOM_COLUMNS}
FROM insight_atoms
WHERE customer_id = $customer
  AND {LIVE_FILTER}
  AND ($subject IS NULL OR subject = $subject)
  AND ($metric IS NULL OR metric = $metric)
QUALIFY row_number() OVER (PARTITION BY subject, metric ORDER BY ts DESC, atom_id DESC) = 1
ORDER BY subject, metric
"""

HISTORY_SQL = f"""
SELECT {ATOM_COLUMNS}
FROM insight_atoms
WHERE customer_id = $customer
  AND {LIVE_FILTER}
  AND ($subject IS NULL OR subject = $subject)
  AND ($metric IS NULL OR metric = $metric)
ORDER BY ts DESC, atom_id DESC
LIMIT $limit
"""

LATEST_FOR_ACTORS_SQL = f"""
SELECT {ATOM_COLUMNS}
FROM insight_atoms
WHERE customer_id IN (SELECT unnest($actors))
  AND {LIVE_FILTER}
QUALIFY row_number() OVER (PARTITION BY customer_id, subject, metric ORDER BY ts DESC, atom_id DESC) = 1
ORDER BY customer_id, subject, metric
"""

EXPIRED_CUSTOMERS_SQL = "SELECT DISTINCT customer_id FROM insight_atoms WHERE expires_at <= $now"
PURGE_SQL = "DELETE FROM insight_atoms WHERE expires_at <= $now"

KNOWN_ACTOR_SQL = """
SELECT EXISTS (SELECT 1 FROM context_cache WHERE customer_id = $actor)
    OR EXISTS (SELECT 1 FROM insight_atoms WHERE customer_id = $actor)
    OR EXISTS (SELECT 1 FROM activities WHERE coalesce(customer, anonymous_customer_id) = $actor)
"""


@dataclass(frozen=True)
class InsightAtom:
    atom_id: str
    customer_id: str
    subject: str
    metric: str
    value: Any
    provenance_query_hash: str
    ts: datetime
    ttl: float | None
    expires_at: datetime | None
    created_by: str | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "atom_id": self.atom_id,
            "customer_id": self.customer_id,
            "subject": self.subject,
            "metric": self.metric,
            "value": self.value,
            "provenance_query_hash": self.provenance_query_hash,
            "ts": self.ts.isoformat(),
            "ttl": self.ttl,
            "expires_at": self.expires_at.isoformat() if self.expires_at else None,
        }

    @classmethod
    def from_row(cls, row: tuple[Any, ...]) -> InsightAtom:
        atom_id, customer, subject, metric, value, digest, ts, ttl, expires_at, created_by = row
        return cls(atom_id, customer, subject, metric, parse_json_text(value), digest, ts, ttl, expires_at, created_by)


def utc_now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _check_text(name: str, value: object) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > ATOM_TEXT_MAX_LEN:
        raise ValidationError(f"{name} must be a non-blank string of at most {ATOM_TEXT_MAX_LEN} characters, "
                              f"got {str(value)[:80]!r}.", code=f"invalid_{name}")
    return value


def _check_ttl(ttl: object) -> float | None:
    if ttl is None:
        return None
    if isinstance(ttl, bool) or not isinstance(ttl, (int, float)) or not math.isfinite(ttl) \
            or not 0 < ttl <= ATOM_TTL_MAX_SECONDS:
        raise ValidationError(f"ttl must be a number of seconds above 0 and at most {ATOM_TTL_MAX_SECONDS}, "
                              f"got {ttl!r}.", code="invalid_ttl")
    return float(ttl)


def _value_text(value: Any) -> str:
    try:
        text = dumps(value)
    except (TypeError, ValueError):
        raise ValidationError("value must be JSON (object, array, string, number, boolean or null; "
                              "no NaN or infinity).", code="invalid_value") from None
    size = len(text.encode("utf-8"))
    if size > ATOM_VALUE_MAX_BYTES:
        raise PayloadTooLarge(f"value is {size:,} bytes as JSON; at most {ATOM_VALUE_MAX_BYTES:,} bytes are allowed.",
                              code="value_too_large")
    return text


def actor_is_known(store: DuckDBStore, actor: str) -> bool:
    row = store.fetchone(KNOWN_ACTOR_SQL, {"actor": actor})
    return bool(row and row[0])


def require_known_actor(store: DuckDBStore, actor: str) -> None:
    if not actor_is_known(store, actor):
        raise NotFoundError(f"Unknown customer '{actor}': it has no activities, insights or context.",
                            code="unknown_customer")


def record_atom(store: DuckDBStore, *, customer_id: str, subject: str, metric: str, value: Any,
                provenance_query_hash: str, ttl: float | None = None, created_by: str = "library",
                scope: Scope = UNRESTRICTED, now: datetime | None = None) -> InsightAtom:
    """Validate and store one atom; return it."""
    customer_id = check_customer_id(customer_id)
    ensure_in_scope(scope, customer_id)
    subject, metric = _check_text("subject", subject), _check_text("metric", metric)
    ttl_seconds = _check_ttl(ttl)
    text = _value_text(value)
    if not isinstance(provenance_query_hash, str) or not chain.exists(store, provenance_query_hash):
        raise NotFoundError(f"provenance_query_hash '{str(provenance_query_hash)[:64]}' names no recorded query; "
                            "run a query first (submit_query or a template) and cite the hash it returns.",
                            code="unknown_query_hash")
    require_known_actor(store, customer_id)
    now = now or utc_now()
    expires_at = now + timedelta(seconds=ttl_seconds) if ttl_seconds is not None else None
    atom = InsightAtom(str(uuid.uuid4()), customer_id, subject, metric, json.loads(text), provenance_query_hash,
                       now, ttl_seconds, expires_at, created_by)
    store.execute(INSERT_SQL, {"atom_id": atom.atom_id, "customer": customer_id, "subject": subject,
                               "metric": metric, "value": text, "hash": provenance_query_hash, "ts": now,
                               "ttl": ttl_seconds, "expires_at": expires_at, "created_by": created_by})
    return atom


def latest_atoms(store: DuckDBStore, customer_id: str, *, subject: str | None = None, metric: str | None = None,
                 scope: Scope = UNRESTRICTED, now: datetime | None = None) -> list[InsightAtom]:
    """The latest live atom per (subject, metric) of a customer, optionally for one subject/metric."""
    ensure_in_scope(scope, check_customer_id(customer_id))
    rows = store.fetchall(LATEST_SQL, {"customer": customer_id, "subject": subject, "metric": metric,
                                       "now": now or utc_now()})
    return [InsightAtom.from_row(r) for r in rows]


def atom_history(store: DuckDBStore, customer_id: str, *, subject: str | None = None, metric: str | None = None,
                 limit: int = HISTORY_LIMIT_DEFAULT, scope: Scope = UNRESTRICTED,
                 now: datetime | None = None) -> list[InsightAtom]:
    """Every live atom of a customer, newest first (at most ``limit``)."""
    ensure_in_scope(scope, check_customer_id(customer_id))
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= HISTORY_LIMIT_MAX:
        raise ValidationError(f"limit must be an integer from 1 to {HISTORY_LIMIT_MAX}, got {limit!r}.",
                              code="invalid_limit")
    rows = store.fetchall(HISTORY_SQL, {"customer": customer_id, "subject": subject, "metric": metric,
                                        "limit": limit, "now": now or utc_now()})
    return [InsightAtom.from_row(r) for r in rows]


def latest_atoms_for(store: DuckDBStore, actors: list[str], now: datetime) -> dict[str, list[InsightAtom]]:
    """Latest live atom per (subject, metric) for many customers at once (context building)."""
    out: dict[str, list[InsightAtom]] = {}
    for row in store.fetchall(LATEST_FOR_ACTORS_SQL, {"actors": actors, "now": now}):
        atom = InsightAtom.from_row(row)
        out.setdefault(atom.customer_id, []).append(atom)
    return out


def purge_expired(store: DuckDBStore, *, now: datetime | None = None) -> tuple[int, list[str]]:
    """Delete every expired atom; return (atoms deleted, customers whose atoms were deleted)."""
    now = now or utc_now()
    with store.write() as con:
        customers = [r[0] for r in con.execute(EXPIRED_CUSTOMERS_SQL, {"now": now}).fetchall()]
        row = con.execute(PURGE_SQL, {"now": now}).fetchone()
    return (int(row[0]) if row else 0), customers
