"""``activityschema serve``: the HTTP API with MCP (streamable HTTP) at ``/mcp``, under uvicorn.

This process owns the store (the one DuckDB writer) and runs the loader when one is installed.

Shutdown (SIGTERM or SIGINT) is graceful: uvicorn stops accepting connections and lets in-flight
requests finish (at most ``GRACEFUL_SECONDS``), then the runtime closes: the spool logger flushes,
the loader drains everything acknowledged into the store, the audit journal is chained and the
DuckDB file is closed (checkpointed). The process then exits 0. (uvicorn alone re-raises the signal
after its own shutdown, which would kill the process before the loader drains.)
"""

from __future__ import annotations

import importlib.util
from typing import Any

import typer

from ._common import DbOption, err_console

HOST_DEFAULT = "127.0.0.1"
PORT_DEFAULT = 8765
# In-flight requests get this long to finish after a shutdown signal (long-lived MCP streams are cut).
GRACEFUL_SECONDS = 30


def uvicorn_speedups() -> dict[str, str]:
    """uvicorn's C-accelerated parts, named explicitly: the ``httptools`` HTTP parser (not the
    pure-Python ``h11``) and the ``uvloop`` event loop. Both are pinned dependencies; if one is
    missing, the pure-Python part it replaces serves instead (slower, same behaviour)."""
    return {"http": "httptools" if importlib.util.find_spec("httptools") else "h11",
            "loop": "uvloop" if importlib.util.find_spec("uvloop") else "asyncio"}


def _graceful_server(config: Any) -> Any:
    """A uvicorn server that handles SIGTERM/SIGINT by shutting down, without re-raising the signal."""
    import uvicorn

    class GracefulServer(uvicorn.Server):
        def capture_signals(self) -> Any:
            inner = super().capture_signals()
            server = self

            class _Capture:
                def __enter__(self) -> None:
                    inner.__enter__()

                def __exit__(self, *exc: Any) -> Any:
                    server._captured_signals.clear()  # handled: the caller closes the runtime, then exits
                    return inner.__exit__(*exc)

            return _Capture()

    return GracefulServer(config)


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
    from ..process_warmup import settle, warm_imports
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
        config = uvicorn.Config(app, host=host, port=port, log_level=log_level.lower(), log_config=None,
                                timeout_graceful_shutdown=GRACEFUL_SECONDS, **uvicorn_speedups())
        config.load()  # imports the protocol and loop modules now (the server would on start)
        warm_imports()
        settle()  # last, with everything the server keeps alive already built
        _graceful_server(config).run()
    finally:
        rt.close()


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
