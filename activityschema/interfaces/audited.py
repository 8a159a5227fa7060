"""Every operation the servers offer records an audit entry: who (the key), what (the action), which
template and query hash, how many rows, which customer (stored as a keyed hash), and through which
interface. A refused call (missing scope, out of row scope, bad argument) is recorded too, with the
refusal's code, so probing is visible in the log.

Operations are plain functions ``op(rt, principal, ...)``; ``@audited(action)`` wraps one. Entries are
queued on the runtime's ``AuditTrail`` and flushed once per request (``governance/audit_trail.py``).
"""

from __future__ import annotations

import functools
import getpass
import inspect
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any, TypeVar

from ..errors import ActivitySchemaError
from ..governance.access import LOCAL_ADMIN, Principal
from ..governance.audit_trail import Entry

INTERFACE: ContextVar[str] = ContextVar("activityschema_interface", default="library")
KEY_ACTOR_PREFIX = "key:"
LOCAL_ACTOR_PREFIX = "local:"

F = TypeVar("F", bound=Callable[..., Any])


def actor_of(principal: Principal) -> str:
    """``key:<name> [<key id>]`` for an API key; ``local:<login>`` for the local stdio user."""
    if principal is LOCAL_ADMIN or principal.key_id == LOCAL_ADMIN.key_id:
        return _local_actor()
    return KEY_ACTOR_PREFIX + principal.label


@functools.cache
def _local_actor() -> str:
    """The login is looked up once per process (it reads the password database)."""
    try:
        return LOCAL_ACTOR_PREFIX + getpass.getuser()
    except (KeyError, OSError):
        return LOCAL_ACTOR_PREFIX + "unknown"


def _row_count(data: Any) -> int | None:
    if isinstance(data, list):
        return len(data)
    if not isinstance(data, dict):
        return None
    for key in ("row_count", "accepted", "purged"):
        value = data.get(key)
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    for key in ("rows", "insights", "activities", "keys"):
        value = data.get(key)
        if isinstance(value, list):
            return len(value)
    return None


def record(rt: Any, principal: Principal, action: str, *, template: str | None = None,
           query_hash: str | None = None, row_count: int | None = None, subject: str | None = None,
           **details: Any) -> None:
    """Queue one entry on the runtime's trail (for operations that audit by hand)."""
    details = {"via": INTERFACE.get(), **{k: v for k, v in details.items() if v is not None}}
    rt.audit.record(Entry(actor_of(principal), action, template, query_hash, row_count, subject, details))


def audited(action: str, *, subject: str | None = None, template: str | None = None,
            library_audits: bool = False) -> Callable[[F], F]:
    """Wrap ``op(rt, principal, ...)`` so each call queues an audit entry.

    Args:
        subject: the name of the argument naming the customer concerned.
        template: the name of the argument naming the template/analysis (else the result's ``template``).
        library_audits: the library call writes its own entry (erasure, export...): record refusals only.
    """

    def wrap(fn: F) -> F:
        signature = inspect.signature(fn)

        @functools.wraps(fn)
        def inner(rt: Any, principal: Principal, *args: Any, **kwargs: Any) -> Any:
            bound = signature.bind_partial(rt, principal, *args, **kwargs).arguments
            who = bound.get(subject) if subject else None
            named = bound.get(template) if template else None
            try:
                data = fn(rt, principal, *args, **kwargs)
            except ActivitySchemaError as exc:
                record(rt, principal, action, template=named if isinstance(named, str) else None,
                       subject=who if isinstance(who, str) else None, refused=exc.code)
                raise
            if not library_audits:
                result = data if isinstance(data, dict) else {}
                found = result.get("template") if isinstance(result.get("template"), str) else None
                digest = result.get("query_hash") if isinstance(result.get("query_hash"), str) else None
                record(rt, principal, action, template=named if isinstance(named, str) else found,
                       query_hash=digest, row_count=_row_count(data),
                       subject=who if isinstance(who, str) else None)
            return data

        return inner  # type: ignore[return-value]

    return wrap
