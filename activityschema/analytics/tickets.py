"""Query tickets: submit a named template now, fetch its result later (MCP ``submit_query``).

- ``submit`` validates the template and parameters at once (a bad request fails immediately),
  then schedules exactly one execution; polling never runs the query again.
- A caller may pass ``client_request_id``: a retried submit with the same id (same caller) returns
  the original ticket instead of running the query twice.
- Only the caller that submitted a ticket can read it; tickets live in memory (they are answers
  in flight, not records) and the oldest finished ones are evicted past ``TICKETS_MAX``.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ..errors import ActivitySchemaError, NotFoundError, ValidationError
from ..sql.templates import get_template, validate_params
from ..store.duckdb import DuckDBStore
from .runner import UNRESTRICTED, QueryResult, Scope, execute

TICKET_WORKERS = 2
TICKETS_MAX = 1000
CLIENT_REQUEST_ID_MAX_LEN = 200

Observer = Callable[[str, float], None]


@dataclass
class Ticket:
    ticket_id: str
    owner: str
    template: str
    params: dict[str, Any]
    created_at: datetime
    status: str = "queued"
    result: QueryResult | None = None
    error: dict[str, Any] | None = None
    finished: threading.Event = field(default_factory=threading.Event)
    executions: int = 0

    def summary(self) -> dict[str, Any]:
        return {"ticket": self.ticket_id, "status": self.status, "template": self.template,
                "created_at": self.created_at.isoformat()}


class QueryTickets:
    """Run submitted template queries on a small worker pool (see the module docstring)."""

    def __init__(self, store: DuckDBStore, *, workers: int = TICKET_WORKERS, observe: Observer | None = None) -> None:
        self.store = store
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="query-ticket")
        self._tickets: OrderedDict[str, Ticket] = OrderedDict()
        self._by_request: dict[tuple[str, str], str] = {}
        self._lock = threading.Lock()
        self._observe = observe

    def submit(self, template_name: str, params: dict[str, Any] | None, *, owner: str, scope: Scope = UNRESTRICTED,
               client_request_id: str | None = None) -> Ticket:
        if client_request_id is not None and not (0 < len(client_request_id) <= CLIENT_REQUEST_ID_MAX_LEN):
            raise ValidationError(f"client_request_id must be 1 to {CLIENT_REQUEST_ID_MAX_LEN} characters.",
                                  code="invalid_client_request_id")
        template = get_template(template_name)
        validated = validate_params(template, params or {})
        with self._lock:
            if client_request_id is not None and (owner, client_request_id) in self._by_request:
                return self._tickets[self._by_request[(owner, client_request_id)]]
            ticket = Ticket(str(uuid.uuid4()), owner, template.name, validated.model_dump(mode="json"),
                            datetime.now(UTC).replace(tzinfo=None))
            self._tickets[ticket.ticket_id] = ticket
            if client_request_id is not None:
                self._by_request[(owner, client_request_id)] = ticket.ticket_id
            self._evict()
        self._pool.submit(self._run, ticket, validated, scope)
        return ticket

    def _run(self, ticket: Ticket, validated: Any, scope: Scope) -> None:
        ticket.status, ticket.executions = "running", ticket.executions + 1
        started = time.perf_counter()
        try:
            ticket.result = execute(self.store, get_template(ticket.template), validated, created_by=ticket.owner,
                                    scope=scope)
            ticket.status = "done"
        except ActivitySchemaError as exc:
            ticket.error, ticket.status = exc.to_dict(), "failed"
        except Exception:  # never leak internals through a ticket
            ticket.error = {"code": "internal_error", "message": "Internal error; see the server log.", "details": None}
            ticket.status = "failed"
            import logging

            logging.getLogger(__name__).exception("query ticket %s failed", ticket.ticket_id)
        finally:
            if self._observe is not None:
                self._observe(ticket.template, time.perf_counter() - started)
            ticket.finished.set()

    def get(self, ticket_id: str, *, owner: str, wait_seconds: float = 0.0) -> Ticket:
        with self._lock:
            ticket = self._tickets.get(ticket_id)
        if ticket is None or ticket.owner != owner:
            raise NotFoundError(f"No query ticket '{str(ticket_id)[:64]}' (tickets are kept in memory by the server "
                                "that issued them, for the caller that submitted them).", code="unknown_ticket")
        if wait_seconds > 0:
            ticket.finished.wait(wait_seconds)
        return ticket

    def _evict(self) -> None:
        while len(self._tickets) > TICKETS_MAX:
            oldest = next((t for t in self._tickets.values() if t.finished.is_set()), None)
            if oldest is None:
                return
            del self._tickets[oldest.ticket_id]
            self._by_request = {k: v for k, v in self._by_request.items() if v != oldest.ticket_id}

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
