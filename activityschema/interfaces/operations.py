"""The operations the servers offer, shared by MCP tools and HTTP routes.

Each takes the runtime, the calling principal and plain arguments, checks the principal's scope,
calls the library and returns JSON-ready data. Nothing here knows about MCP or HTTP, so both
interfaces behave the same way by construction.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from ..analytics.runner import run_template
from ..errors import NotFoundError, PermissionDenied, ValidationError
from ..governance.access import Principal
from ..ingest.merge import LoadReport
from ..memory import atoms
from ..memory.truncate import check_max_bytes
from ..provenance import chain
from ..schema.jsonable import jsonable, size_of
from .audited import audited
from .runtime import Runtime

CONTEXT_MAX_BYTES_DEFAULT = 64 * 1024
RESULT_MAX_BYTES_DEFAULT = 256 * 1024
RESULT_MAX_BYTES_MAX = 16 * 1024 * 1024
PROVENANCE_RUNS_SHOWN = 20
OUT_OF_SCOPE_REASON = {"code": "out_of_scope", "field": "customer",
                       "message": "the record's customer is outside this key's row scope"}

# $label / $customers NULL: an unscoped caller sees every run and citing insight.
RUNS_SQL = ("SELECT run_at, run_by, row_count, duration_ms FROM provenance_runs WHERE query_hash = $hash "
            "AND (CAST($label AS VARCHAR) IS NULL OR run_by = $label) ORDER BY run_at DESC LIMIT $limit")
RUN_COUNT_SQL = ("SELECT count(*) FROM provenance_runs WHERE query_hash = $hash "
                 "AND (CAST($label AS VARCHAR) IS NULL OR run_by = $label)")
ATOMS_CITING_SQL = ("SELECT count(*) FROM insight_atoms WHERE provenance_query_hash = $hash "
                    "AND (CAST($customers AS VARCHAR[]) IS NULL OR list_contains($customers, customer_id))")
# A scoped key may explain a hash it ran itself, or one cited by an insight about its customers.
SCOPED_HASH_VISIBLE_SQL = """
SELECT EXISTS (SELECT 1 FROM provenance_runs WHERE query_hash = $hash AND run_by = $label)
    OR EXISTS (SELECT 1 FROM insight_atoms
               WHERE provenance_query_hash = $hash AND customer_id IN (SELECT unnest($customers)))
"""


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


# -- events ----------------------------------------------------------------------------------------
@audited("log_events")
def log_events(rt: Runtime, principal: Principal, records: list[Any], *, source: str,
               wait: bool = False) -> dict[str, Any]:
    """Ingest a batch; every record ends accepted, duplicate or rejected (with reasons).

    ``durability`` says what ``accepted`` means: ``spooled`` (queued durably; the loader merges it and
    resolves duplicates and conflicts later) or ``stored`` (merged; statuses final). ``wait`` asks for
    ``stored``. A scoped key's records for customers outside its scope are rejected (``out_of_scope``)
    and not stored."""
    principal.require("ingest")
    queued = rt.queued_ingest and not wait
    if principal.customers is None and principal.tenant is None:  # the common case: every record goes in, results already in input order
        report = rt.log_events(records, source=source, wait=wait) if records else LoadReport("", source, results=[])
        results = list(report.results or [])
    else:
        inside = [i for i, r in enumerate(records) if principal.may_write(r)]
        report = (rt.log_events([records[i] for i in inside], source=source, wait=wait) if inside
                  else LoadReport("", source, results=[]))
        results = [{}] * len(records)
        for position, result in zip(inside, report.results or [], strict=True):
            results[position] = {**result, "index": position}
        refused = 0
        for i, record in enumerate(records):
            if not results[i]:
                aid = record.get("activity_id") if isinstance(record, dict) else None
                results[i] = {"index": i, "status": "rejected", "activity_id": aid if isinstance(aid, str) else None,
                              "reasons": [OUT_OF_SCOPE_REASON]}
                refused += 1
        if refused:
            rt.count_refused(refused)
    counts = {"accepted": 0, "duplicate": 0, "rejected": 0}
    reasons: dict[str, int] = {}
    if report.accepted == len(results) == len(records):  # all accepted: nothing to count one by one
        counts["accepted"] = len(results)
    else:
        for r in results:  # one pass: counts and reasons
            counts[r["status"]] += 1
            for reason in r["reasons"] or ():
                reasons[reason["code"]] = reasons.get(reason["code"], 0) + 1
    # Queued results are built from plain strings; merged ones carry store values (UUIDs...).
    return {"batch_id": report.batch_id or None, "durability": "spooled" if queued else "stored",
            "submitted": len(records), **counts, "reasons": reasons,
            "results": results if queued else jsonable(results)}


@audited("log_event")
def log_event(rt: Runtime, principal: Principal, event: dict[str, Any], *, wait: bool = False) -> dict[str, Any]:
    """Log one event; durable when this returns (queued on the spool, or with ``wait`` stored).
    A rejected event is an error that lists its reasons."""
    principal.require("ingest")
    record = {k: v for k, v in event.items() if v is not None}
    record.setdefault("ts", _now().isoformat() + "Z")
    if not principal.may_write(record):
        raise PermissionDenied("The event is outside this key's row scope (its customer, or its "
                               "feature_json.tenant_id for a tenant key).", code="out_of_scope")
    outcome = log_events.__wrapped__(rt, principal, [record], source="mcp", wait=wait)  # type: ignore[attr-defined]
    result = outcome["results"][0]
    if result["status"] == "rejected":
        codes = ", ".join(r["code"] for r in result["reasons"])
        raise ValidationError(f"The event was rejected: {codes}. " + "; ".join(r["message"] for r in result["reasons"]),
                              code="event_rejected", details={"activity_id": result["activity_id"],
                                                              "reasons": result["reasons"]})
    return {"status": result["status"], "activity_id": result["activity_id"], "batch_id": outcome["batch_id"],
            "durability": outcome["durability"]}


# -- memory -------------------------------------------------------------------------------------------
@audited("get_context", subject="customer")
def get_context(rt: Runtime, principal: Principal, customer: str, *,
                max_bytes: int | None = CONTEXT_MAX_BYTES_DEFAULT) -> dict[str, Any]:
    principal.require("query")
    if max_bytes is not None:
        check_max_bytes(max_bytes)
    if rt.queued_ingest:
        rt.await_queued(customer)  # read your own queued writes
    return rt.contexts.get(customer, scope=principal.scope, max_bytes=max_bytes).to_dict()


def context_in_memory(rt: Runtime, customer: str) -> bool:
    """Whether ``get_context`` for ``customer`` answers without blocking: its context is servable from
    memory, none of its events wait in the spool, and the audit entry needs only a write. The MCP
    server then runs it on its event loop instead of a worker thread (two thread hand-offs fewer)."""
    return rt.audit.flush_is_quick and not rt.has_queued(customer) and rt.contexts.servable(customer)


@audited("log_insight", subject="customer")
def log_insight(rt: Runtime, principal: Principal, *, customer: str, subject: str, metric: str, value: Any,
                provenance_query_hash: str, ttl: float | None = None) -> dict[str, Any]:
    principal.require("ingest")
    atom = atoms.record_atom(rt.store, customer_id=customer, subject=subject, metric=metric, value=value,
                             provenance_query_hash=provenance_query_hash, ttl=ttl, created_by=principal.label,
                             scope=principal.scope)
    rt.notify_touched([atom.customer_id])
    return atom.to_dict()


@audited("get_insights", subject="customer")
def get_insights(rt: Runtime, principal: Principal, customer: str, *, subject: str | None = None,
                 metric: str | None = None, history: bool = False,
                 limit: int = atoms.HISTORY_LIMIT_DEFAULT) -> dict[str, Any]:
    principal.require("query")
    if history:
        found = atoms.atom_history(rt.store, customer, subject=subject, metric=metric, limit=limit,
                                   scope=principal.scope)
    else:
        found = atoms.latest_atoms(rt.store, customer, subject=subject, metric=metric, scope=principal.scope)
    if not found:
        atoms.require_known_actor(rt.store, customer)
    return {"customer_id": customer, "mode": "history" if history else "latest",
            "insights": [a.to_dict() for a in found]}


@audited("purge_insights")
def purge_insights(rt: Runtime, principal: Principal) -> dict[str, Any]:
    principal.require("admin")
    return {"purged": rt.purge_expired_atoms()}


# -- queries ------------------------------------------------------------------------------------------------
def _check_result_bytes(max_bytes: int | None) -> int:
    if max_bytes is None:
        return RESULT_MAX_BYTES_DEFAULT
    if isinstance(max_bytes, bool) or not isinstance(max_bytes, int) or not 2 <= max_bytes <= RESULT_MAX_BYTES_MAX:
        raise ValidationError(f"max_bytes must be an integer from 2 to {RESULT_MAX_BYTES_MAX}, got {max_bytes!r}.",
                              code="invalid_max_bytes")
    return max_bytes


def cap_rows(rows: list[dict[str, Any]], max_bytes: int, max_rows: int | None = None) -> tuple[list[Any], bool]:
    """The leading rows whose JSON array fits in ``max_bytes`` (whole rows only) and at most ``max_rows``."""
    kept, used = [], 2
    for i, row in enumerate(rows):
        if max_rows is not None and i >= max_rows:
            return kept, True
        safe = jsonable(row)
        used += size_of(safe) + (1 if kept else 0)
        if used > max_bytes:
            return kept, True
        kept.append(safe)
    return kept, False


@audited("query", template="template")
def run_query(rt: Runtime, principal: Principal, template: str, params: dict[str, Any] | None, *,
              max_bytes: int | None = None, max_rows: int | None = None) -> dict[str, Any]:
    """Run a named template now and return its rows (capped) with the query hash."""
    principal.require("query")
    limit = _check_result_bytes(max_bytes)
    started = time.perf_counter()
    result = run_template(rt.store, template, params or {}, created_by=principal.label, scope=principal.scope)
    rt.observe_query(result.template, time.perf_counter() - started)
    rows, truncated = cap_rows(result.rows(), limit, max_rows)
    return {"template": result.template, "query_hash": result.query_hash, "params": jsonable(result.params),
            "row_count": result.table.num_rows, "rows": rows, "truncated": truncated,
            "provenance_collision": result.collision}


@audited("submit_query", template="template")
def submit_query(rt: Runtime, principal: Principal, template: str, params: dict[str, Any] | None, *,
                 client_request_id: str | None = None) -> dict[str, Any]:
    principal.require("query")
    ticket = rt.tickets.submit(template, params, owner=principal.label, scope=principal.scope,
                               client_request_id=client_request_id)
    return ticket.summary()


@audited("query_result")
def get_query_result(rt: Runtime, principal: Principal, ticket_id: str, *, max_bytes: int | None = None,
                     max_rows: int | None = None, wait_seconds: float = 0.0) -> dict[str, Any]:
    principal.require("query")
    limit = _check_result_bytes(max_bytes)
    ticket = rt.tickets.get(ticket_id, owner=principal.label, wait_seconds=min(max(wait_seconds, 0.0), 30.0))
    out: dict[str, Any] = {**ticket.summary(), "query_hash": None, "row_count": None, "rows": [], "truncated": False,
                           "error": ticket.error}
    if ticket.status == "done" and ticket.result is not None:
        rows, truncated = cap_rows(ticket.result.rows(), limit, max_rows)
        out.update(query_hash=ticket.result.query_hash, row_count=ticket.result.table.num_rows, rows=rows,
                   truncated=truncated)
    return out


@audited("explain_provenance")
def explain_provenance(rt: Runtime, principal: Principal, query_hash: str) -> dict[str, Any]:
    """Which template and parameters produced a hash, when it ran, and which insights cite it.
    (Parameters can name customers, so a scoped key sees only hashes it ran or its insights cite.)"""
    principal.require("query")
    if not isinstance(query_hash, str) or not query_hash:
        raise ValidationError("query_hash must be a non-empty string.", code="invalid_query_hash")
    if principal.customers is not None:
        visible = rt.store.fetchone(SCOPED_HASH_VISIBLE_SQL, {"hash": query_hash, "label": principal.label,
                                                              "customers": sorted(principal.customers)})
        if not (visible and visible[0]):  # the same answer as an unknown hash: nothing leaks
            raise NotFoundError(f"No query with hash '{query_hash}' is recorded in the provenance chain.",
                                code="unknown_query_hash")
    entry = chain.lookup(rt.store, query_hash)
    # Other callers' runs (their row counts) and insights about other customers are not a scoped key's to see.
    own = {"label": principal.label if principal.customers is not None else None,
           "customers": sorted(principal.customers) if principal.customers is not None else None}
    runs = rt.store.fetch_dicts(RUNS_SQL, {"hash": query_hash, "limit": PROVENANCE_RUNS_SHOWN, "label": own["label"]})
    run_count = rt.store.fetchone(RUN_COUNT_SQL, {"hash": query_hash, "label": own["label"]})
    citing = rt.store.fetchone(ATOMS_CITING_SQL, {"hash": query_hash, "customers": own["customers"]})
    return {**jsonable(entry.to_dict()), "run_count": int(run_count[0]) if run_count else 0,
            "recent_runs": jsonable(runs), "atoms_citing": int(citing[0]) if citing else 0}


@audited("list_activities")
def list_activities(rt: Runtime, principal: Principal) -> dict[str, Any]:
    """The activity catalog: the quality module's when it is installed and the key is unscoped,
    otherwise the built-in ``activity_catalog`` template (which honours the key's row scope)."""
    principal.require("query")
    if principal.customers is None:
        try:
            from ..quality.catalog import list_activities as quality_catalog  # type: ignore[import-not-found]
        except ImportError:
            pass
        else:
            return {"source": "catalog", "activities": jsonable(quality_catalog(rt.store))}
    result = run_template(rt.store, "activity_catalog", {}, created_by=principal.label, scope=principal.scope)
    return {"source": "activities", "query_hash": result.query_hash, "activities": jsonable(result.rows())}
