"""``activityschema serve``: the HTTP API with MCP (streamable HTTP) at ``/mcp``, under uvicorn.

This process owns the store (the one DuckDB writer) and runs the loader when one is installed.
"""

from __future__ import annotations

import typer

from ._common import DbOption, err_console

HOST_DEFAULT = "127.0.0.1"
PORT_DEFAULT = 8765


def serve(
    db: str | None = DbOption,
    host: str = typer.Option(HOST_DEFAULT, "--host", help="Interface to listen on."),
    port: int = typer.Option(PORT_DEFAULT, "--port", help="Port to listen on."),
    log_file: str | None = typer.Option(None, "--log-file", help="Write logs here instead of stderr."),
    log_level: str = typer.Option("INFO", "--log-level", help="DEBUG, INFO, WARNING or ERROR."),
) -> None:
    """Run the HTTP API (and MCP at /mcp). Every route but /healthz needs a bearer API key."""
    import uvicorn

    from ..http import build_app
    from ..mcp import configure_logging
    from ..runtime import Runtime

    configure_logging(log_file, log_level.upper())
    rt = Runtime.open(db)
    try:
        rt.start_loader()
        rt.warm_contexts_in_background()
        if not rt.store.fetchone("SELECT 1 FROM api_keys WHERE revoked_at IS NULL LIMIT 1"):
            err_console.print("No API key exists yet: every request will be refused. Stop the server and run "
                              "'activityschema keys create --name admin --scope admin'.")
        app = build_app(rt, host=host)
        uvicorn.run(app, host=host, port=port, log_level=log_level.lower(), log_config=None)
    finally:
        rt.close()


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
