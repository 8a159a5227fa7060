"""Tables of agent memory: the spec's InsightAtom and ContextCache (SEMANTICS §8).

``insight_atoms`` keeps the spec's columns plus ``expires_at`` (``ts + ttl``, precomputed so every read
can filter expired atoms with one comparison) and ``created_by``. ``context_cache`` keeps the spec's
columns plus ``_content_hash`` (so a rebuild that changes nothing does not bump ``version``).
"""

DUCKDB_TABLES = {
    "insight_atoms": """
CREATE TABLE IF NOT EXISTS insight_atoms (
    atom_id                VARCHAR PRIMARY KEY,
    customer_id            VARCHAR NOT NULL,
    subject                VARCHAR NOT NULL,
    metric                 VARCHAR NOT NULL,
    value                  JSON,
    provenance_query_hash  VARCHAR NOT NULL,
    ts                     TIMESTAMP NOT NULL,
    ttl                    DOUBLE,
    expires_at             TIMESTAMP,
    created_by             VARCHAR
)""",
    "context_cache": """
CREATE TABLE IF NOT EXISTS context_cache (
    customer_id    VARCHAR PRIMARY KEY,
    context        JSON NOT NULL,
    updated_at     TIMESTAMP NOT NULL,
    version        INTEGER NOT NULL DEFAULT 1,
    _content_hash  VARCHAR
)""",
}
