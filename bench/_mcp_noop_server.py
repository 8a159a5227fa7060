"""``activityschema mcp`` with one more tool, ``noop``, that does nothing: the benchmark's floor.

A no-op tool call goes through everything a real tool call does except our tool body and its audit
entry (the client SDK, JSON-RPC over stdio, the server's dispatch and argument validation), so
get_context minus noop is what our code costs. Run exactly like the CLI: ``_mcp_noop_server.py mcp --db …``.
"""

from __future__ import annotations

import sys
from typing import Any

from activityschema.interfaces import mcp as mcp_module
from activityschema.interfaces.cli import main

_build = mcp_module.build_mcp_server


def build_with_noop(rt: Any, principal: Any) -> Any:
    server = _build(rt, principal)

    @server.tool()
    async def noop() -> str:
        """Do nothing (benchmark floor)."""
        return "ok"

    return server


mcp_module.build_mcp_server = build_with_noop  # serve_stdio looks it up at call time

if __name__ == "__main__":
    sys.argv[0] = "activityschema"
    main()
