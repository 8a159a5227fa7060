"""Tables owned by feature packages. Each module here exposes ``DUCKDB_TABLES: dict[str, str]``
(CREATE TABLE IF NOT EXISTS statements) and may expose ``SNOWFLAKE_TABLES`` and ``DUCKDB_UPGRADES``
(idempotent ALTERs for stores created before a column existed); the store creates them all
when it opens, in module-name order."""
