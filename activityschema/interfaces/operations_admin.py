"""Admin operations the servers offer (scope ``admin``): erasure, unsuppress, portability export,
disclosure report, and API keys. Shared by the HTTP routes and the MCP admin tools.

A key with a row scope may act only on customers inside it (an out-of-scope customer is refused the
same way as over the query operations). The erasure, export, disclosure and unsuppress library calls
write their own audit entries (with the key as actor); ``@audited`` adds entries for refusals.
"""

from __future__ import annotations

import os
import tempfile
from typing import Any

from ..errors import PermissionDenied, ValidationError
from ..governance import access, disclosure, erasure, suppression
from ..governance import export as export_mod
from ..governance.access import Principal
from .audited import actor_of, audited
from .runtime import Runtime

REASON_MAX_LEN = 500


def _in_scope(principal: Principal, customer: Any) -> str:
    if not isinstance(customer, str) or not customer.strip() or len(customer) > 255:
        raise ValidationError("A customer id must be 1 to 255 characters.", code="invalid_customer")
    principal.require_customer(customer)
    return customer


def _reason(reason: Any, *, required: bool = False) -> str | None:
    if reason is None and not required:
        return None
    if not isinstance(reason, str) or not reason.strip() or len(reason) > REASON_MAX_LEN:
        raise ValidationError(f"A reason must be 1 to {REASON_MAX_LEN} characters.", code="invalid_reason")
    return reason


@audited("forget", subject="customer", library_audits=True)
def forget_customer(rt: Runtime, principal: Principal, customer: str, *, reason: str | None = None) -> dict[str, Any]:
    """Erase a customer everywhere and suppress it; the server's context cache drops it at once."""
    principal.require("admin")
    customer = _in_scope(principal, customer)
    ids = erasure.linked_ids(rt.store.cursor(), customer)
    report = erasure.forget(rt.store, customer, actor=actor_of(principal), reason=_reason(reason))
    rt.forget_customers(ids)
    rt.keys.forget()  # nothing cached may outlive the erasure
    return report.to_dict()


@audited("unsuppress", subject="customer", library_audits=True)
def unsuppress_customer(rt: Runtime, principal: Principal, customer: str, *, reason: str) -> dict[str, Any]:
    principal.require("admin")
    customer = _in_scope(principal, customer)
    lifted = suppression.unsuppress(rt.store, customer, actor=actor_of(principal), reason=_reason(reason, required=True))
    return {"customer": customer, "lifted": lifted}


@audited("export_customer", subject="customer", library_audits=True)
def export_customer(rt: Runtime, principal: Principal, customer: str, *, fmt: str = "json",
                    decrypt: bool = False) -> tuple[dict[str, Any], str]:
    """All data held about a customer: (summary, the file's text in ``fmt``)."""
    principal.require("admin")
    customer = _in_scope(principal, customer)
    if fmt not in export_mod.FORMATS:
        raise ValidationError(f"Export format '{fmt}' is not supported. Allowed: {', '.join(export_mod.FORMATS)}.",
                              code="invalid_format")
    fd, path = tempfile.mkstemp(prefix="activityschema-export-", suffix="." + fmt)
    os.close(fd)
    try:
        summary = export_mod.export_customer(rt.store, customer, path, fmt=fmt, decrypt=bool(decrypt),
                                             actor=actor_of(principal), scope_actors=principal.customers)
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    finally:
        os.unlink(path)
    summary.pop("path", None)
    return summary, text


@audited("disclosure_report", subject="customer", library_audits=True)
def disclosure_report(rt: Runtime, principal: Principal, customer: str) -> dict[str, Any]:
    principal.require("admin")
    customer = _in_scope(principal, customer)
    return disclosure.disclosure_report(rt.store, customer, actor=actor_of(principal))


@audited("list_keys")
def list_keys(rt: Runtime, principal: Principal) -> list[dict[str, Any]]:
    principal.require("admin")
    return access.list_keys(rt.store)


@audited("create_key")
def create_key(rt: Runtime, principal: Principal, name: Any, scopes: list[str],
               customers: list[str] | None = None, tenant: str | None = None) -> dict[str, Any]:
    principal.require("admin")
    if principal.customers is not None and (customers is None or not set(customers) <= principal.customers):
        raise PermissionDenied("A key with a row scope can only create keys within that scope.", code="out_of_scope")
    if principal.tenant is not None and tenant != principal.tenant:
        raise PermissionDenied("A tenant-scoped key can only create keys for its own tenant.", code="out_of_scope")
    described, key = access.create_key(rt.store, name, scopes, customers=customers, tenant=tenant)
    return {**described, "key": key}


@audited("revoke_key")
def revoke_key(rt: Runtime, principal: Principal, key_id: str) -> dict[str, Any]:
    principal.require("admin")
    access.revoke_key(rt.store, key_id)
    rt.keys.forget(key_id)
    return {"key_id": key_id, "revoked": True}
