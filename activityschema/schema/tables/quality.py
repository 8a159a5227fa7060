"""Tables of the data-quality features (``activityschema/quality``) and the DuckDB typed views.

- ``activity_catalog``: the user-written description of each activity (``catalog describe``).
- ``feature_schemas``: at most one JSON Schema per activity, with its enforcement mode
  (``off`` | ``warn`` | ``reject``) — read by the ingest check ``ingest/checks/feature_schema.py``.
- ``schema_warnings``: records accepted in ``warn`` mode although their feature_json failed the
  schema, with the reasons (one row per activity_id).

The typed views (``tool_executions``, ``user_interactions``, ``system_events``; see
``schema/typed_views.py``) are (re)created with the tables every time the store opens, so they exist in
every DuckDB store without a separate step. Their Snowflake form is ``snowflake_typed_views_ddl()``.
"""

from __future__ import annotations

from ..typed_views import duckdb_views_ddl

SCHEMA_MODES = ("off", "warn", "reject")

DUCKDB_TABLES: dict[str, str] = {
    "activity_catalog": """
CREATE TABLE IF NOT EXISTS activity_catalog (
    activity     VARCHAR PRIMARY KEY,
    description  VARCHAR NOT NULL,
    updated_at   TIMESTAMP NOT NULL
)""",
    "feature_schemas": """
CREATE TABLE IF NOT EXISTS feature_schemas (
    activity       VARCHAR PRIMARY KEY,
    schema_name    VARCHAR NOT NULL,
    schema_json    JSON NOT NULL,
    mode           VARCHAR NOT NULL CHECK (mode IN ('off', 'warn', 'reject')),
    registered_at  TIMESTAMP NOT NULL
)""",
    "schema_warnings": """
CREATE TABLE IF NOT EXISTS schema_warnings (
    activity_id  VARCHAR NOT NULL,
    activity     VARCHAR NOT NULL,
    ts           TIMESTAMP,
    schema_name  VARCHAR NOT NULL,
    reasons      JSON NOT NULL,
    recorded_at  TIMESTAMP NOT NULL
)""",
}

# Views over ``activities``: created after the tables, only once ``activities`` is a v2 stream.
DUCKDB_VIEWS: dict[str, str] = duckdb_views_ddl()

SNOWFLAKE_TABLES: dict[str, str] = {
    "activity_catalog": """
CREATE TABLE IF NOT EXISTS activity_catalog (
    activity     STRING PRIMARY KEY,
    description  STRING NOT NULL,
    updated_at   TIMESTAMP_NTZ NOT NULL
)""",
    "feature_schemas": """
CREATE TABLE IF NOT EXISTS feature_schemas (
    activity       STRING PRIMARY KEY,
    schema_name    STRING NOT NULL,
    schema_json    VARIANT NOT NULL,
    mode           STRING NOT NULL,
    registered_at  TIMESTAMP_NTZ NOT NULL
)""",
    "schema_warnings": """
CREATE TABLE IF NOT EXISTS schema_warnings (
    activity_id  STRING NOT NULL,
    activity     STRING NOT NULL,
    ts           TIMESTAMP_NTZ,
    schema_name  STRING NOT NULL,
    reasons      VARIANT NOT NULL,
    recorded_at  TIMESTAMP_NTZ NOT NULL
)""",
}
