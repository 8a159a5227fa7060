"""Plumbing shared by the MCP tool modules: who is calling, running an operation off the event loop,
and rendering every failure as the one error envelope (never a stack trace).

- The caller: over HTTP, the principal the API's auth middleware attached to the request (or the
  request's bearer key); over stdio or in-process, the server's default principal.
- Success: ``structuredContent`` is the operation's data (validated against the tool's output
  schema) and the text content is the same data as JSON.
- Failure: ``isError`` with the envelope ``{"ok": false, "error": {code, message, details}}`` as text,
  whether the failure was a bad argument, an unknown tool, a refused scope or a library error.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any

import anyio.to_thread
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ResourceError, ToolError, UnexpectedToolError
from mcp_types import CallToolResult, TextContent
from pydantic import ValidationError as PydanticValidationError

from ..errors import ActivitySchemaError, AuthError, NotFoundError, ValidationError
from ..governance.access import Principal, bearer_token
from ..schema.jsonable import dumps
from .envelope import error_body, internal_error
from .audited import INTERFACE
from .mcp_stdio import event_loop_stdio
from .runtime import Runtime

log = logging.getLogger("activityschema.mcp")

PRINCIPAL_STATE_KEY = "activityschema_principal"
_CALL_CONTEXT: ContextVar[Context[Any, Any] | None] = ContextVar("activityschema_mcp_context", default=None)


def error_result(body: dict[str, Any]) -> CallToolResult:
    return CallToolResult(content=[TextContent(type="text", text=dumps(body))], is_error=True)


def _argument_error(tool: str, exc: ToolError) -> ActivitySchemaError:
    cause = exc.__cause__
    if isinstance(cause, PydanticValidationError):
        problems = [f"{'.'.join(str(p) for p in e['loc']) or '(arguments)'}: {e['msg']}" for e in cause.errors()]
        return ValidationError(f"Invalid arguments for tool '{tool}': {'; '.join(problems)}.",
                               code="invalid_arguments", details=problems)
    if str(exc).startswith("Unknown tool"):
        return NotFoundError(f"Unknown tool '{tool}'.", code="unknown_tool")
    return ValidationError(str(exc), code="tool_error")


class ActivitySchemaMCP(MCPServer[Any]):
    """MCPServer that keeps the call's context for principal lookup and renders errors as envelopes."""

    async def call_tool(self, name: str, arguments: dict[str, Any], context: Context[Any, Any] | None = None) -> Any:
        token = _CALL_CONTEXT.set(context)
        try:
            return await super().call_tool(name, arguments, context)
        except UnexpectedToolError:
            log.exception("tool %r failed unexpectedly", name)
            return error_result(internal_error())
        except ToolError as exc:
            return error_result(error_body(_argument_error(name, exc)))
        finally:
            _CALL_CONTEXT.reset(token)

    async def run_stdio_async(self) -> None:
        """The SDK's stdio session, with the pipes served on the event loop (see ``mcp_stdio``)."""
        async with event_loop_stdio() as (read_stream, write_stream):
            await self._lowlevel_server.run(read_stream, write_stream,
                                            self._lowlevel_server.create_initialization_options())

    async def read_resource(self, uri: Any, context: Context[Any, Any] | None = None) -> Any:
        token = _CALL_CONTEXT.set(context)
        try:
            return await super().read_resource(uri, context)
        finally:
            _CALL_CONTEXT.reset(token)


def _request_of(context: Context[Any, Any] | None) -> Any:
    if context is None:
        return None
    try:
        return context.request_context.request
    except (ValueError, AttributeError):
        return None


def current_principal(rt: Runtime, default: Principal | None) -> Principal:
    """The caller of the tool or resource being served (see the module docstring)."""
    request = _request_of(_CALL_CONTEXT.get())
    if request is not None:
        state = getattr(request, "scope", {}).get("state") or {}
        principal = state.get(PRINCIPAL_STATE_KEY) if isinstance(state, dict) else None
        if isinstance(principal, Principal):
            return principal
        headers = getattr(request, "headers", None)
        return rt.keys.authenticate(bearer_token(headers.get("authorization") if headers is not None else None))
    if default is None:
        raise AuthError("An API key is required.", code="missing_key")
    return default


Operation = Callable[..., dict[str, Any]]


async def run_tool(rt: Runtime, default: Principal | None, tool: str, operation: Operation, /,
                   *args: Any, _immediate: bool = False, **kwargs: Any) -> CallToolResult:
    """Run ``operation(rt, principal, *args, **kwargs)`` in a worker thread and render the outcome.
    ``_immediate``: the caller knows the operation will not block (it answers from memory), so it runs
    on the event loop."""
    outcome = "ok"
    started = time.perf_counter()
    interface = INTERFACE.set("mcp")
    try:
        principal = current_principal(rt, default)
        call = functools.partial(operation, rt, principal, *args, **kwargs)
        data = _then_flush_audit(call, rt) if _immediate else await anyio.to_thread.run_sync(_then_flush_audit, call, rt)
        return CallToolResult(content=[TextContent(type="text", text=dumps(data))], structured_content=data)
    except ActivitySchemaError as exc:
        outcome = exc.code
        return error_result(error_body(exc))
    except Exception:
        outcome = "internal_error"
        log.exception("tool %r failed", tool)
        return error_result(internal_error())
    finally:
        INTERFACE.reset(interface)
        await _flush_audit(rt)
        rt.metrics.inc("activityschema_mcp_tool_calls_total", tool=tool, outcome=outcome)
        log.debug("tool %s %s in %.1f ms", tool, outcome, (time.perf_counter() - started) * 1000)


def _then_flush_audit(call: Callable[[], dict[str, Any]], rt: Runtime) -> dict[str, Any]:
    """Run the operation and make its audit entry durable in the same worker thread (one hop)."""
    try:
        return call()
    finally:
        if rt.audit.pending:
            flush_audit_quietly(rt)


async def _flush_audit(rt: Runtime) -> None:
    """The call's audit entries, durable (the audit journal) before the answer goes out."""
    if rt.audit.pending:
        await anyio.to_thread.run_sync(flush_audit_quietly, rt)


def flush_audit_quietly(rt: Runtime) -> None:
    try:
        rt.audit.flush()
    except Exception:
        log.exception("writing audit entries failed; they stay queued")


async def read_as_text(rt: Runtime, default: Principal | None, operation: Operation, /,
                       *args: Any, **kwargs: Any) -> str:
    """Run an operation for a resource read; a failure is a resource error carrying the envelope."""
    interface = INTERFACE.set("mcp")
    try:
        return await _read_as_text(rt, default, operation, *args, **kwargs)
    finally:
        INTERFACE.reset(interface)
        await _flush_audit(rt)


async def _read_as_text(rt: Runtime, default: Principal | None, operation: Operation, /,
                        *args: Any, **kwargs: Any) -> str:
    try:
        principal = current_principal(rt, default)
        data = await anyio.to_thread.run_sync(functools.partial(operation, rt, principal, *args, **kwargs))
    except ActivitySchemaError as exc:
        raise ResourceError(dumps(error_body(exc))) from None
    except Exception:
        log.exception("resource read failed")
        raise ResourceError(dumps(internal_error())) from None
    return dumps(data)
