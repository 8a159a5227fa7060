"""API keys (governance/access.py): only a hash of each secret is stored, never the secret."""

DUCKDB_TABLES = {
    "api_keys": """
CREATE TABLE IF NOT EXISTS api_keys (
    key_id       VARCHAR PRIMARY KEY,
    name         VARCHAR NOT NULL,
    secret_hash  VARCHAR NOT NULL,
    scopes       VARCHAR[] NOT NULL,
    customers    VARCHAR[],
    created_at   TIMESTAMP NOT NULL,
    revoked_at   TIMESTAMP,
    tenant       VARCHAR
)""",
}
# Stores created before keys could carry a tenant get the column on open (idempotent).
DUCKDB_UPGRADES = {"api_keys.tenant": "ALTER TABLE api_keys ADD COLUMN IF NOT EXISTS tenant VARCHAR"}
