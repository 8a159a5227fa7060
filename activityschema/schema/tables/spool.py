"""Tables of the spool loader.

``spool_progress`` is the loader's committed offset per spool segment, written in the same
transaction as the events it loaded: after a crash between the store commit and the offsets file,
the loader resumes from here and replays nothing (so duplicate counts stay the producers' own).
On Snowflake the offsets are written in the load's transaction as well (``snowflake_load``).
"""

from __future__ import annotations

DUCKDB_TABLES = {
    "spool_progress": """
CREATE TABLE IF NOT EXISTS spool_progress (
    segment     VARCHAR PRIMARY KEY,
    end_offset  BIGINT NOT NULL,
    batch_id    VARCHAR,
    updated_at  TIMESTAMP NOT NULL
)""",
}

SNOWFLAKE_TABLES = {
    "spool_progress": """
CREATE TABLE IF NOT EXISTS spool_progress (
    segment     STRING PRIMARY KEY,
    end_offset  NUMBER(19, 0) NOT NULL,
    batch_id    STRING,
    updated_at  TIMESTAMP_NTZ NOT NULL
)""",
}
