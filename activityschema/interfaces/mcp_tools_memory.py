"""MCP tools for events and memory: log_event, get_context, log_insight, get_insights."""

from __future__ import annotations

from typing import Annotated, Any

from mcp_types import CallToolResult, ToolAnnotations
from pydantic import Field

from ..governance.access import Principal
from ..memory.atoms import HISTORY_LIMIT_DEFAULT, HISTORY_LIMIT_MAX
from ..memory.truncate import MAX_BYTES_MAX, MAX_BYTES_MIN
from . import operations as ops
from .mcp_common import ActivitySchemaMCP, run_tool
from .mcp_models import CustomerContext, EventLogged, Insight, Insights
from .runtime import Runtime

Customer = Annotated[str, Field(min_length=1, max_length=255, description="The customer id (or anonymous id).")]
Text = Annotated[str, Field(min_length=1, max_length=255)]


def register(server: ActivitySchemaMCP, rt: Runtime, default: Principal | None) -> None:
    @server.tool(annotations=ToolAnnotations(destructive_hint=False, idempotent_hint=True))
    async def log_event(
        activity: Annotated[str, Field(max_length=100, description="[namespace_]verb_noun, e.g. 'claude_tool_call'.")],
        customer: Annotated[str | None, Field(max_length=255, description="Customer (or session) id.")] = None,
        anonymous_customer_id: Annotated[str | None, Field(max_length=255)] = None,
        ts: Annotated[str | None, Field(description="ISO 8601 time; default: now (UTC).")] = None,
        feature_json: Annotated[dict[str, Any] | None, Field(description="Activity-specific metadata object.")] = None,
        revenue_impact: Annotated[float | None, Field(description="Revenue in base currency (may be negative).")]
        = None,
        link: Annotated[str | None, Field(max_length=2000, description="Absolute URL of a related resource.")] = None,
        activity_id: Annotated[str | None, Field(description="UUID; generated when omitted. Re-sending the same "
                                                             "event with its id is a harmless duplicate.")] = None,
        wait: Annotated[bool, Field(description="Wait until the event is merged into the store, so the status is "
                                                "final ('duplicate' included). Default: return once it is durably "
                                                "queued.")] = False,
    ) -> Annotated[CallToolResult, EventLogged]:
        """Log one activity event. Returns once the event is durable: queued on the spool (durability
        'spooled', merged within about a second) or, with wait, stored. A rejected event is an error
        listing every reason (it is also kept in the rejects table)."""
        event = {"activity": activity, "customer": customer, "anonymous_customer_id": anonymous_customer_id,
                 "ts": ts, "feature_json": feature_json, "revenue_impact": revenue_impact, "link": link,
                 "activity_id": activity_id}
        return await run_tool(rt, default, "log_event", ops.log_event, event, wait=wait)

    @server.tool(annotations=ToolAnnotations(read_only_hint=True))
    async def get_context(
        customer: Customer,
        max_bytes: Annotated[int | None, Field(ge=MAX_BYTES_MIN, le=MAX_BYTES_MAX,
                                               description="Largest context to return, in bytes of JSON.")]
        = ops.CONTEXT_MAX_BYTES_DEFAULT,
    ) -> Annotated[CallToolResult, CustomerContext]:
        """A customer's context: first/last seen, counts and last time per activity, revenue total,
        recent activities and live insights. Served from memory (may be a few seconds stale: see
        'stale'); cut to max_bytes when needed ('truncated', and context._truncated says what went)."""
        return await run_tool(rt, default, "get_context", ops.get_context, customer, max_bytes=max_bytes,
                              _immediate=ops.context_in_memory(rt, customer))

    @server.tool(annotations=ToolAnnotations(destructive_hint=False))
    async def log_insight(
        customer: Customer,
        subject: Annotated[Text, Field(description="The entity measured, e.g. 'subscription'.")],
        metric: Annotated[Text, Field(description="The metric name, e.g. 'churn_risk'.")],
        value: Annotated[Any, Field(description="Any JSON value (at most 1 MiB).")],
        provenance_query_hash: Annotated[str, Field(min_length=1, max_length=64,
                                                    description="Hash of the recorded query this insight comes "
                                                                "from (returned by submit_query and analyses).")],
        ttl: Annotated[float | None, Field(gt=0, description="Seconds until the insight expires.")] = None,
    ) -> Annotated[CallToolResult, Insight]:
        """Remember an insight (an atom) about a customer, with the query that proves it."""
        return await run_tool(rt, default, "log_insight", ops.log_insight, customer=customer, subject=subject,
                              metric=metric, value=value, provenance_query_hash=provenance_query_hash, ttl=ttl)

    @server.tool(annotations=ToolAnnotations(read_only_hint=True))
    async def get_insights(
        customer: Customer,
        subject: Annotated[str | None, Field(max_length=255)] = None,
        metric: Annotated[str | None, Field(max_length=255)] = None,
        history: Annotated[bool, Field(description="False: latest value per (subject, metric); "
                                                   "True: every live value, newest first.")] = False,
        limit: Annotated[int, Field(ge=1, le=HISTORY_LIMIT_MAX)] = HISTORY_LIMIT_DEFAULT,
    ) -> Annotated[CallToolResult, Insights]:
        """Recall insights about a customer (expired ones are never returned)."""
        return await run_tool(rt, default, "get_insights", ops.get_insights, customer, subject=subject,
                              metric=metric, history=history, limit=limit)
