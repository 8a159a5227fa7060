"""API keys: who may call the servers, with which scopes, over which customers.

- A key is ``as_<key_id>_<secret>``. The store keeps ``sha256`` of the whole key, never the key, so a
  leaked database does not leak credentials. (The secret is 256 random bits, so a slow password
  hash adds nothing; comparison is constant-time.) ``create_key`` returns the key once.
- Scopes: ``ingest`` (log events and insights), ``query`` (read contexts, insights, run templates and
  analytics), ``admin`` (everything, including key management and purges).
- Row scope: a key may be limited to a set of customers, and/or to a tenant (the events whose
  ``feature_json.tenant_id`` is that tenant). Both become the ``Scope`` of every template run made
  with the key, so a scoped key can never read another customer's or tenant's rows. A customer-set
  key reads contexts and insights of its customers; a tenant key cannot read per-customer memory or
  act on a customer (erasure, export): a customer id does not say which tenants its events belong
  to, so those calls are refused (``tenant_scope``) rather than risk serving another tenant's data.
  A tenant key ingests only events tagged with its tenant.
- A revoked key is refused from the moment of revocation (``KeyRing.forget`` drops cached checks).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ..analytics.runner import TENANT_KEY, Scope
from ..errors import AuthError, NotFoundError, PermissionDenied, ValidationError
from ..store.duckdb import DuckDBStore

SCOPES = ("ingest", "query", "admin")
KEY_PREFIX = "as_"
KEY_RE = re.compile(r"^as_(k[0-9a-f]{12})_([A-Za-z0-9_-]{20,100})$")
KEY_NAME_MAX_LEN = 100
SCOPED_CUSTOMERS_MAX = 100_000
AUTH_CACHE_SECONDS = 5.0

INSERT_SQL = ("INSERT INTO api_keys (key_id, name, secret_hash, scopes, customers, created_at, revoked_at, tenant) "
              "VALUES ($key_id, $name, $hash, $scopes, $customers, $now, NULL, $tenant)")
LOOKUP_SQL = ("SELECT key_id, name, secret_hash, scopes, customers, revoked_at, tenant FROM api_keys "
              "WHERE key_id = $key_id")
LIST_SQL = ("SELECT key_id, name, scopes, customers, created_at, revoked_at, tenant FROM api_keys "
            "ORDER BY created_at, key_id")
TENANT_MAX_LEN = 255
REVOKE_SQL = "UPDATE api_keys SET revoked_at = $now WHERE key_id = $key_id AND revoked_at IS NULL"


@dataclass(frozen=True)
class Principal:
    """Who is calling: a key's id, name, scopes and row scope."""

    key_id: str
    name: str
    scopes: frozenset[str]
    customers: frozenset[str] | None = None
    tenant: str | None = None

    @property
    def scope(self) -> Scope:
        return Scope(self.customers, self.tenant)

    def may_write(self, record: Any) -> bool:
        """Whether this key may ingest ``record``: its actor in the customer set, its
        ``feature_json.tenant_id`` equal to the key's tenant."""
        if not isinstance(record, dict):
            return self.customers is None and self.tenant is None  # malformed: let validation explain it
        if self.customers is not None:
            actor = record.get("customer") or record.get("anonymous_customer_id")
            if not isinstance(actor, str) or actor not in self.customers:
                return False
        if self.tenant is not None:
            features = record.get("feature_json")
            return isinstance(features, dict) and features.get(TENANT_KEY) == self.tenant
        return True

    def require_customer(self, customer: str) -> None:
        """Refuse acting on or reading one customer's data outside this key's row scope."""
        if self.tenant is not None:
            raise PermissionDenied(f"Key '{self.name}' is scoped to a tenant; per-customer reads and actions need "
                                   "a key scoped to customers (a customer id does not say which tenants its "
                                   "events belong to).", code="tenant_scope")
        if self.customers is not None and customer not in self.customers:
            raise PermissionDenied(f"Customer '{customer}' is outside this key's row scope.", code="out_of_scope")

    @property
    def label(self) -> str:
        """Who ran something, as recorded in provenance (``created_by``, ``run_by``): unique per key."""
        return self.name if self.key_id == self.name else f"{self.name} [{self.key_id}]"

    def allows(self, needed: str) -> bool:
        return "admin" in self.scopes or needed in self.scopes

    def require(self, needed: str) -> None:
        if not self.allows(needed):
            raise PermissionDenied(f"Key '{self.name}' lacks the '{needed}' scope (it has: "
                                   f"{', '.join(sorted(self.scopes)) or 'none'}).", code="missing_scope")

    def to_dict(self) -> dict[str, Any]:
        return {"key_id": self.key_id, "name": self.name, "scopes": sorted(self.scopes),
                "customers": sorted(self.customers) if self.customers is not None else None, "tenant": self.tenant}


LOCAL_ADMIN = Principal("local", "local", frozenset({"admin"}))
"""The caller of a local stdio server: the user who owns the store file."""


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def check_scopes(scopes: Iterable[str]) -> list[str]:
    chosen = sorted(set(scopes))
    bad = [s for s in chosen if s not in SCOPES]
    if bad or not chosen:
        raise ValidationError(f"Scopes must be one or more of {', '.join(SCOPES)}; got {', '.join(bad) or 'none'}.",
                              code="invalid_scope")
    return chosen


def _check_customers(customers: Iterable[str] | None) -> list[str] | None:
    if customers is None:
        return None
    chosen = sorted(set(customers))
    malformed = any(not isinstance(c, str) or not c or len(c) > 255 for c in chosen)
    if not chosen or len(chosen) > SCOPED_CUSTOMERS_MAX or malformed:
        raise ValidationError(f"A key's customers must be 1 to {SCOPED_CUSTOMERS_MAX:,} ids of 1 to 255 characters.",
                              code="invalid_customers")
    return chosen


def _check_tenant(tenant: Any) -> str | None:
    if tenant is not None and (not isinstance(tenant, str) or not tenant.strip() or len(tenant) > TENANT_MAX_LEN):
        raise ValidationError(f"A key's tenant must be 1 to {TENANT_MAX_LEN} characters.", code="invalid_tenant")
    return tenant


def create_key(store: DuckDBStore, name: str, scopes: Iterable[str], *, customers: Iterable[str] | None = None,
               tenant: str | None = None, now: datetime | None = None) -> tuple[dict[str, Any], str]:
    """Create a key; return (its description, the key itself: shown once, stored only hashed)."""
    if not isinstance(name, str) or not name.strip() or len(name) > KEY_NAME_MAX_LEN:
        raise ValidationError(f"A key name must be 1 to {KEY_NAME_MAX_LEN} characters.", code="invalid_key_name")
    chosen, limited, tenant = check_scopes(scopes), _check_customers(customers), _check_tenant(tenant)
    key_id = "k" + secrets.token_hex(6)
    key = f"{KEY_PREFIX}{key_id}_{secrets.token_urlsafe(32)}"
    now = now or _now()
    store.execute(INSERT_SQL, {"key_id": key_id, "name": name, "hash": _digest(key), "scopes": chosen,
                               "customers": limited, "now": now, "tenant": tenant})
    return {"key_id": key_id, "name": name, "scopes": chosen, "customers": limited, "tenant": tenant,
            "created_at": now.isoformat(), "revoked_at": None}, key


def list_keys(store: DuckDBStore) -> list[dict[str, Any]]:
    rows = store.fetchall(LIST_SQL)
    return [{"key_id": k, "name": n, "scopes": list(s), "customers": list(c) if c is not None else None,
             "tenant": tenant, "created_at": created.isoformat(), "revoked_at": revoked.isoformat() if revoked else None}
            for k, n, s, c, created, revoked, tenant in rows]


def revoke_key(store: DuckDBStore, key_id: str, *, now: datetime | None = None) -> None:
    with store.write() as con:
        row = con.execute(LOOKUP_SQL, {"key_id": key_id}).fetchone()
        if row is None:
            raise NotFoundError(f"No API key with id '{key_id}'.", code="unknown_key")
        con.execute(REVOKE_SQL, {"key_id": key_id, "now": now or _now()})


def authenticate(store: DuckDBStore, key: str | None) -> Principal:
    """The principal of a presented key, or AuthError (missing, malformed, unknown, revoked)."""
    if not key:
        raise AuthError("An API key is required: send 'Authorization: Bearer <key>'.", code="missing_key")
    match = KEY_RE.match(key)
    row = store.fetchone(LOOKUP_SQL, {"key_id": match.group(1)}) if match else None
    if row is None or not hmac.compare_digest(row[2], _digest(key)):
        raise AuthError("The API key is not valid.", code="invalid_key")
    if row[5] is not None:
        raise AuthError("The API key has been revoked.", code="revoked_key")
    customers = frozenset(row[4]) if row[4] is not None else None
    return Principal(row[0], row[1], frozenset(row[3]), customers, row[6])


class KeyRing:
    """Authentication with a short-lived cache of verified keys (by digest, never by the key)."""

    def __init__(self, store: DuckDBStore, *, ttl: float = AUTH_CACHE_SECONDS) -> None:
        self.store = store
        self.ttl = ttl
        self._cache: dict[str, tuple[float, Principal]] = {}
        self._lock = threading.Lock()

    def cached(self, key: str | None) -> Principal | None:
        """The principal of a key verified less than ``ttl`` ago, without touching the store (or None)."""
        digest = _digest(key) if key else ""
        with self._lock:
            hit = self._cache.get(digest)
        if hit is not None and time.monotonic() - hit[0] < self.ttl:
            return hit[1]
        return None

    def authenticate(self, key: str | None) -> Principal:
        hit = self.cached(key)
        if hit is not None:
            return hit
        digest = _digest(key) if key else ""
        principal = authenticate(self.store, key)
        with self._lock:
            self._cache[digest] = (time.monotonic(), principal)
        return principal

    def forget(self, key_id: str | None = None) -> None:
        with self._lock:
            if key_id is None:
                self._cache.clear()
            else:
                self._cache = {d: v for d, v in self._cache.items() if v[1].key_id != key_id}


def bearer_token(header: str | None) -> str | None:
    """The key from an ``Authorization: Bearer <key>`` header value."""
    if not header:
        return None
    kind, _, token = header.partition(" ")
    return token.strip() if kind.lower() == "bearer" and token.strip() else None
