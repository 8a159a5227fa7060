"""Product analytics on the demo stream: funnel vs ClickHouse's windowFunnel (chdb), retention, paths.

Usage:
    python bench/bench_product.py [N] [--dir DIR] [--source FILE] [--repeat R]

N events (default 1_000_000) are generated with the demo generator (or read from ``--source``, an
NDJSON file of the demo stream, e.g. /tmp/activityschema-bench/demo-10000000.ndjson) and imported;
with ``--dir`` the store is kept there and reused when it already holds N events. Then, in one run:

1. Funnel: signup_started → email_verified → profile_completed, ordered, 14-day window. Ours is timed
   as the bare query and end to end (``run_funnel``: validation, provenance, shaping); chdb runs
   ``windowFunnel`` on the same rows loaded into two tables — ``plain`` (String columns in insertion
   order, the layout of our store) and ``tuned`` (LowCardinality activity, ORDER BY (activity, ts)).
   chdb runs in its own process (its threads would otherwise share our process's CPU clock); ours
   runs R times before and R times after chdb's R runs. The level counts must be equal. Medians of
   wall and process CPU time.
2. Retention: first-time weekly cohorts of signup_started, 8 intervals, return = any activity.
3. Paths: every session, 5 steps (and the same from signup_started, repeats collapsed).
   Retention and paths each run in a fresh subprocess so their peak RSS is their own.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

warnings.filterwarnings("ignore", message="Arrow output on a DB-API result")

from activityschema.analytics.funnels import run_funnel  # noqa: E402
from activityschema.analytics.funnels.query import FunnelRequest  # noqa: E402
from activityschema.analytics.funnels.sql import summary_sql  # noqa: E402
from activityschema.analytics.paths import run_paths  # noqa: E402
from activityschema.analytics.retention import run_retention  # noqa: E402
from activityschema.demo import write_ndjson  # noqa: E402
from activityschema.ingest.importer import import_file  # noqa: E402
from activityschema.store.duckdb import DuckDBStore  # noqa: E402

EVENTS_DEFAULT = 1_000_000
REPEAT_DEFAULT = 5
STEPS = ["signup_started", "email_verified", "profile_completed"]
WINDOW_DAYS = 14
WINDOW_US = WINDOW_DAYS * 86_400 * 1_000_000
RETENTION = {"start": "signup_started", "period": "week", "intervals": 8}
PATHS = {"step_limit": 5}
PATHS_ANCHORED = {"start_activity": "signup_started", "collapse_repeats": True, "step_limit": 5}
GOAL_RATIO = 1.0
GOAL_SECONDS = 5.0
GOAL_RSS_GB = 4.0
EXPORT_SQL = """
COPY (SELECT coalesce(customer, anonymous_customer_id) AS actor, ts, activity
      FROM activities WHERE coalesce(customer, anonymous_customer_id) IS NOT NULL)
TO '{path}' (FORMAT parquet)
"""
CH_TABLES = {
    "plain": "actor String, ts DateTime64(6), activity String) ENGINE = MergeTree ORDER BY tuple()",
    "tuned": "actor String, ts DateTime64(6), activity LowCardinality(String)) ENGINE = MergeTree ORDER BY (activity, ts)",
}
CH_FUNNEL = """
SELECT level, count() AS actors FROM (
    SELECT actor, windowFunnel({window})(toUInt64(toUnixTimestamp64Micro(ts)),
                                         activity = '{s1}', activity = '{s2}', activity = '{s3}') AS level
    FROM {table}
    WHERE activity IN ('{s1}', '{s2}', '{s3}')
    GROUP BY actor)
WHERE level > 0
GROUP BY level ORDER BY level
"""


def _timed(fn: Callable[[], Any]) -> tuple[float, float, Any]:
    wall, cpu = time.perf_counter(), time.process_time()
    out = fn()
    return time.perf_counter() - wall, time.process_time() - cpu, out


def _peak_rss_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 / 1024


def prepare(count: int, folder: Path, source_file: Path | None = None) -> Path:
    """A store with ``count`` demo events (reused when it already has them), imported from
    ``source_file`` when given (it is left in place) or from a freshly generated file."""
    db = folder / f"product_{count}.duckdb"
    if db.exists():
        with DuckDBStore(db) as store:
            row = store.fetchone("SELECT count(*) FROM activities")
            if row and row[0] == count:
                print(f"reusing {db} ({count:,} events)")
                return db
        db.unlink()
    source = source_file or folder / f"product_{count}.ndjson"
    if source_file is None:
        wall, _, written = _timed(lambda: write_ndjson(str(source), events=count))
        print(f"generated {written:,} events in {wall:.1f} s")
    with DuckDBStore(db) as store:
        store.execute("SET enable_progress_bar = false")
        wall, _, report = _timed(lambda: import_file(store, source))
    print(f"imported {report.accepted:,} events in {wall:.1f} s ({report.accepted / wall:,.0f} events/s)")
    if source_file is None:
        source.unlink()
    return db


def chdb_phase(folder: Path, repeat: int) -> None:
    """In a fresh process: load the exported events into chdb, then time windowFunnel (JSON out)."""
    from chdb import session

    parquet = folder / "product_events.parquet"
    ch = session.Session(str(folder / "chdb"))
    out: dict[str, Any] = {"load": {}, "runs": {}, "levels": {}}
    for name, ddl in CH_TABLES.items():
        ch.query(f"DROP TABLE IF EXISTS ev_{name}")
        ch.query(f"CREATE TABLE ev_{name} ({ddl}")
        wall, _, _ = _timed(lambda name=name: ch.query(f"INSERT INTO ev_{name} SELECT * FROM file('{parquet}', Parquet)"))
        # Merge the parts now: background merges would otherwise run during (and slow) the timed queries.
        ch.query(f"OPTIMIZE TABLE ev_{name} FINAL")
        out["load"][name] = wall
    for name in CH_TABLES:
        out["levels"][name] = _ch_levels(ch, name)
        out["runs"][name] = [_timed(lambda name=name: _ch_levels(ch, name))[:2] for _ in range(repeat)]
    ch.close()
    print(json.dumps(out))


def run_chdb(db: Path, folder: Path, repeat: int) -> dict[str, Any]:
    """Export the events and time chdb in its own process, so neither engine's threads disturb the other."""
    parquet = folder / "product_events.parquet"
    with DuckDBStore(db) as store:
        store.fetch_arrow(EXPORT_SQL.format(path=parquet))
    done = subprocess.run([sys.executable, __file__, "--phase", "chdb", "--db", str(folder), "--repeat", str(repeat)],
                          capture_output=True, text=True, check=True)
    parquet.unlink()
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    for name, wall in result["load"].items():
        print(f"chdb: loaded and merged table {name} in {wall:.1f} s")
    return result


def _ch_levels(ch: Any, table: str) -> list[int]:
    sql = CH_FUNNEL.format(window=WINDOW_US, s1=STEPS[0], s2=STEPS[1], s3=STEPS[2], table=f"ev_{table}")
    per_level = {int(a): int(b) for a, b in (line.split(",") for line in str(ch.query(sql, "CSV")).split())}
    return [sum(v for k, v in per_level.items() if k >= level) for level in range(1, len(STEPS) + 1)]


def _levels(row: dict[str, Any]) -> list[int]:
    return [int(row[f"reached_{k}"]) for k in range(1, len(STEPS) + 1)]


def bench_funnel(db: Path, folder: Path, repeat: int) -> None:
    request = {"steps": STEPS, "window": {"days": WINDOW_DAYS}}
    sql, bind = summary_sql(FunnelRequest.model_validate(request))
    times: dict[str, list[tuple[float, float]]] = {}
    results: dict[str, list[int]] = {}
    with DuckDBStore(db) as store:
        ours: dict[str, Callable[[], list[int]]] = {
            "ours: query": lambda: _levels(store.fetch_arrow(sql, bind).to_pylist()[0]),
            "ours: run_funnel": lambda: [s.count for s in run_funnel(store, request, created_by="bench").steps],
        }

        def measure() -> None:
            for _ in range(repeat):
                for name, fn in ours.items():
                    wall, cpu, results[name] = _timed(fn)
                    times.setdefault(name, []).append((wall, cpu))

        for fn in ours.values():  # warm-up
            fn()
        measure()
        peer = run_chdb(db, folder, repeat)  # ours runs before and after chdb's block
        measure()
    for name in CH_TABLES:
        results[f"chdb: {name}"] = peer["levels"][name]
        times[f"chdb: {name}"] = [(run[0], run[1]) for run in peer["runs"][name]]
    print(f"\nFunnel {' → '.join(STEPS)}, ordered, {WINDOW_DAYS}-day window "
          f"({2 * repeat} runs of ours around {repeat} of chdb's; chdb in its own process)")
    for name, result in results.items():
        print(f"  {name:18} levels {result}")
    same = len({tuple(r) for r in results.values()}) == 1
    print(f"  same result in all four: {'yes' if same else 'NO'}")
    med = {k: (statistics.median(w for w, _ in v), statistics.median(c for _, c in v)) for k, v in times.items()}
    for name, (wall, cpu) in med.items():
        print(f"  {name:18} median {wall * 1000:8.1f} ms wall  {cpu * 1000:8.1f} ms CPU")
    for mine in ("ours: query", "ours: run_funnel"):
        for other in ("chdb: plain", "chdb: tuned"):
            ratio = med[mine][0] / med[other][0]
            print(f"  {mine} / {other}: {ratio:.2f}x wall, {med[mine][1] / med[other][1]:.2f}x CPU"
                  + (f"  (goal <= {GOAL_RATIO:.1f}x)" if other == "chdb: plain" else ""))
    if not same:
        raise SystemExit("funnel results differ")


def phase(db: Path, which: str) -> None:
    """Run one query in this (fresh) process and print its figures as JSON."""
    with DuckDBStore(db) as store:
        if which == "retention":
            wall, cpu, r = _timed(lambda: run_retention(store, RETENTION, created_by="bench"))
            summary = f"{len(r.cohorts)} cohorts, average W1 {r.average[1].rate:.3f}"
        else:
            req = PATHS if which == "paths" else PATHS_ANCHORED
            wall, cpu, r = _timed(lambda: run_paths(store, req, created_by="bench"))
            summary = f"{r.paths_total:,} paths, top: {' > '.join(r.top_paths[0].path)}"
    print(json.dumps({"wall": wall, "cpu": cpu, "rss_gb": _peak_rss_gb(), "summary": summary}))


def bench_phases(db: Path) -> None:
    print("\nRetention and paths (each in a fresh process; peak RSS of that process)")
    for which, label in (("retention", "retention, 8 weekly intervals"), ("paths", "paths, every session, 5 steps"),
                         ("paths_anchored", "paths from signup_started, collapsed, 5 steps")):
        out = subprocess.run([sys.executable, __file__, "--phase", which, "--db", str(db)],
                             capture_output=True, text=True, check=True)
        figures = json.loads(out.stdout.strip().splitlines()[-1])
        ok = figures["wall"] < GOAL_SECONDS and figures["rss_gb"] <= GOAL_RSS_GB
        print(f"  {label:48} {figures['wall']:6.2f} s wall {figures['cpu']:6.2f} s CPU "
              f"peak RSS {figures['rss_gb']:.2f} GB  {'ok' if ok else 'OVER GOAL'}  ({figures['summary']})")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("events", nargs="?", default=str(EVENTS_DEFAULT))
    parser.add_argument("--dir", help="Keep the store here and reuse it.")
    parser.add_argument("--source", help="Import this demo NDJSON file instead of generating one.")
    parser.add_argument("--repeat", type=int, default=REPEAT_DEFAULT)
    parser.add_argument("--phase", help=argparse.SUPPRESS)
    parser.add_argument("--db", help=argparse.SUPPRESS)
    args = parser.parse_args(argv[1:])
    if args.phase == "chdb":
        chdb_phase(Path(args.db), args.repeat)
        return 0
    if args.phase:
        phase(Path(args.db), args.phase)
        return 0
    count = int(args.events.replace("_", ""))
    print(f"{os.cpu_count()} CPUs; {count:,} events")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(args.dir) if args.dir else Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        db = prepare(count, folder, Path(args.source) if args.source else None)
        bench_phases(db)
        with tempfile.TemporaryDirectory() as ch_dir:
            bench_funnel(db, Path(ch_dir), args.repeat)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
