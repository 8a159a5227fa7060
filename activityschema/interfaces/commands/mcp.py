"""``activityschema mcp``: serve MCP on stdio (what a desktop assistant launches).

stdout carries only protocol frames; logs go to stderr or ``--log-file``. The process owns the store
while it runs (one DuckDB writer): other processes should log through the spool or a running
``activityschema serve``.

It stops when the client closes stdin, or on SIGTERM/SIGINT: either way the runtime closes (the loader
drains what was acknowledged, the audit journal is chained, the store is closed) and it exits 0.
"""

from __future__ import annotations

import os
import signal
from types import FrameType

import typer

from ._common import DbOption

API_KEY_ENV = "ACTIVITYSCHEMA_API_KEY"


def mcp(
    db: str | None = DbOption,
    log_file: str | None = typer.Option(None, "--log-file", help="Write logs here instead of stderr."),
    log_level: str = typer.Option("INFO", "--log-level", help="DEBUG, INFO, WARNING or ERROR."),
    api_key: str | None = typer.Option(
        None, "--api-key",
        help=f"Act as this API key (its scopes and customers); default ${API_KEY_ENV}, else the local user (admin)."),
) -> None:
    """Serve the MCP tools and resources on stdin/stdout."""
    from ...governance.access import LOCAL_ADMIN
    from ..mcp import configure_logging, serve_stdio
    from ..runtime import Runtime

    configure_logging(log_file, log_level.upper())
    rt = Runtime.open(db)
    try:
        key = api_key or os.environ.get(API_KEY_ENV)
        principal = rt.keys.authenticate(key) if key else LOCAL_ADMIN
        rt.start_loader()
        rt.warm_contexts_in_background()
        signal.signal(signal.SIGTERM, _interrupt)
        try:
            serve_stdio(rt, principal)
        except KeyboardInterrupt:
            pass  # SIGTERM or Ctrl-C: shut down like an end of input
    finally:
        # A client that closed stdin may send SIGTERM while we drain (the TypeScript SDK does after 2 s):
        # the shutdown is already under way, and interrupting it would leave threads inside DuckDB.
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        rt.close()


def _interrupt(signum: int, frame: FrameType | None) -> None:
    """SIGTERM ends the stdio session the way Ctrl-C does, so the runtime closes before exiting."""
    raise KeyboardInterrupt


def register(app: typer.Typer) -> None:
    app.command("mcp")(mcp)
