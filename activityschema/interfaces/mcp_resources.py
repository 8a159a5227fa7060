"""MCP resources: a customer's context and the activity catalog (read with the caller's scope)."""

from __future__ import annotations

from ..governance.access import Principal
from . import operations as ops
from .mcp_common import ActivitySchemaMCP, read_as_text
from .runtime import Runtime

CONTEXT_URI = "activityschema://customers/{customer_id}/context"
CATALOG_URI = "activityschema://catalog/activities"


def register(server: ActivitySchemaMCP, rt: Runtime, default: Principal | None) -> None:
    @server.resource(CONTEXT_URI, name="customer_context", mime_type="application/json",
                     description="A customer's context (the get_context tool's answer) as JSON.")
    async def customer_context(customer_id: str) -> str:
        return await read_as_text(rt, default, ops.get_context, customer_id)

    @server.resource(CATALOG_URI, name="activity_catalog", mime_type="application/json",
                     description="Every activity with its events, actors, first and last seen.")
    async def activity_catalog() -> str:
        return await read_as_text(rt, default, ops.list_activities)
