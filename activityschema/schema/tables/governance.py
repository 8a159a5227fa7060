"""Tables of governance: suppression list, policies, audit chain, erasure receipts, disclosures.

No table here holds a readable customer identifier: subjects are keyed hashes (HMAC-SHA256 under the
store's keyed-hash secret, see ``governance/keys.py``), so erasure never has to come back to them.
"""

DUCKDB_TABLES = {
    "governance_secrets": """
CREATE TABLE IF NOT EXISTS governance_secrets (
    name        VARCHAR PRIMARY KEY,
    value       BLOB NOT NULL,
    wrapped_by  VARCHAR,
    created_at  TIMESTAMP NOT NULL
)""",
    "suppressions": """
CREATE TABLE IF NOT EXISTS suppressions (
    subject_hash  VARCHAR PRIMARY KEY,
    group_hash    VARCHAR NOT NULL,
    kind          VARCHAR NOT NULL,
    reason        VARCHAR NOT NULL,
    created_at    TIMESTAMP NOT NULL,
    created_by    VARCHAR
)""",
    "governance_policies": """
CREATE TABLE IF NOT EXISTS governance_policies (
    name        VARCHAR PRIMARY KEY,
    value       VARCHAR NOT NULL,
    updated_at  TIMESTAMP NOT NULL,
    updated_by  VARCHAR
)""",
    "retention_policies": """
CREATE TABLE IF NOT EXISTS retention_policies (
    pattern       VARCHAR PRIMARY KEY,
    max_age_days  INTEGER NOT NULL,
    created_at    TIMESTAMP NOT NULL,
    created_by    VARCHAR
)""",
    "audit_log": """
CREATE TABLE IF NOT EXISTS audit_log (
    seq         BIGINT PRIMARY KEY,
    logged_at   TIMESTAMP NOT NULL,
    actor       VARCHAR NOT NULL,
    action      VARCHAR NOT NULL,
    template    VARCHAR,
    query_hash  VARCHAR,
    row_count   BIGINT,
    subject     VARCHAR,
    details     VARCHAR,
    prev_hash   VARCHAR NOT NULL,
    entry_hash  VARCHAR NOT NULL
)""",
    "audit_head": """
CREATE TABLE IF NOT EXISTS audit_head (
    id          INTEGER PRIMARY KEY,
    seq         BIGINT NOT NULL,
    entry_hash  VARCHAR NOT NULL,
    seal        VARCHAR NOT NULL
)""",
    "erasures": """
CREATE TABLE IF NOT EXISTS erasures (
    erasure_id    VARCHAR PRIMARY KEY,
    subject_hash  VARCHAR NOT NULL,
    requested_by  VARCHAR,
    completed_at  TIMESTAMP NOT NULL,
    report        VARCHAR NOT NULL
)""",
    "disclosures": """
CREATE TABLE IF NOT EXISTS disclosures (
    export_id   VARCHAR PRIMARY KEY,
    recipient   VARCHAR NOT NULL,
    purpose     VARCHAR NOT NULL,
    created_at  TIMESTAMP NOT NULL,
    created_by  VARCHAR,
    row_count   BIGINT NOT NULL,
    subjects    BIGINT NOT NULL
)""",
    "disclosure_subjects": """
CREATE TABLE IF NOT EXISTS disclosure_subjects (
    export_id     VARCHAR NOT NULL,
    subject_hash  VARCHAR NOT NULL,
    first_ts      TIMESTAMP,
    last_ts       TIMESTAMP,
    events        BIGINT NOT NULL
)""",
}
