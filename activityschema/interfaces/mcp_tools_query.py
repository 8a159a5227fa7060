"""MCP tools for queries and lineage: submit_query, get_query_result, explain_provenance, list_activities."""

from __future__ import annotations

from typing import Annotated, Any

from mcp_types import CallToolResult, ToolAnnotations
from pydantic import Field

from ..governance.access import Principal
from ..sql.templates import list_templates
from . import operations as ops
from .mcp_common import ActivitySchemaMCP, run_tool
from .mcp_models import ActivityCatalog, Provenance, QueryTicket, QueryTicketResult
from .runtime import Runtime

WAIT_SECONDS_MAX = 30.0
ResultBytes = Annotated[int | None, Field(ge=2, le=ops.RESULT_MAX_BYTES_MAX,
                                          description="Largest rows array to return, in bytes of JSON "
                                                      f"(default {ops.RESULT_MAX_BYTES_DEFAULT:,}).")]


def _templates_help() -> str:
    return "; ".join(f"{t.name} ({', '.join(t.params.model_fields) or 'no parameters'}): {t.description}"
                     for t in list_templates())


def register(server: ActivitySchemaMCP, rt: Runtime, default: Principal | None) -> None:
    @server.tool(description="Run a named query template once and get a ticket; fetch the rows with "
                             "get_query_result. The result carries a query_hash that insights cite as provenance. "
                             "Templates: " + _templates_help(),
                 annotations=ToolAnnotations(read_only_hint=True))
    async def submit_query(
        template: Annotated[str, Field(min_length=1, max_length=100)],
        params: Annotated[dict[str, Any] | None, Field(description="The template's parameters.")] = None,
        client_request_id: Annotated[str | None, Field(max_length=200, description="Retrying with the same id returns "
                                                                                   "the same ticket (no second run).")]
        = None,
    ) -> Annotated[CallToolResult, QueryTicket]:
        return await run_tool(rt, default, "submit_query", ops.submit_query, template, params,
                              client_request_id=client_request_id)

    @server.tool(annotations=ToolAnnotations(read_only_hint=True))
    async def get_query_result(
        ticket: Annotated[str, Field(min_length=1, max_length=64)],
        max_bytes: ResultBytes = None,
        max_rows: Annotated[int | None, Field(ge=0)] = None,
        wait_seconds: Annotated[float, Field(ge=0, le=WAIT_SECONDS_MAX,
                                             description="Wait up to this long for the query to finish.")] = 0.0,
    ) -> Annotated[CallToolResult, QueryTicketResult]:
        """Status and rows of a submitted query (rows are cut to max_bytes; 'truncated' says so).
        Reading a result never runs the query again."""
        return await run_tool(rt, default, "get_query_result", ops.get_query_result, ticket, max_bytes=max_bytes,
                              max_rows=max_rows, wait_seconds=wait_seconds)

    @server.tool(annotations=ToolAnnotations(read_only_hint=True))
    async def explain_provenance(
        query_hash: Annotated[str, Field(min_length=1, max_length=64)],
    ) -> Annotated[CallToolResult, Provenance]:
        """Which template, SQL and parameters produced a query hash, its recent runs, and how many
        insights cite it."""
        return await run_tool(rt, default, "explain_provenance", ops.explain_provenance, query_hash)

    @server.tool(annotations=ToolAnnotations(read_only_hint=True))
    async def list_activities() -> Annotated[CallToolResult, ActivityCatalog]:
        """The activity catalog: every activity with its events, actors, first and last seen."""
        return await run_tool(rt, default, "list_activities", ops.list_activities)
