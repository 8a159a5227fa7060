"""MCP admin tools (scope ``admin``): forget_customer, unsuppress_customer, export_customer,
customer_disclosure. A key with a row scope may act only on its own customers; every call is audited."""

from __future__ import annotations

import json
from typing import Annotated, Any

from mcp_types import CallToolResult, ToolAnnotations
from pydantic import BaseModel, ConfigDict, Field

from ..governance.access import Principal
from . import operations_admin as admin
from .mcp_common import ActivitySchemaMCP, run_tool
from .runtime import Runtime

Customer = Annotated[str, Field(min_length=1, max_length=255, description="The customer id.")]
Reason = Annotated[str, Field(min_length=1, max_length=admin.REASON_MAX_LEN)]


class AdminResult(BaseModel):
    """An admin operation's report (its fields depend on the operation; see docs/mcp.md)."""

    model_config = ConfigDict(extra="allow")


def _export_document(rt: Runtime, principal: Principal, customer: str, decrypt: bool) -> dict[str, Any]:
    summary, text = admin.export_customer(rt, principal, customer, fmt="json", decrypt=decrypt)
    return {"summary": summary, "document": json.loads(text)}


def register(server: ActivitySchemaMCP, rt: Runtime, default: Principal | None) -> None:
    @server.tool(annotations=ToolAnnotations(destructive_hint=True, idempotent_hint=True))
    async def forget_customer(customer: Customer, reason: Reason | None = None) -> Annotated[CallToolResult, AdminResult]:
        """Erase a customer (and its linked anonymous ids) from every table, the spool and its data keys,
        and suppress it so replayed events are refused. Needs the admin scope. Returns what was removed."""
        return await run_tool(rt, default, "forget_customer", admin.forget_customer, customer, reason=reason)

    @server.tool(annotations=ToolAnnotations(destructive_hint=False, idempotent_hint=True))
    async def unsuppress_customer(customer: Customer, reason: Reason) -> Annotated[CallToolResult, AdminResult]:
        """Lift an erased customer's suppression so its events are accepted again. Needs admin; audited."""
        return await run_tool(rt, default, "unsuppress_customer", admin.unsuppress_customer, customer, reason=reason)

    @server.tool(annotations=ToolAnnotations(read_only_hint=True))
    async def export_customer(customer: Customer, decrypt: bool = False) -> Annotated[CallToolResult, AdminResult]:
        """All data held about a customer (right to portability) as one JSON document, with a summary.
        decrypt opens encrypted fields (the server needs the master key). Needs admin; audited."""
        return await run_tool(rt, default, "export_customer", _export_document, customer, decrypt)

    @server.tool(annotations=ToolAnnotations(read_only_hint=True))
    async def customer_disclosure(customer: Customer) -> Annotated[CallToolResult, AdminResult]:
        """What is held about a customer by category, its activities and date range, and who received
        its data (CCPA right to know). Needs admin; audited."""
        return await run_tool(rt, default, "customer_disclosure", admin.disclosure_report, customer)
