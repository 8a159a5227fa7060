"""Snowflake DDL for every table, and the optional governance policies.

Types follow the spec: ``TIMESTAMP_NTZ`` for every timestamp, ``VARIANT`` for JSON, the spec's
lengths on strings. ``activities`` is clustered by ``(TO_DATE(ts), activity)``. The spec's
``ALTER TABLE activities SET AUTO_RECLUSTERING = TRUE`` is not Snowflake syntax: Automatic
Clustering starts by itself once a table has a clustering key, and is switched with
``ALTER TABLE … SUSPEND RECLUSTER`` / ``RESUME RECLUSTER``, so ``RESUME RECLUSTER`` is emitted instead
(docs/snowflake.md). Primary keys are declared for documentation and tools; Snowflake does not
enforce them — the loader's MERGE on ``activity_id`` is what keeps ids unique.

Feature tables that declare only ``DUCKDB_TABLES`` are transpiled with sqlglot (JSON becomes
VARIANT, TIMESTAMP becomes TIMESTAMP_NTZ, lists become ARRAY); a module may give ``SNOWFLAKE_TABLES``
to write its own.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import sqlglot
from sqlglot import exp

from ..errors import ConfigError
from . import columns as C
from .ddl import DUCKDB_TABLES, feature_tables, register_ddl

SNOWFLAKE_TABLES: dict[str, str] = {
    "activities": f"""
CREATE TABLE IF NOT EXISTS activities (
    activity_id            VARCHAR(36) NOT NULL,
    ts                     TIMESTAMP_NTZ(6) NOT NULL,
    activity               VARCHAR({C.ACTIVITY_MAX_LEN}) NOT NULL,
    customer               VARCHAR({C.CUSTOMER_MAX_LEN}),
    anonymous_customer_id  VARCHAR({C.CUSTOMER_MAX_LEN}),
    feature_json           VARIANT,
    revenue_impact         FLOAT,
    link                   VARCHAR({C.LINK_MAX_LEN}),
    activity_occurrence    INTEGER,
    activity_repeated_at   TIMESTAMP_NTZ(6),
    _content_hash          VARCHAR(32),
    _loaded_at             TIMESTAMP_NTZ(6),
    CONSTRAINT activities_pk PRIMARY KEY (activity_id)
)
CLUSTER BY (TO_DATE(ts), activity)""",
    "rejected_activities": """
CREATE TABLE IF NOT EXISTS rejected_activities (
    reject_id      VARCHAR(36) NOT NULL,
    payload        VARCHAR,
    payload_hash   VARCHAR(32) NOT NULL,
    activity_id    VARCHAR,
    reasons        VARIANT NOT NULL,
    reason_codes   ARRAY NOT NULL,
    source         VARCHAR,
    received_at    TIMESTAMP_NTZ(6) NOT NULL,
    status         VARCHAR NOT NULL DEFAULT 'open',
    resolved_at    TIMESTAMP_NTZ(6),
    CONSTRAINT rejected_activities_pk PRIMARY KEY (reject_id)
)""",
    "identity_map": f"""
CREATE TABLE IF NOT EXISTS identity_map (
    anonymous_customer_id  VARCHAR({C.CUSTOMER_MAX_LEN}) NOT NULL,
    customer               VARCHAR({C.CUSTOMER_MAX_LEN}) NOT NULL,
    linked_at              TIMESTAMP_NTZ(6) NOT NULL,
    first_seen_ts          TIMESTAMP_NTZ(6),
    activity_id            VARCHAR(36),
    CONSTRAINT identity_map_pk PRIMARY KEY (anonymous_customer_id)
)""",
    "load_batches": """
CREATE TABLE IF NOT EXISTS load_batches (
    batch_id     VARCHAR(36) NOT NULL,
    source       VARCHAR,
    submitted    BIGINT,
    accepted     BIGINT,
    duplicate    BIGINT,
    rejected     BIGINT,
    started_at   TIMESTAMP_NTZ(6),
    finished_at  TIMESTAMP_NTZ(6),
    CONSTRAINT load_batches_pk PRIMARY KEY (batch_id)
)""",
    "touched_actors": """
CREATE TABLE IF NOT EXISTS touched_actors (
    batch_id    VARCHAR(36) NOT NULL,
    actor       VARCHAR NOT NULL,
    touched_at  TIMESTAMP_NTZ(6) NOT NULL
)""",
    "schema_meta": """
CREATE TABLE IF NOT EXISTS schema_meta (
    key    VARCHAR NOT NULL,
    value  VARCHAR,
    CONSTRAINT schema_meta_pk PRIMARY KEY (key)
)""",
}

# The valid form of the spec's "SET AUTO_RECLUSTERING = TRUE" (see the module docstring).
RECLUSTER_SQL = "ALTER TABLE activities RESUME RECLUSTER"


def _snowflake_types(node: exp.Expr) -> exp.Expr:
    """Structured ARRAY(VARCHAR) is for Iceberg/structured tables; a plain ARRAY holds any list."""
    if isinstance(node, exp.DataType) and node.this == exp.DataType.Type.ARRAY:
        return exp.DataType.build("ARRAY", dialect="snowflake")
    return node


def transpile_table(duckdb_sql: str) -> str:
    """A feature table's DuckDB CREATE TABLE rendered for Snowflake."""
    tree = sqlglot.parse_one(duckdb_sql, read="duckdb").transform(_snowflake_types)
    return tree.sql(dialect="snowflake", pretty=True)


def snowflake_tables() -> dict[str, str]:
    """Every table: the core tables above, then each feature module's (own or transpiled)."""
    every = dict(SNOWFLAKE_TABLES)
    own = feature_tables("SNOWFLAKE_TABLES")
    for name, sql in {**DUCKDB_TABLES, **feature_tables("DUCKDB_TABLES")}.items():
        if name not in every:
            every[name] = own.get(name) or transpile_table(sql)
    every.update({n: s for n, s in own.items() if n not in SNOWFLAKE_TABLES})
    return every


def snowflake_ddl() -> list[str]:
    statements = [sql.strip().rstrip(";") + ";" for sql in snowflake_tables().values()]
    return [*statements, RECLUSTER_SQL + ";"]


register_ddl("snowflake", snowflake_ddl)


# -- governance policies (optional; `activityschema ddl --dialect snowflake --policies`) -------------

ROLE_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_$]{0,254}$")
JSON_KEY_RE = re.compile(r"^[A-Za-z0-9_.\-]{1,128}$")
ADMIN_ROLE_DEFAULT = "ACTIVITYSCHEMA_ADMIN"
PII_ROLE_DEFAULT = "ACTIVITYSCHEMA_PII_READER"
PII_KEYS_DEFAULT = ("email", "phone", "ip_address", "name")


@dataclass(frozen=True)
class PolicyOptions:
    """Roles and feature keys the policies name; each is checked against a strict pattern."""

    admin_role: str = ADMIN_ROLE_DEFAULT
    pii_role: str = PII_ROLE_DEFAULT
    pii_keys: tuple[str, ...] = field(default=PII_KEYS_DEFAULT)

    def __post_init__(self) -> None:
        for label, role in (("admin role", self.admin_role), ("PII role", self.pii_role)):
            if not ROLE_RE.match(role):
                raise ConfigError(f"Policy {label} '{role}' is not a valid Snowflake role name: "
                                  "use letters, digits, _ and $, starting with a letter or _.")
        for key in self.pii_keys:
            if not JSON_KEY_RE.match(key):
                raise ConfigError(f"PII key '{key}' is not allowed: use letters, digits, _, . and -.")


def _lit(text: str) -> str:
    """A string literal for a value already checked against ROLE_RE / JSON_KEY_RE."""
    return "'" + text.replace("'", "''") + "'"


def policy_ddl(options: PolicyOptions | None = None) -> list[str]:
    """Row access and masking policies for the governance features (docs/snowflake.md).

    - ``activityschema_access_grants`` maps a role to the actors it may read (``'*'`` = all).
    - Row access on ``activities(customer, anonymous_customer_id)``: the admin role sees every row,
      other roles the actors granted to them.
    - Masking on ``feature_json`` (PII keys removed) and ``link`` (NULL) for roles without the PII role.
    Snowflake does not allow one column in both a row access and a masking policy signature, so the
    actor columns are protected by row access, not masked.
    """
    o = options or PolicyOptions()
    admin, pii = _lit(o.admin_role.upper()), _lit(o.pii_role.upper())
    keys = ", ".join(_lit(k) for k in o.pii_keys)
    strip = f"OBJECT_DELETE(val, {keys})" if keys else "val"
    return [
        """CREATE TABLE IF NOT EXISTS activityschema_access_grants (
    role_name  VARCHAR NOT NULL,
    actor      VARCHAR NOT NULL,
    CONSTRAINT activityschema_access_grants_pk PRIMARY KEY (role_name, actor)
);""",
        f"""CREATE ROW ACCESS POLICY IF NOT EXISTS activityschema_actor_access
AS (customer VARCHAR, anonymous_customer_id VARCHAR) RETURNS BOOLEAN ->
    IS_ROLE_IN_SESSION({admin})
    OR EXISTS (
        SELECT 1 FROM activityschema_access_grants g
        WHERE IS_ROLE_IN_SESSION(g.role_name)
          AND (g.actor = '*' OR g.actor = COALESCE(customer, anonymous_customer_id))
    )
COMMENT = 'activityschema: actors a role may read';""",
        f"""CREATE MASKING POLICY IF NOT EXISTS activityschema_mask_features
AS (val VARIANT) RETURNS VARIANT ->
    CASE WHEN IS_ROLE_IN_SESSION({pii}) OR IS_ROLE_IN_SESSION({admin}) THEN val
         WHEN IS_OBJECT(val) THEN {strip}
         ELSE val END
COMMENT = 'activityschema: remove PII keys from feature_json';""",
        f"""CREATE MASKING POLICY IF NOT EXISTS activityschema_mask_link
AS (val VARCHAR) RETURNS VARCHAR ->
    CASE WHEN IS_ROLE_IN_SESSION({pii}) OR IS_ROLE_IN_SESSION({admin}) THEN val ELSE NULL END
COMMENT = 'activityschema: hide links from roles without PII access';""",
        "ALTER TABLE activities ADD ROW ACCESS POLICY activityschema_actor_access "
        "ON (customer, anonymous_customer_id);",
        "ALTER TABLE activities MODIFY COLUMN feature_json "
        "SET MASKING POLICY activityschema_mask_features;",
        "ALTER TABLE activities MODIFY COLUMN link SET MASKING POLICY activityschema_mask_link;",
    ]
