"""Every MCP tool and resource and every HTTP route is documented."""

from __future__ import annotations

from pathlib import Path

import anyio

from activityschema.interfaces.http import build_app
from activityschema.interfaces.mcp import build_mcp_server
from activityschema.interfaces.runtime import Runtime

DOCS = Path(__file__).resolve().parents[2] / "docs"


def test_tools_resources_and_routes_are_documented(store):
    rt = Runtime(store, env={}, background=False)
    try:
        server = build_mcp_server(rt, None)

        async def listing():
            return await server.list_tools(), await server.list_resources(), await server.list_resource_templates()

        tools, resources, templates = anyio.run(listing)
        mcp_doc = (DOCS / "mcp.md").read_text()
        for name in [t.name for t in tools] + [str(r.uri) for r in resources] + [t.uri_template for t in templates]:
            assert f"`{name}`" in mcp_doc, name
        http_doc = (DOCS / "http-api.md").read_text()
        for route in build_app(rt).routes:
            path = getattr(route, "path", "")
            for method in sorted((getattr(route, "methods", None) or {"POST"}) - {"HEAD"}):
                assert f"`{method} {path}`" in http_doc or f"`{path}`" in http_doc, (method, path)
    finally:
        rt.close()
