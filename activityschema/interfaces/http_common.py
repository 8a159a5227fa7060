"""Helpers shared by the HTTP route modules: the caller, bounded body reading, JSON parsing, and
responses in the one envelope (success ``{"ok": true, "data": ...}``, error ``{"ok": false, "error":
{code, message, details}}`` with the error's status)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import anyio.to_thread
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from ..errors import ActivitySchemaError, AuthError, PayloadTooLarge, ValidationError
from ..governance.access import Principal
from ..schema import fastjson
from ..schema.jsonable import dumps
from .envelope import error_body, ok
from .mcp_common import PRINCIPAL_STATE_KEY
from .runtime import Runtime


class EnvelopeResponse(JSONResponse):
    """JSON in compact form (no NaN): every API answer."""

    def render(self, content: Any) -> bytes:
        if type(content) is _Rendered:
            return content.body
        return dumps(content).encode("utf-8")

    @classmethod
    def raw(cls, body: bytes, status: int = 200) -> EnvelopeResponse:
        """A response whose envelope is already rendered (compact JSON bytes)."""
        return cls(_Rendered(body), status_code=status)


class _Rendered:
    """Envelope text rendered ahead of the response (see ``EnvelopeResponse.raw``)."""

    __slots__ = ("body",)

    def __init__(self, body: bytes) -> None:
        self.body = body


def success(data: Any, status: int = 200) -> Response:
    return EnvelopeResponse(ok(data), status_code=status)


def failure(exc: ActivitySchemaError) -> Response:
    return EnvelopeResponse(error_body(exc), status_code=exc.status)


def runtime_of(request: Request) -> Runtime:
    rt: Runtime = request.app.state.runtime
    return rt


def principal_of(request: Request) -> Principal:
    principal = (request.scope.get("state") or {}).get(PRINCIPAL_STATE_KEY)
    if not isinstance(principal, Principal):
        raise AuthError("An API key is required: send 'Authorization: Bearer <key>'.", code="missing_key")
    return principal


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, refusing (413) anything over ``limit`` bytes without reading it all."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"The request body is {int(declared):,} bytes; at most {limit:,} are accepted.",
                              code="body_too_large")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"The request body exceeds {limit:,} bytes.", code="body_too_large")
        chunks.append(chunk)
    return b"".join(chunks)


def parse_json(body: bytes, *, what: str = "request body") -> Any:
    if not body.strip():
        raise ValidationError(f"The {what} is empty; send JSON.", code="invalid_json")
    try:
        return fastjson.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValidationError(f"The {what} is not valid JSON: {str(exc)[:200]}.", code="invalid_json") from None


async def json_object(request: Request, *, optional: bool = False) -> dict[str, Any]:
    body = await read_body(request, runtime_of(request).max_body_bytes)
    if optional and not body.strip():
        return {}
    value = parse_json(body)
    if not isinstance(value, dict):
        raise ValidationError("The request body must be a JSON object.", code="invalid_body")
    return value


async def in_thread(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    return await anyio.to_thread.run_sync(functools.partial(fn, *args, **kwargs))


def int_param(request: Request, name: str, default: int | None = None) -> int | None:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ValidationError(f"Query parameter '{name}' must be an integer, got {raw[:40]!r}.",
                              code="invalid_query_param") from None


def bool_param(request: Request, name: str) -> bool:
    raw = (request.query_params.get(name) or "false").lower()
    if raw not in ("true", "false", "1", "0", "yes", "no"):
        raise ValidationError(f"Query parameter '{name}' must be true or false, got {raw[:40]!r}.",
                              code="invalid_query_param")
    return raw in ("true", "1", "yes")
