"""The one success/error envelope used by the CLI, the HTTP API and the MCP server."""

from __future__ import annotations

from typing import Any

from ..errors import ActivitySchemaError


def ok(data: Any, **meta: Any) -> dict[str, Any]:
    return {"ok": True, "data": data, **meta}


def error_body(exc: ActivitySchemaError) -> dict[str, Any]:
    return {"ok": False, "error": exc.to_dict()}


def cli_message(exc: ActivitySchemaError) -> str:
    """One line for stderr: the code and the message."""
    return f"error [{exc.code}]: {exc.message}"


def internal_error() -> dict[str, Any]:
    return {"ok": False, "error": {"code": "internal_error", "message": "Internal error; see the server log.", "details": None}}
