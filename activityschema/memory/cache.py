"""The in-process read cache of customer contexts, with stale-while-revalidate.

Reads are served from memory. Writers (ingest, atoms, the loader) call ``invalidate(actors)``: the
entries are marked stale and a background thread rebuilds them in batches (``refresh_contexts``),
which replaces the entries through the store's context listener. While an entry is stale, a read
returns it at once (``stale: true``) as long as it has been stale for at most ``max_staleness``
seconds (the ``context_max_staleness`` setting); past that, the read rebuilds it before answering.
So a reader never waits on a rebuild unless the data is older than the configured bound.

Entries hold the compact JSON text (smaller than parsed dicts, and every read gets its own copy);
at most ``max_entries`` are kept, least recently used first out. Expired insights are removed on
every read, even from a fresh entry.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ..analytics.runner import UNRESTRICTED, Scope
from ..errors import NotFoundError
from ..store.duckdb import DuckDBStore
from .atoms import utc_now
from .context import (
    StoredContext,
    drop_expired,
    load_context,
    load_contexts,
    refresh_contexts,
    register_context_listener,
)
from .scope import check_customer_id, ensure_in_scope
from .truncate import fit_context

log = logging.getLogger(__name__)

CACHE_MAX_ENTRIES_DEFAULT = 200_000
REFRESH_BATCH = 5000
# The refresher waits this long (at most a quarter of max_staleness) after a wake-up so that the
# customers touched by several loads in a row are rebuilt together: one scan instead of many.
REFRESH_DEBOUNCE_SECONDS = 0.25
REFRESH_RETRY_SECONDS = 1.0
MAX_STALENESS_DEFAULT = 5.0


@dataclass
class _Entry:
    stored: StoredContext
    nbytes: int
    earliest_expiry: str | None
    stale_since: float | None = None


@dataclass(frozen=True)
class ContextView:
    """What a read returns: the context and how fresh it is."""

    customer_id: str
    version: int
    updated_at: datetime
    context: dict[str, Any]
    stale: bool
    truncated: bool
    bytes: int

    def to_dict(self) -> dict[str, Any]:
        return {"customer_id": self.customer_id, "version": self.version, "updated_at": self.updated_at.isoformat(),
                "stale": self.stale, "truncated": self.truncated, "bytes": self.bytes, "context": self.context}


def _earliest_expiry(context: dict[str, Any]) -> str | None:
    stamps = [i["expires_at"] for i in context.get("insights") or () if i.get("expires_at")]
    return min(stamps) if stamps else None


class ContextCache:
    """Contexts of one store, served from memory (see the module docstring)."""

    def __init__(self, store: DuckDBStore, *, max_staleness: float = MAX_STALENESS_DEFAULT,
                 max_entries: int = CACHE_MAX_ENTRIES_DEFAULT, background: bool = True,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.store = store
        self.max_staleness = float(max_staleness)
        self.max_entries = max_entries
        self._clock = clock
        self._entries: OrderedDict[str, _Entry] = OrderedDict()
        self._lock = threading.Lock()
        self._dirty: dict[str, float] = {}  # customer -> when it was invalidated (clock)
        self._inflight: dict[str, float] = {}  # being rebuilt now (taken from _dirty)
        self._wake = threading.Event()
        self._closed = False
        self.stats = {"hits": 0, "stale_hits": 0, "misses": 0, "sync_refreshes": 0, "background_refreshes": 0}
        self._unregister = register_context_listener(store, self._on_update)
        self._thread: threading.Thread | None = None
        if background:
            self._thread = threading.Thread(target=self._run, name="context-refresher", daemon=True)
            self._thread.start()

    # -- reads ------------------------------------------------------------------------------------
    def get(self, customer_id: str, *, scope: Scope = UNRESTRICTED, max_bytes: int | None = None,
            now: datetime | None = None) -> ContextView:
        ensure_in_scope(scope, check_customer_id(customer_id))
        entry, stale = self._entry(customer_id)
        context = json.loads(entry.stored.text)
        nbytes = entry.nbytes
        stamp = (now or utc_now()).isoformat()
        if entry.earliest_expiry is not None and entry.earliest_expiry <= stamp:
            drop_expired(context, now or utc_now())
            self.invalidate([customer_id])
            nbytes = -1
        truncated = False
        if max_bytes is not None and (nbytes < 0 or nbytes > max_bytes):
            context, truncated, nbytes = fit_context(context, max_bytes)
        if nbytes < 0:
            nbytes = len(json.dumps(context, separators=(",", ":"), ensure_ascii=False).encode("utf-8"))
        stored = entry.stored
        return ContextView(customer_id, stored.version, stored.updated_at, context, stale, truncated, nbytes)

    def servable(self, customer_id: str) -> bool:
        """Whether ``get`` would answer from memory at once (fresh, or stale within max_staleness),
        without a store read or a rebuild."""
        with self._lock:
            entry = self._entries.get(customer_id)
        return entry is not None and (entry.stale_since is None or self._stale_servable(entry))

    def _stale_servable(self, entry: _Entry) -> bool:
        """A stale entry may still be served (stale-while-revalidate) for ``max_staleness`` seconds."""
        return entry.stale_since is not None and self._clock() - entry.stale_since <= self.max_staleness

    def _entry(self, customer_id: str) -> tuple[_Entry, bool]:
        with self._lock:
            entry = self._entries.get(customer_id)
            if entry is not None:
                self._entries.move_to_end(customer_id)
        if entry is None:
            self.stats["misses"] += 1
            stored = load_context(self.store, customer_id)
            entry = self._put(stored) if stored is not None else None
        if entry is not None:
            if entry.stale_since is None:
                self.stats["hits"] += 1
                return entry, False
            if self._stale_servable(entry):
                self.stats["stale_hits"] += 1
                self._wake.set()
                return entry, True
        self.stats["sync_refreshes"] += 1
        self._rebuild([customer_id])
        with self._lock:
            entry = self._entries.get(customer_id)
        if entry is None or entry.stale_since is not None:
            stored = load_context(self.store, customer_id)
            if stored is None:
                raise NotFoundError(f"Unknown customer '{customer_id}': it has no activities or insights.",
                                    code="unknown_customer")
            entry = self._put(stored)
        return entry, False

    def _put(self, stored: StoredContext) -> _Entry:
        entry = _Entry(stored, len(stored.text.encode("utf-8")), _earliest_expiry(json.loads(stored.text)))
        with self._lock:
            current = self._entries.get(stored.customer_id)
            if current is not None and current.stored.version > stored.version:
                return current  # a newer version arrived meanwhile
            # A row read while its rebuild is pending or running may predate the new events.
            entry.stale_since = self._dirty.get(stored.customer_id, self._inflight.get(stored.customer_id))
            self._entries[stored.customer_id] = entry
            self._entries.move_to_end(stored.customer_id)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)
        return entry

    def warm(self, limit: int | None = None) -> int:
        """Load stored contexts into memory (up to ``limit``, default ``max_entries``)."""
        rows = load_contexts(self.store, min(limit or self.max_entries, self.max_entries))
        for stored in rows:
            self._put(stored)
        return len(rows)

    # -- invalidation and the background refresher --------------------------------------------------------
    def invalidate(self, actors: Iterable[str]) -> None:
        """Mark these customers' contexts stale and queue their rebuild."""
        now = self._clock()
        with self._lock:
            for actor in actors:
                entry = self._entries.get(actor)
                if entry is not None and entry.stale_since is None:
                    entry.stale_since = now
                self._dirty.setdefault(actor, now)
        self._wake.set()

    def drop(self, actors: Iterable[str]) -> None:
        """Forget these customers entirely (after an erasure): no cached context, no queued rebuild."""
        with self._lock:
            for actor in actors:
                self._entries.pop(actor, None)
                self._dirty.pop(actor, None)

    @property
    def pending(self) -> int:
        return len(self._dirty)

    def _on_update(self, updates: dict[str, StoredContext | None]) -> None:
        """Listener: a committed rebuild replaces cached content (its stale mark stays until the
        rebuild that cleared it finishes, see ``_rebuild``)."""
        with self._lock:
            for actor, stored in updates.items():
                current = self._entries.get(actor)
                if stored is None:
                    self._entries.pop(actor, None)
                elif current is not None and current.stored.version <= stored.version:
                    expiry = _earliest_expiry(json.loads(stored.text))
                    self._entries[actor] = _Entry(stored, len(stored.text.encode("utf-8")), expiry, current.stale_since)

    def _rebuild(self, actors: list[str]) -> None:
        now = self._clock()
        with self._lock:
            taken = {a: self._dirty.pop(a, now) for a in actors}
            self._inflight.update(taken)
        try:
            refresh_contexts(self.store, actors)
        except Exception:
            with self._lock:
                for actor, since in taken.items():
                    self._dirty.setdefault(actor, since)
            raise
        finally:
            with self._lock:
                for actor in actors:
                    self._inflight.pop(actor, None)
        with self._lock:
            for actor in actors:
                entry = self._entries.get(actor)
                if entry is not None and actor not in self._dirty:
                    entry.stale_since = None  # nothing changed since this rebuild started

    @property
    def refresher_id(self) -> int | None:
        """The native id of the background refresher thread (None without one)."""
        return self._thread.native_id if self._thread is not None else None

    def refresh_pending(self) -> int:
        """Rebuild every queued customer now (the background thread calls this; so can tests)."""
        done = 0
        while True:
            with self._lock:
                batch = list(self._dirty)[:REFRESH_BATCH]
            if not batch:
                return done
            self._rebuild(batch)
            self.stats["background_refreshes"] += len(batch)
            done += len(batch)

    def _run(self) -> None:
        while not self._closed:
            self._wake.wait()
            if self._closed:
                return
            time.sleep(min(REFRESH_DEBOUNCE_SECONDS, self.max_staleness / 4))
            self._wake.clear()
            try:
                self.refresh_pending()
            except Exception:  # keep serving; retry the batch later
                log.exception("context refresh failed; retrying in %.1fs", REFRESH_RETRY_SECONDS)
                time.sleep(REFRESH_RETRY_SECONDS)
                self._wake.set()

    def close(self) -> None:
        self._closed = True
        self._wake.set()
        self._unregister()
        if self._thread is not None:
            self._thread.join(timeout=5)
