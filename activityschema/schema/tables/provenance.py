"""Tables of the provenance chain (the spec's table, plus a run log and collision reports)."""

DUCKDB_TABLES = {
    "provenance_chain": """
CREATE TABLE IF NOT EXISTS provenance_chain (
    query_hash     VARCHAR PRIMARY KEY,
    template_name  VARCHAR,
    query_text     VARCHAR,
    parameters     JSON,
    created_at     TIMESTAMP,
    created_by     VARCHAR
)""",
    "provenance_runs": """
CREATE TABLE IF NOT EXISTS provenance_runs (
    query_hash   VARCHAR NOT NULL,
    run_at       TIMESTAMP NOT NULL,
    run_by       VARCHAR,
    row_count    BIGINT,
    duration_ms  DOUBLE
)""",
    "provenance_collisions": """
CREATE TABLE IF NOT EXISTS provenance_collisions (
    query_hash     VARCHAR NOT NULL,
    template_name  VARCHAR,
    query_text     VARCHAR,
    parameters     JSON,
    seen_at        TIMESTAMP NOT NULL
)""",
}
