"""Import benchmark (issue 2).

1. Import of an N-event demo NDJSON file into an empty store vs the floor: DuckDB's own read_json of
   the same file into a table, no validation. Goal: import <= 1.5x the floor's time, peak RSS <= 3 GB.
2. Importing 100k new events (10% of them late, i.e. older than what the store holds for that actor)
   into the N-event store vs a full helper-column recompute of the same store. Goal: <= 10%.

Usage: python bench/bench_import.py [N=10_000_000] [REPEATS=1]
Each measurement runs in a fresh process (honest peak RSS); figures are medians over REPEATS.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import demo_file, median, run_child  # noqa: E402

FLOOR = """
import duckdb, sys
con = duckdb.connect(sys.argv[2])
con.execute(f"CREATE TABLE raw AS SELECT * FROM read_json('{sys.argv[1]}', format='newline_delimited')")
result = con.execute("SELECT count(*) FROM raw").fetchone()[0]
"""

IMPORT = """
import sys
from activityschema.store.duckdb import DuckDBStore
from activityschema.ingest.importer import import_file
store = DuckDBStore(sys.argv[2])
report = import_file(store, sys.argv[1])
result = report.to_dict()
"""

INCREMENTAL = """
import sys, shutil
from activityschema.store.duckdb import DuckDBStore
from activityschema.ingest.importer import import_file
shutil.copy(sys.argv[2], sys.argv[3])
store = DuckDBStore(sys.argv[3])
import time
t = time.perf_counter()
report = import_file(store, sys.argv[1])
result = dict(report=report.to_dict(), load_seconds=time.perf_counter() - t)
"""

FULL_RECOMPUTE = """
import sys, shutil, time
from activityschema.store.duckdb import DuckDBStore
shutil.copy(sys.argv[2], sys.argv[3])
store = DuckDBStore(sys.argv[3])
t = time.perf_counter()
with store.write() as con:
    con.execute('''
        UPDATE activities SET activity_occurrence = r.occ, activity_repeated_at = r.rep
        FROM (SELECT activity_id,
                     row_number() OVER w AS occ, lead(ts) OVER w AS rep
              FROM activities
              WINDOW w AS (PARTITION BY coalesce(customer, anonymous_customer_id), activity
                           ORDER BY ts, activity_id)) r
        WHERE activities.activity_id = r.activity_id''')
result = dict(load_seconds=time.perf_counter() - t)
"""

NEW_EVENTS = """
import sys, json, random, uuid, duckdb, datetime as dt
random.seed(11)
con = duckdb.connect(sys.argv[2], read_only=True)
partitions = con.execute("SELECT customer, activity, min(ts), max(ts) FROM activities WHERE customer IS NOT NULL "
                         "GROUP BY ALL USING SAMPLE 100000 ROWS").fetchall()
with open(sys.argv[1], 'w') as out:
    for i, (customer, activity, first, last) in enumerate(partitions):
        # every 10th event is late: older than the partition's first event, so it renumbers it
        ts = first - dt.timedelta(hours=1) if i % 10 == 0 else last + dt.timedelta(minutes=1 + i % 997)
        out.write(json.dumps({"activity_id": str(uuid.UUID(int=random.getrandbits(128), version=4)),
                              "ts": ts.isoformat() + "Z", "activity": activity, "customer": customer,
                              "feature_json": {"bench": True}}) + "\\n")
result = len(partitions)
"""


def main() -> None:
    n = int(float(sys.argv[1])) if len(sys.argv) > 1 else 10_000_000
    repeats = int(sys.argv[2]) if len(sys.argv) > 2 else 1
    work = Path(tempfile.gettempdir()) / "activityschema-bench"
    work.mkdir(exist_ok=True)
    src = demo_file(work / f"demo-{n}.ndjson", n)
    size_mb = src.stat().st_size / 1e6
    print(f"file: {src} ({n:,} events, {size_mb:,.0f} MB)")
    floors, imports = [], []
    for r in range(repeats):
        for p in work.glob("floor-*.duckdb*"):
            p.unlink()
        for p in work.glob(f"store-{n}.duckdb*"):
            p.unlink()
        floors.append(run_child(FLOOR, str(src), str(work / f"floor-{r}.duckdb")))
        imports.append(run_child(IMPORT, str(src), str(work / f"store-{n}.duckdb")))
    f_s = median([f["seconds"] for f in floors])
    i_s = median([i["seconds"] for i in imports])
    print(f"floor  read_json -> table : {f_s:8.2f} s  peak RSS {max(f['peak_rss_mb'] for f in floors):7.0f} MB")
    print(f"import (validate+merge)   : {i_s:8.2f} s  peak RSS {max(i['peak_rss_mb'] for i in imports):7.0f} MB  "
          f"{n / i_s:,.0f} events/s  accepted {imports[-1]['result']['accepted']:,}")
    print(f"ratio import/floor        : {i_s / f_s:8.2f}x   (goal <= 1.5x)")

    new = work / "new-100k.ndjson"
    made = run_child(NEW_EVENTS, str(new), str(work / f"store-{n}.duckdb"))
    inc = run_child(INCREMENTAL, str(new), str(work / f"store-{n}.duckdb"), str(work / "inc.duckdb"))
    full = run_child(FULL_RECOMPUTE, str(new), str(work / f"store-{n}.duckdb"), str(work / "full.duckdb"))
    print(f"incremental load of {made['result']:,} events (10% late): {inc['result']['load_seconds']:8.2f} s "
          f"(accepted {inc['result']['report']['accepted']:,})")
    print(f"full helper-column recompute            : {full['result']['load_seconds']:8.2f} s")
    print(f"ratio incremental/full                  : {inc['result']['load_seconds'] / full['result']['load_seconds']:8.1%}  (goal <= 10%)")


if __name__ == "__main__":
    main()
