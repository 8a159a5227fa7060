"""The per-customer context: a small JSON summary an agent can read in one call (SEMANTICS §8).

One row per customer (actor) in ``context_cache``: ``context`` (JSON), ``updated_at``, ``version``.
The context is built from the customer's activities and live insight atoms:

    {"customer_id", "first_seen", "last_seen", "event_count", "revenue_total",
     "activities": {activity: {"count", "last_ts"}},            # every activity it did
     "recent_activities": [{activity_id, activity, ts, revenue_impact, link, feature_json}],
     "insights": [{atom_id, subject, metric, value, provenance_query_hash, ts, ttl, expires_at}]}

Rules:
- ``version`` starts at 1 and grows by one on every change; a rebuild that changes nothing leaves
  it alone. A writer states the version it read; if the stored version differs the write fails
  (``ConflictError``): optimistic concurrency. ``refresh_contexts`` retries its own conflicts.
- ``refresh_contexts(store, actors)`` rebuilds exactly the given customers (what the loader calls
  with the actors a batch touched) and tells in-process listeners (the read cache) what changed.
- ``recent_activities`` holds the newest ``RECENT_ACTIVITIES_DEFAULT`` events, newest first; a
  ``feature_json`` larger than ``FEATURE_IN_CONTEXT_MAX_BYTES`` is replaced by
  ``{"_omitted_bytes": n}`` so one big event cannot crowd out the rest.
- ``insights`` holds the latest live atom per (subject, metric); expired atoms are dropped again on
  every read (``drop_expired``), so a cached context never shows one.
"""

from __future__ import annotations

import hashlib
import weakref
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pyarrow as pa

from ..analytics.runner import UNRESTRICTED, Scope
from ..errors import ConflictError, NotFoundError
from ..schema.jsonable import dumps, jsonable, parse_json_text
from ..store.duckdb import DuckDBStore
from .atoms import latest_atoms_for, utc_now
from .scope import check_customer_id, ensure_in_scope

RECENT_ACTIVITIES_DEFAULT = 10
FEATURE_IN_CONTEXT_MAX_BYTES = 1024
REFRESH_CHUNK = 5000
REFRESH_MAX_ATTEMPTS = 3

ACTOR_SQL = "coalesce(customer, anonymous_customer_id)"

SUMMARY_SQL = f"""
SELECT {ACTOR_SQL} AS actor, min(ts), max(ts), count(*), sum(revenue_impact)
FROM activities
WHERE {ACTOR_SQL} IN (SELECT unnest($actors))
GROUP BY actor
"""

PER_ACTIVITY_SQL = f"""
SELECT {ACTOR_SQL} AS actor, activity, count(*), max(ts)
FROM activities
WHERE {ACTOR_SQL} IN (SELECT unnest($actors))
GROUP BY actor, activity
ORDER BY actor, activity
"""

RECENT_SQL = f"""
SELECT {ACTOR_SQL} AS actor, activity_id, activity, ts, revenue_impact, link, CAST(feature_json AS VARCHAR)
FROM activities
WHERE {ACTOR_SQL} IN (SELECT unnest($actors))
QUALIFY row_number() OVER (PARTITION BY actor ORDER BY ts DESC, activity_id DESC) <= $recent
ORDER BY actor, ts DESC, activity_id DESC
"""

CURRENT_SQL = """
SELECT customer_id, version, _content_hash FROM context_cache WHERE customer_id IN (SELECT unnest($actors))
"""

LOAD_SQL = "SELECT customer_id, CAST(context AS VARCHAR), version, updated_at FROM context_cache WHERE customer_id = $actor"
LOAD_MANY_SQL = ("SELECT customer_id, CAST(context AS VARCHAR), version, updated_at FROM context_cache "
                 "ORDER BY customer_id LIMIT $limit")

UPSERT_SQL = """
INSERT INTO context_cache
SELECT customer_id, context, updated_at, version, _content_hash FROM _ctx_new
ON CONFLICT (customer_id) DO UPDATE SET
    context = excluded.context, updated_at = excluded.updated_at,
    version = excluded.version, _content_hash = excluded._content_hash
"""
DELETE_SQL = "DELETE FROM context_cache WHERE customer_id IN (SELECT unnest($actors))"


@dataclass(frozen=True)
class StoredContext:
    """One stored context: its JSON text (compact), version and update time."""

    customer_id: str
    text: str
    version: int
    updated_at: datetime


@dataclass
class RefreshReport:
    written: int = 0
    unchanged: int = 0
    removed: int = 0
    retries: int = 0
    updates: dict[str, StoredContext | None] = field(default_factory=dict)


# -- listeners (the in-process read cache) -----------------------------------------------------
Listener = Callable[[dict[str, StoredContext | None]], None]
_LISTENERS: weakref.WeakKeyDictionary[DuckDBStore, list[Listener]] = weakref.WeakKeyDictionary()


def register_context_listener(store: DuckDBStore, listener: Listener) -> Callable[[], None]:
    """Call ``listener(updates)`` after every committed context change of ``store``; returns an
    unregister function. ``updates`` maps a customer to its new stored context (None: removed)."""
    _LISTENERS.setdefault(store, []).append(listener)

    def unregister() -> None:
        listeners = _LISTENERS.get(store, [])
        if listener in listeners:
            listeners.remove(listener)

    return unregister


def _notify(store: DuckDBStore, updates: dict[str, StoredContext | None]) -> None:
    if updates:
        for listener in list(_LISTENERS.get(store, ())):
            listener(updates)


# -- building ------------------------------------------------------------------------------------
def _feature(text: str | None) -> Any:
    if text is None:
        return {}
    size = len(text.encode("utf-8"))
    if size > FEATURE_IN_CONTEXT_MAX_BYTES:
        return {"_omitted_bytes": size}
    return parse_json_text(text)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def build_contexts(store: DuckDBStore, actors: list[str], *, now: datetime,
                   recent: int = RECENT_ACTIVITIES_DEFAULT) -> dict[str, dict[str, Any] | None]:
    """Contexts for ``actors`` from the store (None for a customer with no events and no live atoms)."""
    params = {"actors": actors}
    out: dict[str, dict[str, Any] | None] = {a: None for a in actors}
    for actor, first, last, count, revenue in store.fetchall(SUMMARY_SQL, params):
        out[actor] = {"customer_id": actor, "first_seen": _iso(first), "last_seen": _iso(last),
                      "event_count": int(count), "revenue_total": jsonable(revenue) or 0.0,
                      "activities": {}, "recent_activities": [], "insights": []}
    for actor, activity, count, last in store.fetchall(PER_ACTIVITY_SQL, params):
        ctx = out[actor]
        if ctx is not None:
            ctx["activities"][activity] = {"count": int(count), "last_ts": _iso(last)}
    for actor, aid, activity, ts, revenue, link, feature in store.fetchall(RECENT_SQL, {**params, "recent": recent}):
        ctx = out[actor]
        if ctx is not None:
            ctx["recent_activities"].append({"activity_id": aid, "activity": activity, "ts": _iso(ts),
                                             "revenue_impact": jsonable(revenue), "link": link,
                                             "feature_json": _feature(feature)})
    for actor, atoms in latest_atoms_for(store, actors, now).items():
        ctx = out.get(actor)
        if ctx is None:
            ctx = out[actor] = {"customer_id": actor, "first_seen": None, "last_seen": None, "event_count": 0,
                                "revenue_total": 0.0, "activities": {}, "recent_activities": [], "insights": []}
        ctx["insights"] = [{k: v for k, v in a.to_dict().items() if k != "customer_id"} for a in atoms]
    return out


def _hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


# -- saving (optimistic concurrency) -----------------------------------------------------------------
def current_versions(store: DuckDBStore, actors: list[str]) -> dict[str, tuple[int, str | None]]:
    return {r[0]: (int(r[1]), r[2]) for r in store.fetchall(CURRENT_SQL, {"actors": actors})}


def save_contexts(store: DuckDBStore, built: dict[str, dict[str, Any] | None], expected: dict[str, int | None], *,
                  now: datetime) -> tuple[RefreshReport, list[str]]:
    """Write contexts whose stored version is still the one the caller read; return the report and
    the customers whose version moved meanwhile (conflicts, not written)."""
    report, conflicts = RefreshReport(), []
    actors = list(built)
    with store.write() as con:
        current = {r[0]: (int(r[1]), r[2]) for r in con.execute(CURRENT_SQL, {"actors": actors}).fetchall()}
        rows: dict[str, list[Any]] = {"customer_id": [], "context": [], "updated_at": [], "version": [], "_content_hash": []}
        removed: list[str] = []
        for actor, ctx in built.items():
            version, old_hash = current.get(actor, (None, None))
            if version != expected.get(actor):
                conflicts.append(actor)
                continue
            if ctx is None:
                if version is not None:
                    removed.append(actor)
                continue
            text = dumps(ctx)
            digest = _hash(text)
            if digest == old_hash:
                report.unchanged += 1
                continue
            new_version = (version or 0) + 1
            for key, value in zip(rows, (actor, text, now, new_version, digest), strict=True):
                rows[key].append(value)
            report.updates[actor] = StoredContext(actor, text, new_version, now)
        if rows["customer_id"]:
            table = pa.table({**rows, "updated_at": pa.array(rows["updated_at"], pa.timestamp("us")),
                              "version": pa.array(rows["version"], pa.int32())})
            con.register("_ctx_new", table)
            try:
                con.execute(UPSERT_SQL)
            finally:
                con.unregister("_ctx_new")
        if removed:
            con.execute(DELETE_SQL, {"actors": removed})
    report.written = len(rows["customer_id"])
    report.removed = len(removed)
    report.updates.update({a: None for a in removed})
    return report, conflicts


def write_context(store: DuckDBStore, customer_id: str, context: dict[str, Any], *, expected_version: int | None,
                  now: datetime | None = None) -> StoredContext:
    """Store one context if its stored version is still ``expected_version`` (None: no row yet)."""
    report, conflicts = save_contexts(store, {customer_id: context}, {customer_id: expected_version},
                                      now=now or utc_now())
    if conflicts:
        found = current_versions(store, [customer_id]).get(customer_id, (None, None))[0]
        raise ConflictError(f"Context of '{customer_id}' is at version {found}, not {expected_version}: "
                            "someone else changed it; read it again and retry.", code="version_conflict",
                            details={"expected_version": expected_version, "found_version": found})
    _notify(store, report.updates)
    stored = report.updates.get(customer_id)
    return stored if stored is not None else _require(load_context(store, customer_id), customer_id)


def _require(stored: StoredContext | None, customer_id: str) -> StoredContext:
    if stored is None:
        raise NotFoundError(f"Unknown customer '{customer_id}': it has no activities or insights.",
                            code="unknown_customer")
    return stored


def refresh_contexts(store: DuckDBStore, actors: Iterable[str], *, now: datetime | None = None) -> RefreshReport:
    """Rebuild the contexts of ``actors`` (e.g. those a load touched) and tell the listeners."""
    unique = list(dict.fromkeys(a for a in actors if a))
    total = RefreshReport()
    for start in range(0, len(unique), REFRESH_CHUNK):
        pending = unique[start:start + REFRESH_CHUNK]
        for attempt in range(REFRESH_MAX_ATTEMPTS):
            when = now or utc_now()
            expected = {a: v for a, (v, _) in current_versions(store, pending).items()}
            built = build_contexts(store, pending, now=when)
            report, pending = save_contexts(store, built, {a: expected.get(a) for a in built}, now=when)
            total.written += report.written
            total.unchanged += report.unchanged
            total.removed += report.removed
            total.retries += attempt
            total.updates.update(report.updates)
            _notify(store, report.updates)
            if not pending:
                break
        else:
            raise ConflictError(f"Contexts of {len(pending)} customers kept changing during refresh.",
                                code="version_conflict", details={"customers": pending[:20]})
    return total


# -- reading ------------------------------------------------------------------------------------------
def load_context(store: DuckDBStore, customer_id: str) -> StoredContext | None:
    row = store.fetchone(LOAD_SQL, {"actor": customer_id})
    return StoredContext(row[0], row[1], int(row[2]), row[3]) if row else None


def load_contexts(store: DuckDBStore, limit: int) -> list[StoredContext]:
    return [StoredContext(r[0], r[1], int(r[2]), r[3]) for r in store.fetchall(LOAD_MANY_SQL, {"limit": limit})]


def drop_expired(context: dict[str, Any], now: datetime) -> bool:
    """Remove insights whose ``expires_at`` has passed; return whether any was removed."""
    insights = context.get("insights") or []
    stamp = now.isoformat()
    live = [i for i in insights if not i.get("expires_at") or i["expires_at"] > stamp]
    if len(live) != len(insights):
        context["insights"] = live
        return True
    return False


def read_context(store: DuckDBStore, customer_id: str, *, scope: Scope = UNRESTRICTED,
                 now: datetime | None = None) -> tuple[StoredContext, dict[str, Any]]:
    """The stored context of a customer (built on first use), without the in-process cache."""
    ensure_in_scope(scope, check_customer_id(customer_id))
    stored = load_context(store, customer_id)
    if stored is None:
        refresh_contexts(store, [customer_id], now=now)
        stored = _require(load_context(store, customer_id), customer_id)
    context = parse_json_text(stored.text)
    drop_expired(context, now or utc_now())
    return stored, context
