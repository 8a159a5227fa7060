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
  (``ConflictError``): optimistic concurrency (``write_context``). ``refresh_contexts`` builds and
  writes each batch inside one write transaction, so its version checks cannot race.
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
from ..schema.jsonable import dumps, parse_json_text
from ..store.duckdb import DuckDBStore
from .atoms import utc_now
from .scope import check_customer_id, ensure_in_scope

RECENT_ACTIVITIES_DEFAULT = 10
FEATURE_IN_CONTEXT_MAX_BYTES = 1024
REFRESH_CHUNK = 5000

ACTOR_SQL = "coalesce(customer, anonymous_customer_id)"


def _iso(column: str) -> str:
    """SQL writing a timestamp as Python's ``isoformat()`` does (fraction only when non-zero)."""
    return (f"(strftime({column}, '%Y-%m-%dT%H:%M:%S') || CASE WHEN epoch_us({column}) % 1000000 = 0 "
            f"THEN '' ELSE strftime({column}, '.%f') END)")


# The whole context is assembled by DuckDB (one statement for a batch of customers): building it in
# Python cost ~0.3 ms per customer, which throttled ingestion when every load refreshes contexts.
BUILD_SQL = f"""
WITH a AS (
    SELECT {ACTOR_SQL} AS actor, activity_id, activity, ts, revenue_impact, link, feature_json
    FROM activities
    WHERE {ACTOR_SQL} IN (SELECT unnest($actors))
), summary AS (
    SELECT actor, min(ts) AS first_seen, max(ts) AS last_seen, count(*) AS events,
           CAST(coalesce(sum(revenue_impact), 0) AS DOUBLE) AS revenue
    FROM a GROUP BY actor
), per_activity AS (
    SELECT actor, to_json(map_from_entries(list(struct_pack(
               key := activity, value := json_object('count', events, 'last_ts', {_iso('last_ts')}))
           ORDER BY activity))) AS activities
    FROM (SELECT actor, activity, count(*) AS events, max(ts) AS last_ts FROM a GROUP BY actor, activity)
    GROUP BY actor
), recent AS (
    SELECT actor, to_json(list(json_object(
               'activity_id', activity_id, 'activity', activity, 'ts', {_iso('ts')},
               'revenue_impact', revenue_impact, 'link', link,
               'feature_json', CASE WHEN feature_json IS NULL THEN CAST('{{}}' AS JSON)
                                    WHEN strlen(CAST(feature_json AS VARCHAR)) > $feature_max
                                    THEN json_object('_omitted_bytes', strlen(CAST(feature_json AS VARCHAR)))
                                    ELSE feature_json END)
           ORDER BY ts DESC, activity_id DESC)) AS recent
    FROM (SELECT * FROM a
          QUALIFY row_number() OVER (PARTITION BY actor ORDER BY ts DESC, activity_id DESC) <= $recent)
    GROUP BY actor
), insights AS (
    SELECT customer_id AS actor, to_json(list(json_object(
               'atom_id', atom_id, 'subject', subject, 'metric', metric, 'value', value,
               'provenance_query_hash', provenance_query_hash, 'ts', {_iso('ts')}, 'ttl', ttl,
               'expires_at', {_iso('expires_at')})
           ORDER BY subject, metric)) AS insights
    FROM (SELECT * FROM insight_atoms
          WHERE customer_id IN (SELECT unnest($actors)) AND (expires_at IS NULL OR expires_at > $now)
          QUALIFY row_number() OVER (PARTITION BY customer_id, subject, metric ORDER BY ts DESC, atom_id DESC) = 1)
    GROUP BY customer_id
)
SELECT coalesce(s.actor, i.actor) AS actor,
       CAST(json_object(
           'customer_id', coalesce(s.actor, i.actor),
           'first_seen', {_iso('s.first_seen')}, 'last_seen', {_iso('s.last_seen')},
           'event_count', coalesce(s.events, 0), 'revenue_total', coalesce(s.revenue, CAST(0 AS DOUBLE)),
           'activities', coalesce(p.activities, CAST('{{}}' AS JSON)),
           'recent_activities', coalesce(r.recent, CAST('[]' AS JSON)),
           'insights', coalesce(i.insights, CAST('[]' AS JSON))) AS VARCHAR) AS text
FROM summary s
FULL OUTER JOIN insights i ON i.actor = s.actor
LEFT JOIN per_activity p ON p.actor = s.actor
LEFT JOIN recent r ON r.actor = s.actor
"""

BUILT_SQL = f"""
CREATE OR REPLACE TEMP TABLE _ctx_built AS
SELECT actor, text, substr(sha256(text), 1, 32) AS content_hash FROM ({BUILD_SQL})
"""

CHANGED_SQL = """
CREATE OR REPLACE TEMP TABLE _ctx_changed AS
SELECT b.actor, b.text, b.content_hash, coalesce(c.version, 0) + 1 AS version
FROM _ctx_built b LEFT JOIN context_cache c ON c.customer_id = b.actor
WHERE c._content_hash IS DISTINCT FROM b.content_hash
"""

APPLY_SQL = """
INSERT INTO context_cache
SELECT actor, text, CAST($now AS TIMESTAMP), version, content_hash FROM _ctx_changed
ON CONFLICT (customer_id) DO UPDATE SET
    context = excluded.context, updated_at = excluded.updated_at,
    version = excluded.version, _content_hash = excluded._content_hash
"""

# Actors of the chunk with nothing left to build (erased, or never had events or atoms): usually none,
# so the DELETE (which scans the cache table) runs only when there are some.
UNBUILT_SQL = "SELECT a FROM unnest($actors) t(a) WHERE a NOT IN (SELECT actor FROM _ctx_built)"
REMOVED_SQL = """
DELETE FROM context_cache WHERE customer_id IN (SELECT unnest($actors))
RETURNING customer_id
"""

CURRENT_SQL = """
SELECT customer_id, version, _content_hash FROM context_cache WHERE customer_id IN (SELECT unnest($actors))
"""

LOAD_SQL = ("SELECT customer_id, CAST(context AS VARCHAR), version, updated_at FROM context_cache "
            "WHERE customer_id = $actor")
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
def _build_params(actors: list[str], now: datetime, recent: int) -> dict[str, Any]:
    return {"actors": actors, "now": now, "recent": recent, "feature_max": FEATURE_IN_CONTEXT_MAX_BYTES}


def build_contexts(store: DuckDBStore, actors: list[str], *, now: datetime,
                   recent: int = RECENT_ACTIVITIES_DEFAULT) -> dict[str, dict[str, Any] | None]:
    """Contexts for ``actors`` from the store (None for a customer with no events and no live atoms)."""
    out: dict[str, dict[str, Any] | None] = {a: None for a in actors}
    for actor, text in store.fetchall(BUILD_SQL, _build_params(actors, now, recent)):
        out[actor] = parse_json_text(text)
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
        rows: dict[str, list[Any]] = {key: [] for key in ("customer_id", "context", "updated_at", "version",
                                                          "_content_hash")}
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
    """Rebuild the contexts of ``actors`` (e.g. those a load touched) and tell the listeners.

    Each chunk is built and written in one transaction, so no other writer can move a version in
    between; a context whose content did not change keeps its version."""
    unique = list(dict.fromkeys(a for a in actors if a))
    total = RefreshReport()
    for start in range(0, len(unique), REFRESH_CHUNK):
        chunk = unique[start:start + REFRESH_CHUNK]
        when = now or utc_now()
        with store.write() as con:
            con.execute(BUILT_SQL, _build_params(chunk, when, RECENT_ACTIVITIES_DEFAULT))
            con.execute(CHANGED_SQL)
            changed = con.execute("SELECT actor, text, version FROM _ctx_changed").fetchall()
            built = con.execute("SELECT count(*) FROM _ctx_built").fetchone()
            if changed:
                con.execute(APPLY_SQL, {"now": when})
            unbuilt = [r[0] for r in con.execute(UNBUILT_SQL, {"actors": chunk}).fetchall()]
            removed = [r[0] for r in con.execute(REMOVED_SQL, {"actors": unbuilt}).fetchall()] if unbuilt else []
        updates: dict[str, StoredContext | None] = {a: StoredContext(a, t, int(v), when) for a, t, v in changed}
        updates.update({a: None for a in removed})
        total.written += len(changed)
        total.unchanged += (int(built[0]) if built else 0) - len(changed)
        total.removed += len(removed)
        total.updates.update(updates)
        _notify(store, updates)
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
