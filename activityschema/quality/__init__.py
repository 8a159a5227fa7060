"""Data quality: the activity catalog, feature schemas, drift and volume-anomaly detection, typed views.

The spec's Data Quality practices — validate on ingestion, monitor for anomalies, track schema
evolution, document all activities — as library functions; the CLI (``catalog``, ``quality``) and
the MCP server only call these. See docs/quality.md.
"""

from __future__ import annotations

from .anomalies import detect_anomalies
from .catalog import describe_activity, list_activities
from .drift import detect_drift
from .schemas import (
    BUILTIN_SCHEMAS,
    builtin_schema,
    check_stored,
    list_schema_warnings,
    list_schemas,
    register_schema,
    remove_schema,
    set_schema_mode,
)
from .views import cast_failures, create_typed_views, snowflake_typed_views_ddl

__all__ = [
    "BUILTIN_SCHEMAS",
    "builtin_schema",
    "cast_failures",
    "check_stored",
    "create_typed_views",
    "describe_activity",
    "detect_anomalies",
    "detect_drift",
    "list_activities",
    "list_schema_warnings",
    "list_schemas",
    "register_schema",
    "remove_schema",
    "set_schema_mode",
    "snowflake_typed_views_ddl",
]
