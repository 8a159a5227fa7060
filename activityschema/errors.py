"""The whole exception tree of activityschema.

    ActivitySchemaError                  code, status, message, details
    ├── ValidationError          400     a record or request breaks a rule
    ├── ConfigError              400     a setting has a bad value
    ├── QueryError               400     an analytic request cannot run as asked
    │   └── UnsupportedFeature   400     a backend cannot express a construct
    ├── NotFoundError            404     a named thing does not exist
    ├── AuthError                401     no or bad credentials
    ├── PermissionDenied         403     credentials lack the scope
    ├── GovernanceError          403     a compliance rule refuses the action
    ├── ConflictError            409     optimistic concurrency or hash collision
    ├── PayloadTooLarge          413     a request exceeds a size limit
    ├── IngestError              500     ingestion failed (spool, loader)
    │   └── BackpressureError    503     the spool backlog is over its bound
    └── StoreError               500     the database failed (driver errors are wrapped here)

Every error has a stable snake_case ``code`` and an HTTP ``status`` so the CLI, the HTTP API and the
MCP server render it the same way (see ``interfaces/envelope.py``).
"""

from __future__ import annotations

from typing import Any


class ActivitySchemaError(Exception):
    """Root of every error this package raises on purpose."""

    code = "activityschema_error"
    status = 500

    def __init__(self, message: str, *, code: str | None = None, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.details = details

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "details": self.details}


class ValidationError(ActivitySchemaError):
    code = "validation_error"
    status = 400


class ConfigError(ActivitySchemaError):
    code = "config_error"
    status = 400


class QueryError(ActivitySchemaError):
    code = "query_error"
    status = 400


class UnsupportedFeature(QueryError):
    code = "unsupported_feature"

    def __init__(self, dialect: str, feature: str) -> None:
        super().__init__(f"The {dialect} backend does not support {feature}.")
        self.dialect = dialect
        self.feature = feature


class NotFoundError(ActivitySchemaError):
    code = "not_found"
    status = 404


class AuthError(ActivitySchemaError):
    code = "unauthorized"
    status = 401


class PermissionDenied(ActivitySchemaError):
    code = "forbidden"
    status = 403


class GovernanceError(ActivitySchemaError):
    code = "governance_error"
    status = 403


class ConflictError(ActivitySchemaError):
    code = "conflict"
    status = 409


class PayloadTooLarge(ActivitySchemaError):
    code = "payload_too_large"
    status = 413


class IngestError(ActivitySchemaError):
    code = "ingest_error"
    status = 500


class BackpressureError(IngestError):
    code = "backpressure"
    status = 503


class StoreError(ActivitySchemaError):
    code = "store_error"
    status = 500


def suggest(name: str, choices: list[str]) -> str:
    """Return ``" Did you mean 'x'?"`` for the closest choice, or an empty string."""
    import difflib

    close = difflib.get_close_matches(name, choices, n=1)
    return f" Did you mean '{close[0]}'?" if close else ""
