"""The HTTP API (Starlette): ingestion, memory, queries, provenance, health, metrics, and MCP.

``build_app(runtime)`` returns the ASGI app ``activityschema serve`` runs under uvicorn:

- every route but ``GET /healthz`` needs ``Authorization: Bearer <key>`` (``governance/access.py``);
  the auth middleware attaches the key's principal to the request, and each route checks its scope;
- the MCP streamable-HTTP endpoint is ``/mcp``, behind the same auth;
- every error is the one envelope with the error's status; an unexpected failure is a 500 envelope
  and a log line, never a stack trace in the response.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from .. import __version__
from ..errors import ActivitySchemaError, NotFoundError, ValidationError
from ..governance.access import bearer_token
from .audited import INTERFACE
from . import http_admin, http_ingest, http_memory, http_query
from .envelope import internal_error
from .http_common import EnvelopeResponse, failure, in_thread, principal_of, runtime_of, success
from .mcp import build_mcp_server
from .mcp_common import PRINCIPAL_STATE_KEY, flush_audit_quietly
from .metrics import CONTENT_TYPE
from .runtime import Runtime

log = logging.getLogger("activityschema.http")

PUBLIC_PATHS = frozenset({"/healthz"})
ROUTE_MODULES = (http_ingest, http_memory, http_query, http_admin)


async def healthz(request: Request) -> Response:
    rt = runtime_of(request)
    version = await in_thread(rt.store.schema_version)
    return success({"status": "ok", "version": __version__, "schema_version": version})


async def metrics(request: Request) -> Response:
    principal_of(request)  # any valid key: metrics are aggregates, never customer data
    return Response(runtime_of(request).metrics.render(), media_type=CONTENT_TYPE)


class AuthMiddleware:
    """Resolve the bearer key of every HTTP request (except public paths) before routing."""

    def __init__(self, app: ASGIApp, rt: Runtime) -> None:
        self.app = app
        self.rt = rt

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = {"code": 500}

        async def send_and_record(message: Any) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        interface = INTERFACE.set("http")
        try:
            if scope["path"] not in PUBLIC_PATHS:
                headers = dict(scope.get("headers") or [])
                header = headers.get(b"authorization", b"").decode("latin-1")
                token = bearer_token(header)
                # A key verified moments ago needs no store read, so no worker thread either.
                principal = self.rt.keys.cached(token) or await in_thread(self.rt.keys.authenticate, token)
                scope.setdefault("state", {})[PRINCIPAL_STATE_KEY] = principal
            await self.app(scope, receive, send_and_record)
        except ActivitySchemaError as exc:
            status["code"] = exc.status
            response = failure(exc)
            if exc.status == 401:
                response.headers["WWW-Authenticate"] = "Bearer"
            await response(scope, receive, send)
        finally:
            INTERFACE.reset(interface)
            if self.rt.audit.pending:  # this request's entries, durable in the audit journal
                await in_thread(flush_audit_quietly, self.rt)
            endpoint = scope.get("endpoint")
            route = getattr(endpoint, "__name__", type(endpoint).__name__) if endpoint is not None else "unmatched"
            self.rt.metrics.inc("activityschema_http_requests_total", route=route, status=str(status["code"]))


async def _library_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ActivitySchemaError)
    return failure(exc)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 404:
        return failure(NotFoundError(f"No route {request.method} {request.url.path}.", code="no_route"))
    if exc.status_code == 405:
        err = ValidationError(f"Method {request.method} is not allowed on {request.url.path}.",
                              code="method_not_allowed")
        err.status = 405
        return failure(err)
    err = ValidationError(str(exc.detail), code="http_error")
    err.status = exc.status_code
    return failure(err)


async def _unexpected(request: Request, exc: Exception) -> Response:
    log.exception("unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
    return EnvelopeResponse(internal_error(), status_code=500)


def build_app(rt: Runtime, *, host: str = "127.0.0.1", with_mcp: bool = True) -> Starlette:
    """The API app for ``rt`` (see the module docstring)."""
    routes: list[Any] = [Route("/healthz", healthz, methods=["GET"]), Route("/metrics", metrics, methods=["GET"])]
    for module in ROUTE_MODULES:
        routes.extend(module.ROUTES)
    mcp_server = build_mcp_server(rt, None) if with_mcp else None
    if mcp_server is not None:
        mcp_app = mcp_server.streamable_http_app(streamable_http_path="/mcp", host=host,
                                                 max_request_body_size=rt.max_body_bytes)
        routes.extend(mcp_app.routes)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if mcp_server is None:
            yield
            return
        async with mcp_server.session_manager.run():
            yield

    app = Starlette(routes=routes, lifespan=lifespan, exception_handlers={
        ActivitySchemaError: _library_error, HTTPException: _http_error, Exception: _unexpected})
    app.state.runtime = rt
    app.add_middleware(AuthMiddleware, rt=rt)
    return app
