"""DDL of every table, per dialect.

The logical tables are in ARCHITECTURE.md. Snowflake DDL lives in ``schema/ddl_snowflake.py``; this
module holds the DuckDB (embedded) form and the registry both are reached through.
"""

from __future__ import annotations

from collections.abc import Callable

from ..errors import ConfigError, suggest

SCHEMA_VERSION = 1

DUCKDB_TABLES: dict[str, str] = {
    "activities": """
CREATE TABLE IF NOT EXISTS activities (
    activity_id            VARCHAR NOT NULL,
    ts                     TIMESTAMP NOT NULL,
    activity               VARCHAR NOT NULL,
    customer               VARCHAR,
    anonymous_customer_id  VARCHAR,
    feature_json           JSON,
    revenue_impact         DOUBLE,
    link                   VARCHAR,
    activity_occurrence    INTEGER,
    activity_repeated_at   TIMESTAMP,
    _content_hash          VARCHAR,
    _loaded_at             TIMESTAMP
)""",
    "rejected_activities": """
CREATE TABLE IF NOT EXISTS rejected_activities (
    reject_id      VARCHAR PRIMARY KEY,
    payload        VARCHAR,
    payload_hash   VARCHAR NOT NULL,
    activity_id    VARCHAR,
    reasons        JSON NOT NULL,
    reason_codes   VARCHAR[] NOT NULL,
    source         VARCHAR,
    received_at    TIMESTAMP NOT NULL,
    status         VARCHAR NOT NULL DEFAULT 'open',
    resolved_at    TIMESTAMP
)""",
    "identity_map": """
CREATE TABLE IF NOT EXISTS identity_map (
    anonymous_customer_id  VARCHAR PRIMARY KEY,
    customer               VARCHAR NOT NULL,
    linked_at              TIMESTAMP NOT NULL,
    first_seen_ts          TIMESTAMP,
    activity_id            VARCHAR
)""",
    "load_batches": """
CREATE TABLE IF NOT EXISTS load_batches (
    batch_id     VARCHAR PRIMARY KEY,
    source       VARCHAR,
    submitted    BIGINT,
    accepted     BIGINT,
    duplicate    BIGINT,
    rejected     BIGINT,
    started_at   TIMESTAMP,
    finished_at  TIMESTAMP
)""",
    "touched_actors": """
CREATE TABLE IF NOT EXISTS touched_actors (
    batch_id    VARCHAR NOT NULL,
    actor       VARCHAR NOT NULL,
    touched_at  TIMESTAMP NOT NULL
)""",
    "schema_meta": """
CREATE TABLE IF NOT EXISTS schema_meta (
    key    VARCHAR PRIMARY KEY,
    value  VARCHAR
)""",
}

DdlRenderer = Callable[[], list[str]]
_RENDERERS: dict[str, DdlRenderer] = {}


def register_ddl(dialect: str, renderer: DdlRenderer) -> DdlRenderer:
    """Register the function that renders every CREATE statement for a dialect."""
    _RENDERERS[dialect] = renderer
    return renderer


def feature_tables(attr: str) -> dict[str, str]:
    """Tables declared by the modules of ``schema/tables/`` (attribute ``DUCKDB_TABLES`` etc.)."""
    import importlib
    import pkgutil

    from . import tables

    found: dict[str, str] = {}
    for info in sorted(pkgutil.iter_modules(tables.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{tables.__name__}.{info.name}")
        found.update(getattr(module, attr, {}))
    return found


def duckdb_upgrades() -> list[str]:
    """Idempotent changes to tables of older stores (``DUCKDB_UPGRADES``: a column added later),
    applied on every writable open after the CREATE statements."""
    return [sql.strip().rstrip(";") + ";" for sql in feature_tables("DUCKDB_UPGRADES").values()]


def duckdb_views() -> list[str]:
    """Views declared by feature modules (``DUCKDB_VIEWS``); they read ``activities``."""
    return [sql.strip().rstrip(";") + ";" for sql in feature_tables("DUCKDB_VIEWS").values()]


def duckdb_ddl() -> list[str]:
    every = {**DUCKDB_TABLES, **feature_tables("DUCKDB_TABLES")}
    return [sql.strip().rstrip(";") + ";" for sql in every.values()]


register_ddl("duckdb", duckdb_ddl)


def render_ddl(dialect: str) -> list[str]:
    if dialect == "snowflake" and dialect not in _RENDERERS:
        from . import ddl_snowflake  # noqa: F401  (registers itself)
    try:
        return _RENDERERS[dialect]()
    except KeyError:
        raise ConfigError(f"Unknown dialect '{dialect}'." + suggest(dialect, list(_RENDERERS))) from None
