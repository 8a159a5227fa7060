"""The per-partition summary the merge keeps beside ``activities`` (ingest/merge.py).

One row per (actor, activity) partition: how many events it holds (= the largest
``activity_occurrence``) and its last event by ``(ts, activity_id)``. With it, appending events in
time order needs no scan of ``activities``: the new rows continue the numbering and only the
previous last row's ``activity_repeated_at`` changes. It is derived data: the merge rebuilds it from
``activities`` whenever the row count it was built for differs (another writer added or removed
events), so it can never be trusted when stale.
"""

DUCKDB_TABLES = {
    "activity_partitions": """
CREATE TABLE IF NOT EXISTS activity_partitions (
    actor             VARCHAR NOT NULL,
    activity          VARCHAR NOT NULL,
    max_occurrence    BIGINT NOT NULL,
    last_ts           TIMESTAMP NOT NULL,
    last_activity_id  VARCHAR NOT NULL
)""",
}
