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
    revoked_at   TIMESTAMP
)""",
}
