"""Row scope checks for memory reads and writes (a scoped API key sees only its customers)."""

from __future__ import annotations

from ..analytics.runner import UNRESTRICTED, Scope
from ..errors import PermissionDenied, ValidationError

CUSTOMER_MAX_LEN = 255


def check_customer_id(customer: object) -> str:
    """A customer (actor) id must be a non-empty string of at most 255 characters."""
    if not isinstance(customer, str) or not customer or len(customer) > CUSTOMER_MAX_LEN:
        raise ValidationError(
            f"customer must be a string of 1 to {CUSTOMER_MAX_LEN} characters, got {str(customer)[:80]!r}.",
            code="invalid_customer")
    return customer


def ensure_in_scope(scope: Scope, customer: str) -> None:
    """Refuse a customer outside the caller's row scope (checked before any lookup, so it reveals
    nothing about whether that customer exists)."""
    if scope.tenant is not None:
        raise PermissionDenied("A tenant-scoped key cannot read or write one customer's memory: a customer id does "
                               "not say which tenants its events belong to. Use a key scoped to customers.",
                               code="tenant_scope")
    if scope.actors is not None and customer not in scope.actors:
        raise PermissionDenied(f"Customer '{customer}' is outside this key's row scope.", code="out_of_scope")


__all__ = ["UNRESTRICTED", "Scope", "check_customer_id", "ensure_in_scope"]
