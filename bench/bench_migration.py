"""Throughput of the v1 → v2 migration on DuckDB, against importing the same events as v2 NDJSON.

Usage: python bench/bench_migration.py [N]   (N v1 rows, default 1_000_000)

The v1 table is generated inside DuckDB (deterministic; 5 % of rows anonymous-only, 5 % linking an
anonymous id, 0.5 % exact duplicates). The peer is `import_file` of the same events written as v2
NDJSON (ids given), measured in the same run on a fresh store; the ratio is migration / import.
Also prints the number of Snowflake statements one ingest batch costs (counted on the fakesnow
emulator: a fixed cost per batch, whatever its size), when fakesnow is installed.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time

ROWS_DEFAULT = 1_000_000
MEMORY_LIMIT = "1GB"  # both stores, so a full-size run stays bounded

GENERATE_V1 = """
CREATE TABLE activities AS
SELECT TIMESTAMP '2023-01-01' + to_microseconds(i * 1_000_003) AS ts,
       CASE WHEN i % 2 = 0 THEN 'web' ELSE 'app' END AS source, 's' || i AS source_id,
       CASE WHEN i % 20 = 0 THEN NULL ELSE 'c' || (i % {customers}) END AS customer,
       ['visited_page', 'started_session', 'completed_order'][1 + i % 3] AS activity,
       'f1-' || (i % 97) AS feature_1, CASE WHEN i % 3 = 0 THEN 'f2-' || (i % 13) END AS feature_2,
       NULL::VARCHAR AS feature_3,
       CASE WHEN i % 3 = 2 THEN round((i % 9000) / 100.0, 2) END AS revenue_impact,
       NULL::VARCHAR AS link, 'etl' AS _activity_source,
       CASE WHEN i % 20 IN (0, 1) THEN 'anon' || (i % {anons}) END AS anonymous_customer_id
FROM range({n}) t(i)
UNION ALL
SELECT * FROM (SELECT TIMESTAMP '2023-01-01' + to_microseconds(i * 1_000_003), CASE WHEN i % 2 = 0 THEN 'web' ELSE 'app' END,
               's' || i, CASE WHEN i % 20 = 0 THEN NULL ELSE 'c' || (i % {customers}) END,
               ['visited_page', 'started_session', 'completed_order'][1 + i % 3], 'f1-' || (i % 97),
               CASE WHEN i % 3 = 0 THEN 'f2-' || (i % 13) END, NULL::VARCHAR,
               CASE WHEN i % 3 = 2 THEN round((i % 9000) / 100.0, 2) END, NULL::VARCHAR, 'etl',
               CASE WHEN i % 20 IN (0, 1) THEN 'anon' || (i % {anons}) END
        FROM range({n}) t(i) WHERE i % 200 = 7)
"""

EXPORT_V2 = """
COPY (SELECT activity_id, strftime(ts, '%Y-%m-%dT%H:%M:%S.%fZ') AS ts, activity, customer, anonymous_customer_id,
             feature_json, revenue_impact, link
      FROM activities) TO '{path}' (FORMAT json)
"""


def migrate_once(path: str, rows: int) -> tuple[float, float, object]:
    from activityschema.migrate import migrate
    from activityschema.store.duckdb import DuckDBStore

    store = DuckDBStore(path)
    store.execute(f"SET memory_limit = '{MEMORY_LIMIT}'")
    with store.write() as con:
        con.execute("DROP TABLE activities")
        con.execute(GENERATE_V1.format(n=rows, customers=max(rows // 20, 1), anons=max(rows // 50, 1)))
    wall, cpu = time.perf_counter(), time.process_time()
    report = migrate(store, sample_size=1000)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    store.close()
    return wall, cpu, report


def import_peer(tmp: str, migrated: str) -> tuple[float, float, int]:
    import duckdb

    from activityschema.ingest.importer import import_file
    from activityschema.store.duckdb import DuckDBStore

    ndjson = os.path.join(tmp, "v2.ndjson")
    with duckdb.connect(migrated, read_only=True) as con:
        con.execute(EXPORT_V2.format(path=ndjson))
    store = DuckDBStore(os.path.join(tmp, "peer.duckdb"))
    store.execute(f"SET memory_limit = '{MEMORY_LIMIT}'")
    wall, cpu = time.perf_counter(), time.process_time()
    report = import_file(store, ndjson)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    store.close()
    return wall, cpu, report.accepted


def snowflake_statements_per_batch() -> int | None:
    try:
        from fakesnow.instance import FakeSnow
    except ImportError:
        return None
    from activityschema.ingest.importer import ingest_records
    from activityschema.store.snowflake import SnowflakeStore
    from activityschema.store.snowflake_config import SnowflakeConfig

    import logging

    logging.getLogger("sqlglot").setLevel(logging.ERROR)
    fs = FakeSnow()
    store = SnowflakeStore(SnowflakeConfig(account="bench", user="bench", database="BENCH", password="x"),
                           connect=fs.connect)
    calls = []
    original = SnowflakeStore._run

    def counting(self, cur, sql, params):  # type: ignore[no-untyped-def]
        calls.append(sql)
        original(self, cur, sql, params)

    SnowflakeStore._run = counting  # type: ignore[method-assign]
    try:
        events = [{"activity": "visited_page", "ts": f"2026-01-0{d}T00:00:00Z", "customer": "c1"} for d in range(1, 6)]
        ingest_records(store, events)
        calls.clear()
        ingest_records(store, [{**e, "customer": "c2"} for e in events])
        return len(calls) + 4  # + the executemany upload, autocommit off, COMMIT, autocommit on
    finally:
        SnowflakeStore._run = original  # type: ignore[method-assign]
        store.close()
        fs.duck_conn.close()


def main(argv: list[str]) -> int:
    rows = int(argv[1].replace("_", "")) if len(argv) > 1 else ROWS_DEFAULT
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "v1.duckdb")
        wall, cpu, report = migrate_once(path, rows)
        total = report.source_rows  # type: ignore[attr-defined]
        print(f"migrate v1.1 → v2.0 (duckdb): {total:,} rows (kept {report.kept:,}, "  # type: ignore[attr-defined]
              f"duplicates {report.duplicates:,}) in {wall:.2f} s wall ({cpu:.2f} s CPU), "  # type: ignore[attr-defined]
              f"validation {'ok' if report.validation.ok else 'FAILED'}")  # type: ignore[attr-defined]
        print(f"{total / wall:,.0f} rows/s wall, {total / cpu:,.0f} rows/s CPU")
        peer_wall, peer_cpu, accepted = import_peer(tmp, path)
        print(f"peer import_file of the same {accepted:,} events as v2 NDJSON: {peer_wall:.2f} s wall "
              f"({peer_cpu:.2f} s CPU)")
        print(f"ratio migration / import: {wall / peer_wall:.2f} wall, {cpu / peer_cpu:.2f} CPU")
    statements = snowflake_statements_per_batch()
    if statements is not None:
        print(f"snowflake load: {statements} statements per batch (fixed, whatever the batch size)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
