"""MCP tools for the analyses (dataset, funnel, retention, paths, journey, recent_activity).

Thin wrappers: each passes its request object to ``operations_analytics.run_analysis``, which imports
the analysis module only when called (a build without it answers ``feature_unavailable``).
"""

from __future__ import annotations

from typing import Annotated, Any

from mcp_types import CallToolResult, ToolAnnotations
from pydantic import Field

from ..governance.access import Principal
from .mcp_common import ActivitySchemaMCP, run_tool
from .mcp_models import AnalysisResult
from .mcp_tools_query import ResultBytes
from .operations_analytics import ANALYSES, run_analysis
from .runtime import Runtime

Request = Annotated[dict[str, Any], Field(description="The analysis request object (see docs/mcp.md).")]


def _register_one(server: ActivitySchemaMCP, rt: Runtime, default: Principal | None, kind: str, help_text: str) -> None:
    async def analysis(request: Request, max_bytes: ResultBytes = None) -> Annotated[CallToolResult, AnalysisResult]:
        return await run_tool(rt, default, kind, run_analysis, kind, request, max_bytes=max_bytes)

    server.add_tool(analysis, name=kind, description=help_text + " The result carries a query_hash.",
                    annotations=ToolAnnotations(read_only_hint=True))


def register(server: ActivitySchemaMCP, rt: Runtime, default: Principal | None) -> None:
    for kind, (_, _, help_text) in ANALYSES.items():
        _register_one(server, rt, default, kind, help_text)
