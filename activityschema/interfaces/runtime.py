"""What one server process owns: the store (its only writer), the context cache, query tickets,
the key ring, metrics, and the background jobs that keep memory fresh.

**One process owns the DuckDB file.** DuckDB allows one writing process, so ``activityschema serve``
or ``activityschema mcp`` opens the store and every write goes through it (HTTP, MCP, the loader);
other processes send events to the server or append to the spool. Inside the process, writes are
serialized by the store and concurrent submissions share merges (``ingest/group_commit.py``).

Freshness: every write path that loads events calls ``notify_touched`` (the cache marks those
contexts stale and rebuilds them in the background). As a safety net for writers that do not (an
in-process loader), a poller reads new ``load_batches`` every ``TOUCH_POLL_SECONDS`` and does the same.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from ..analytics.tickets import QueryTickets
from ..governance.access import KeyRing
from ..governance.audit_trail import AuditTrail
from ..ingest.group_commit import GroupCommitter
from ..ingest.merge import LoadReport
from ..memory.atoms import purge_expired
from ..memory.cache import ContextCache
from ..settings import resolve
from ..store.duckdb import DuckDBStore
from .metrics import Metrics

log = logging.getLogger(__name__)

TOUCH_POLL_SECONDS = 1.0
# Read-your-writes for queued ingestion: a context read for a customer whose events this process
# queued and the loader has not reported yet waits for them, at most this long.
QUEUED_READ_WAIT_SECONDS = 2.0
QUEUED_READ_POLL_SECONDS = 0.01
QUEUED_PRUNE_AT = 10_000
TOUCH_POLL_OVERLAP_SECONDS = 60.0
ATOM_PURGE_SECONDS = 60.0
# Requests make their own audit entries durable (the journal); this timer chains the journal into the
# audit log and catches entries queued outside a request.
AUDIT_FLUSH_SECONDS = 1.0

# load_batches.finished_at comes from the database clock, so the window is computed there too.
NEW_BATCHES_SQL = """
SELECT batch_id FROM load_batches
WHERE finished_at >= current_timestamp::TIMESTAMP - to_seconds(CAST($overlap AS DOUBLE))
"""
BATCH_ACTORS_SQL = "SELECT DISTINCT actor FROM touched_actors WHERE batch_id IN (SELECT unnest($batches))"
STALE_AT_START_SQL = """
SELECT DISTINCT t.actor
FROM touched_actors t JOIN context_cache c ON c.customer_id = t.actor
WHERE t.touched_at >= c.updated_at
"""


class Runtime:
    """The shared state of a server process (see the module docstring)."""

    def __init__(self, store: DuckDBStore, *, env: Mapping[str, str] | None = None,
                 max_staleness: float | None = None, background: bool = True, own_store: bool = False) -> None:
        self.store = store
        self.own_store = own_store
        # DuckDB draws a progress bar on stdout for long queries; over MCP stdio, stdout is the protocol's.
        # Set on the store's connection, it holds for every cursor taken from it afterwards.
        if not store.read_only:
            with store.write() as con:
                con.execute("SET enable_progress_bar = false")
        self.started_at = time.time()
        self.max_body_bytes = int(resolve("http_max_body_bytes", env=env))
        self.max_batch = int(resolve("http_max_batch", env=env))
        self.loader_nice = int(resolve("loader_nice", env=env))
        self.metrics = Metrics()
        self._register_metrics()
        self.contexts = ContextCache(store, max_staleness=float(resolve("context_max_staleness", max_staleness, env)),
                                     background=background)
        self.keys = KeyRing(store)
        audit_sync = float(resolve("audit_sync_ms", env=env)) / 1000 if background else 0.0
        self.audit = AuditTrail(store, sync_seconds=audit_sync)
        self.audit.prepare()
        self.tickets = QueryTickets(store, observe=self.observe_query)
        self.committer = GroupCommitter(store, on_loaded=self._on_loaded)
        self.loader: Any = None  # an in-process loader (issue 3) when one is attached
        self.spooler: Any = None  # the ActivityLogger that queues server writes while a loader runs
        self._queued: dict[str, float] = {}  # actor -> when this process last queued an event of it
        self._queued_lock = threading.Lock()
        self._seen_batches: dict[str, float] = {}  # batch id -> when first seen (monotonic)
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        if background:
            self._invalidate_stale_at_start()
            self._spawn("touch-poller", self._poll_loop, TOUCH_POLL_SECONDS)
            self._spawn("atom-purger", self.purge_expired_atoms, ATOM_PURGE_SECONDS)
            self._spawn("audit-flusher", self.flush_audit, AUDIT_FLUSH_SECONDS)
            if audit_sync:
                self._spawn("audit-syncer", self.audit.sync_pending, audit_sync)

    @classmethod
    def open(cls, db: str | None = None, *, env: Mapping[str, str] | None = None, **kwargs: Any) -> Runtime:
        return cls(DuckDBStore(str(resolve("db", db, env))), env=env, own_store=True, **kwargs)

    # -- writes -----------------------------------------------------------------------------------
    def log_events(self, records: Sequence[Any], *, source: str, wait: bool = False) -> LoadReport:
        """The one ingestion sink of the servers; every acknowledged record is durable on return.

        While this process runs the loader, records are validated here and queued on the spool
        (``accepted`` = fsynced to the spool; the loader resolves duplicates and conflicts): see
        ``ingest/queued.py``. With ``wait`` (or without a loader) they are merged into the store before
        the answer (group commit), so statuses are final, ``duplicate`` included."""
        if wait or self.spooler is None:
            return self.committer.submit(records, source=source)
        from ..ingest.queued import accepted_actors, queue_records

        report = queue_records(self.spooler, records, source=source,
                               reject=lambda bad: self.committer.submit(bad, source=source))
        actors = accepted_actors(records, report)
        now = time.monotonic()
        with self._queued_lock:
            self._queued.update(dict.fromkeys(actors, now))
        return report

    def await_queued(self, actor: str, timeout: float = QUEUED_READ_WAIT_SECONDS) -> None:
        """Wait (bounded) until the loader has reported the events this process queued for ``actor``,
        so a context read after ``log_event`` sees them."""
        deadline = time.monotonic() + timeout
        while self.has_queued(actor) and time.monotonic() < deadline:
            if self.spooler is None or not self.spooler.backlog().pending_bytes:
                with self._queued_lock:
                    self._queued.pop(actor, None)
                return
            if self.loader is not None:
                self.loader.nudge()  # no linger when someone waits for these events
            time.sleep(QUEUED_READ_POLL_SECONDS)

    def has_queued(self, actor: str) -> bool:
        """Whether this process queued events of ``actor`` that the loader has not reported yet."""
        return actor in self._queued

    @property
    def queued_ingest(self) -> bool:
        """Whether writes without ``wait`` are queued on the spool (a loader runs in this process)."""
        return self.spooler is not None

    def _on_loaded(self, report: LoadReport) -> None:
        self.metrics.inc("activityschema_events_ingested_total", report.accepted)
        self.metrics.inc("activityschema_events_duplicate_total", report.duplicate)
        self.metrics.inc("activityschema_events_rejected_total", report.rejected)
        self._seen_batches[report.batch_id] = time.monotonic()
        self.notify_touched(report.touched_actors)

    def notify_touched(self, actors: Iterable[str]) -> None:
        """New events (or atoms) for these customers: their contexts are stale from now on."""
        self.contexts.invalidate(actors)

    def forget_customers(self, actors: Iterable[str]) -> None:
        """An erasure removed these actors: drop them from the in-memory context cache at once."""
        self.contexts.drop(actors)

    def flush_audit(self) -> int:
        """Every audit entry recorded so far into the hash chain (the timer, shutdown, tests).
        Requests call ``audit.flush`` instead: durable in the journal, chained by this timer."""
        return self.audit.flush_and_absorb()

    def count_refused(self, n: int) -> None:
        """Records refused before reaching the store (out of a key's row scope)."""
        self.metrics.inc("activityschema_events_rejected_total", n)

    def observe_query(self, template: str, seconds: float) -> None:
        self.metrics.observe("activityschema_query_duration_seconds", seconds, template=template)

    def purge_expired_atoms(self) -> int:
        count, customers = purge_expired(self.store)
        if customers:
            self.notify_touched(customers)
        return count

    # -- the safety-net poller ------------------------------------------------------------------------
    def _invalidate_stale_at_start(self) -> None:
        """Contexts built before events loaded while no server ran (an offline import) are stale."""
        actors = [r[0] for r in self.store.fetchall(STALE_AT_START_SQL)]
        if actors:
            self.notify_touched(actors)

    def poll_touched(self) -> int:
        """Invalidate the customers of batches loaded by someone else since the last poll."""
        rows = self.store.fetchall(NEW_BATCHES_SQL, {"overlap": TOUCH_POLL_OVERLAP_SECONDS})
        now = time.monotonic()
        new = [r[0] for r in rows if r[0] not in self._seen_batches]
        for batch in new:
            self._seen_batches[batch] = now
        horizon = now - 3 * TOUCH_POLL_OVERLAP_SECONDS
        self._seen_batches = {b: t for b, t in self._seen_batches.items() if t >= horizon}
        if not new:
            return 0
        actors = [r[0] for r in self.store.fetchall(BATCH_ACTORS_SQL, {"batches": new})]
        self.notify_touched(actors)
        return len(actors)

    def _poll_loop(self) -> None:
        self.poll_touched()

    def _spawn(self, name: str, job: Any, every: float) -> None:
        def loop() -> None:
            while not self._stop.wait(every):
                try:
                    job()
                except Exception:
                    log.exception("%s failed; retrying", name)

        thread = threading.Thread(target=loop, name=name, daemon=True)
        thread.start()
        self._threads.append(thread)

    def warm_contexts_in_background(self) -> None:
        """Load stored contexts into memory (up to the cache's bound) without delaying start-up."""
        def warm() -> None:
            try:
                log.info("context cache warmed: %d contexts", self.contexts.warm())
            except Exception:
                log.exception("warming the context cache failed; contexts load on first read instead")

        thread = threading.Thread(target=warm, name="context-warmer", daemon=True)
        thread.start()
        self._threads.append(thread)

    def start_loader(self) -> bool:
        """Run the spool loader in this process when it is installed (issue 3); it reports the
        actors each batch touched through ``refresh_contexts``/``load_batches``, which the poller
        turns into context refreshes. Returns whether a loader runs."""
        try:
            from ..ingest.loader import Loader, lower_engine_threads, lower_thread  # type: ignore[import-not-found]
        except ImportError:
            log.info("no spool loader installed: events are written directly to the store")
            return False
        try:
            # Requests first: under CPU contention the loader's merges take what is left.
            self.loader = Loader(self.store, nice=self.loader_nice)
            self.loader.add_listener(self._on_spool_loaded)
            self.loader.start()
            # Background work yields to requests: the merges' DuckDB workers, and the context
            # refresher that rebuilds the contexts each merge touched.
            lower_engine_threads(self.loader_nice)
            lower_thread(self.contexts.refresher_id, self.loader_nice)
        except Exception:
            log.exception("the spool loader could not start; events are written directly to the store")
            self.loader = None
            return False
        try:
            from ..ingest.logger import ActivityLogger

            # Same spool as the loader (next to the store); no store= so it starts no second loader.
            self.spooler = ActivityLogger(db=self.store.path)
        except Exception:
            log.exception("the spool logger could not start; events are written directly to the store")
            self.spooler = None
        return True

    def _on_spool_loaded(self, report: LoadReport) -> None:
        """A loader batch committed: count it and mark its customers' contexts stale."""
        horizon = time.monotonic() - 10 * QUEUED_READ_WAIT_SECONDS
        with self._queued_lock:
            for actor in report.touched_actors:
                self._queued.pop(actor, None)
            if len(self._queued) > QUEUED_PRUNE_AT:  # actors renamed by stitching are never reported
                self._queued = {a: t for a, t in self._queued.items() if t >= horizon}
        self._on_loaded(report)

    # -- metrics --------------------------------------------------------------------------------------------
    def _register_metrics(self) -> None:
        m = self.metrics
        m.counter("activityschema_events_ingested_total", "Events accepted into the store.")
        m.counter("activityschema_events_duplicate_total", "Events already stored (same activity_id and content).")
        m.counter("activityschema_events_rejected_total", "Events rejected (invalid, conflicting or out of scope).")
        m.counter("activityschema_http_requests_total", "HTTP requests by route and status.")
        m.counter("activityschema_mcp_tool_calls_total", "MCP tool calls by tool and outcome.")
        m.histogram("activityschema_query_duration_seconds", "Query latency by template or analysis.")
        m.gauge("activityschema_ingest_lag_seconds", "Age of the oldest event not yet loaded (0 without a spool).",
                self._ingest_lag)
        m.gauge("activityschema_context_refresh_pending", "Customer contexts waiting for a rebuild.",
                lambda: self.contexts.pending)
        m.gauge("activityschema_context_cache_entries", "Customer contexts held in memory.",
                lambda: len(self.contexts._entries))
        m.gauge("activityschema_uptime_seconds", "Seconds since the server started.",
                lambda: time.time() - self.started_at)

    def _ingest_lag(self) -> float:
        lag = getattr(self.loader, "lag_seconds", None)
        value = lag() if callable(lag) else lag
        return float(value or 0.0)

    def close(self) -> None:
        self._stop.set()
        if self.spooler is not None:
            self.spooler.close()  # flushes; the loader below loads what is left
        stop = getattr(self.loader, "stop", None)
        if callable(stop):
            stop(drain=True)
            if getattr(self.loader, "running", False):
                # Closing the store under a merge in progress would crash the process: let the
                # loader finish the batch it is merging; the rest stays in the spool (durable) and
                # is loaded at the next start.
                log.warning("the loader has not drained the spool in time; it stops after its current "
                            "batch and the rest is loaded at the next start")
                stop(timeout=None)
        for thread in self._threads:
            thread.join(timeout=5)
        self.tickets.close()
        self.contexts.close()
        try:
            self.flush_audit()
        except Exception:
            log.exception("flushing the audit log at shutdown failed")
        if self.own_store:
            self.store.close()
