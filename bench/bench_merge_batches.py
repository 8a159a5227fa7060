"""Per-batch cost of the merge on a large store (the fixed cost every small load pays).

Builds (once) an N-event store from the demo generator, then, in fresh processes on copies of it,
merges REPEATS batches of each size: events in time order after each partition's last event (the
streaming case), and the same with 10% late events (older than the partition's first event).
Prints the median seconds per batch. With BASELINE=<dir> (a checkout of another revision's
``activityschema`` package), the same batches also run with that code and the ratio is printed.

Usage: python bench/bench_merge_batches.py [N=1_000_000] [REPEATS=15] [SIZES=1,500,10000]
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import demo_file, median  # noqa: E402

BUILD = """
import sys
from activityschema.store.duckdb import DuckDBStore
from activityschema.ingest.importer import import_file
store = DuckDBStore(sys.argv[2]); import_file(store, sys.argv[1]); store.close()
"""

BATCHES = """
import sys, json, random, uuid, time, datetime as dt
from activityschema.store.duckdb import DuckDBStore
from activityschema.ingest.importer import ingest_records
store = DuckDBStore(sys.argv[1])
size, repeats, late = int(sys.argv[2]), int(sys.argv[3]), sys.argv[4] == "late"
rnd = random.Random(5)
parts = store.fetchall("SELECT customer, activity, min(ts), max(ts) FROM activities WHERE customer IS NOT NULL "
                       "GROUP BY ALL USING SAMPLE 20000 ROWS")
clock = max(p[3] for p in parts)
def batch(k):
    global clock
    out = []
    for i in range(size):
        customer, activity, first, last = parts[rnd.randrange(len(parts))]
        if late and i % 10 == 0:
            ts = first - dt.timedelta(hours=1 + k)
        else:
            clock += dt.timedelta(milliseconds=10)
            ts = clock
        out.append({"activity_id": str(uuid.UUID(int=rnd.getrandbits(128), version=4)),
                    "ts": ts.isoformat() + "Z", "activity": activity, "customer": customer})
    return out
ingest_records(store, batch(-1))  # warm-up (builds caches and summaries)
times = []
for k in range(repeats):
    recs = batch(k)
    t = time.perf_counter()
    report = ingest_records(store, recs, now=dt.datetime(2100, 1, 1))
    times.append(time.perf_counter() - t)
    assert report.accepted == size, report.to_dict()
store.close()
print(json.dumps(times))
"""


def run(code: str, pythonpath: str, *args: str) -> list[float]:
    env = dict(os.environ, PYTHONPATH=pythonpath)
    out = subprocess.run([sys.executable, "-c", code, *args], env=env, check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    n = int(float(sys.argv[1])) if len(sys.argv) > 1 else 1_000_000
    repeats = int(sys.argv[2]) if len(sys.argv) > 2 else 15
    sizes = [int(s) for s in (sys.argv[3] if len(sys.argv) > 3 else "1,500,10000").split(",")]
    here = str(Path(__file__).resolve().parent.parent)
    codes = {"current": here}
    if os.environ.get("BASELINE"):
        codes["baseline"] = os.environ["BASELINE"]
    work = Path(tempfile.gettempdir()) / "activityschema-bench"
    work.mkdir(exist_ok=True)
    src = demo_file(work / f"demo-{n}.ndjson", n)
    base_store = work / f"merge-store-{n}.duckdb"
    if not base_store.exists():
        env = dict(os.environ, PYTHONPATH=here)
        subprocess.run([sys.executable, "-c", BUILD, str(src), str(base_store)], env=env, check=True)
    print(f"store: {n:,} events; median seconds per merge over {repeats} batches")
    for late in ("inorder", "late"):
        for size in sizes:
            line = f"{late:8s} batch {size:>6,}:"
            medians = {}
            for name, path in codes.items():
                copy = work / f"merge-copy-{name}.duckdb"
                shutil.copy(base_store, copy)
                medians[name] = median(run(BATCHES, path, str(copy), str(size), str(repeats), late))
                copy.unlink()
                line += f"  {name} {medians[name] * 1000:8.1f} ms"
            if len(medians) == 2:
                line += f"  ratio current/baseline {medians['current'] / medians['baseline']:6.2f}"
            print(line, flush=True)


if __name__ == "__main__":
    main()
