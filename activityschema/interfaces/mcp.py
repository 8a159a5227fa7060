"""The MCP server (official ``mcp`` SDK 2.x): tools and resources over stdio or streamable HTTP.

``build_mcp_server(runtime, default_principal)`` assembles the server from the tool modules
(``mcp_tools_*.py``) and resources (``mcp_resources.py``). Over stdio the default principal is the
local user (``LOCAL_ADMIN``) unless a key is given; over HTTP there is none: every request carries a
bearer key, checked by the HTTP API before the MCP app sees it.

stdout belongs to the protocol: this module never prints, and ``serve_stdio`` sends logs to stderr
or a file before the transport starts.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

from .. import __version__
from ..governance.access import Principal
from . import mcp_resources, mcp_tools_admin, mcp_tools_analytics, mcp_tools_memory, mcp_tools_query
from .mcp_common import ActivitySchemaMCP
from .runtime import Runtime

SERVER_NAME = "activityschema"
INSTRUCTIONS = (
    "ActivitySchema memory for agents. Log what you do with log_event; read what is known about a customer "
    "with get_context; run a named query with submit_query/get_query_result (or an analysis tool) and keep "
    "what you learned with log_insight, citing the query_hash; recall it with get_insights. "
    "explain_provenance shows where a hash came from."
)
TOOL_MODULES = (mcp_tools_memory, mcp_tools_query, mcp_tools_analytics, mcp_tools_admin)
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def build_mcp_server(rt: Runtime, default_principal: Principal | None) -> ActivitySchemaMCP:
    server = ActivitySchemaMCP(SERVER_NAME, version=__version__, instructions=INSTRUCTIONS, log_level="WARNING")
    for module in TOOL_MODULES:
        module.register(server, rt, default_principal)
    mcp_resources.register(server, rt, default_principal)
    return server


def configure_logging(log_file: str | None, level: str = "INFO") -> None:
    """Logs go to a file or stderr, never stdout (the MCP stdio protocol owns it)."""
    handler: logging.Handler = logging.FileHandler(Path(log_file)) if log_file else logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)


def serve_stdio(rt: Runtime, principal: Principal) -> None:
    """Serve MCP on stdin/stdout until the client closes the stream."""
    from .process_warmup import settle, warm_imports

    server = build_mcp_server(rt, principal)
    warm_imports()
    settle()  # last, with the server built (see process_warmup: fewer, cheaper collections mid-call)
    server.run("stdio")
