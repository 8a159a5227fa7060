"""Import benchmark (issue 2).

1. Import of an N-event demo NDJSON file into an empty store vs the floor: DuckDB's own read_json of
   the same file into a table, no validation. Goal: import <= 1.5x the floor's time, peak RSS <= 3 GB.
2. Importing 100k new events (10% of them late, i.e. older than what the store holds for that actor)
   into the N-event store vs a full helper-column recompute of the same store. Goal: <= 10%.
   100,000 partitions are sampled (one event each); a second, harder batch takes first/last ts from a
   100,000-row sample instead (the generator this benchmark used before), so most of its events land
   inside their partition and renumber its tail.

Usage: python bench/bench_import.py [N=10_000_000] [REPEATS=1]
Each measurement runs in a fresh process (honest peak RSS); figures are medians over REPEATS.
"""

from __future__ import annotations

import os
import shutil
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
con.execute("SET enable_progress_bar = false")
if sys.argv[3] == "partitions":
    # 100,000 distinct partitions with their true first and last ts: 10% late, 90% appends.
    partitions = con.execute("SELECT * FROM (SELECT customer, activity, min(ts), max(ts) FROM activities "
                             "WHERE customer IS NOT NULL GROUP BY ALL) "
                             "USING SAMPLE reservoir(100000 ROWS) REPEATABLE (11) ORDER BY ALL").fetchall()
else:
    # The earlier generator, kept as a harder case: first/last come from a 100,000-row sample, so most
    # "appends" land inside their partition (late) and renumber its tail.
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
    # Stores and floors go to a private scratch folder, so concurrent runs never share a file.
    scratch = Path(tempfile.mkdtemp(prefix="bench-import-", dir=work))
    try:
        _run(n, repeats, src, size_mb, scratch)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _load() -> str:
    return "load average " + " ".join(f"{x:.2f}" for x in os.getloadavg())


def _run(n: int, repeats: int, src: Path, size_mb: float, scratch: Path) -> None:
    print(f"file: {src} ({n:,} events, {size_mb:,.0f} MB); {_load()}")
    floors, imports = [], []
    store = scratch / f"store-{n}.duckdb"
    for r in range(repeats):
        for p in [*scratch.glob("floor-*.duckdb*"), *scratch.glob(f"store-{n}.duckdb*")]:
            p.unlink()
        floors.append(run_child(FLOOR, str(src), str(scratch / f"floor-{r}.duckdb")))
        imports.append(run_child(IMPORT, str(src), str(store)))
    f_s = median([f["seconds"] for f in floors])
    i_s = median([i["seconds"] for i in imports])
    f_cpu = median([f["cpu_seconds"] for f in floors])
    i_cpu = median([i["cpu_seconds"] for i in imports])
    print(f"floor  read_json -> table : {f_s:8.2f} s  (cpu {f_cpu:7.2f} s)  peak RSS "
          f"{max(f['peak_rss_mb'] for f in floors):7.0f} MB")
    print(f"import (validate+merge)   : {i_s:8.2f} s  (cpu {i_cpu:7.2f} s)  peak RSS "
          f"{max(i['peak_rss_mb'] for i in imports):7.0f} MB  {n / i_s:,.0f} events/s  "
          f"accepted {imports[-1]['result']['accepted']:,}")
    print(f"ratio import/floor        : {i_s / f_s:8.2f}x   (goal <= 1.5x; cpu time ratio {i_cpu / f_cpu:.2f}x)")
    print(_load())

    full = run_child(FULL_RECOMPUTE, "", str(store), str(scratch / "full.duckdb"))
    (scratch / "full.duckdb").unlink()
    print(f"full helper-column recompute            : {full['result']['load_seconds']:8.2f} s")
    for kind, label in (("partitions", "10% late"), ("rows", "row-sampled, mostly mid-partition")):
        new = scratch / f"new-{kind}.ndjson"
        made = run_child(NEW_EVENTS, str(new), str(store), kind)
        inc = run_child(INCREMENTAL, str(new), str(store), str(scratch / "inc.duckdb"))
        (scratch / "inc.duckdb").unlink()
        print(f"incremental load of {made['result']:,} events ({label}): {inc['result']['load_seconds']:8.2f} s "
              f"(accepted {inc['result']['report']['accepted']:,})")
        print(f"  ratio incremental/full: {inc['result']['load_seconds'] / full['result']['load_seconds']:8.1%}  "
              f"(goal <= 10%)")
    print(_load())


if __name__ == "__main__":
    main()
