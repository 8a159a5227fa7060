"""The dataset builder against the join + group-by + rejoin pattern of dbt-based implementations.

Usage: python bench/bench_dataset.py [N] [--repeat R] [--memory-limit 3GB] [--keep DIR] [--input FILE]
                                     [--from-store FILE]
       (N events of the demo stream, default 1_000_000; the full-size run is N = 10_000_000;
       --input imports an existing demo NDJSON file of N events instead of generating one, e.g. the
       shared /tmp/activityschema-bench/demo-10000000.ndjson; --from-store copies an existing store
       that holds that import instead of importing again, which is much faster at 10M)

Steps:
1. In a child process (so its memory does not count below): generate N demo events (or take the
   --input file), import them (or copy the --from-store store),
   and make the stream tie-free per actor: events of one actor at the same ts are spread over
   consecutive microseconds in activity_id order (the demo's ts have millisecond precision, so no
   new tie can appear), helper columns are recomputed, and the absence of ties is checked.
2. Build one dataset with ``build_dataset``: an ``all_ever`` cohort (every session start) with four
   appends: ``first_after`` order, ``last_before`` product view, ``first_in_between`` click and
   ``aggregate_in_between`` page-visit count.
3. Compute the same dataset with the baseline written the dbt way: one LEFT JOIN + GROUP BY per
   append with per-column string-packed ``min``/``max(ts_text || value)`` unpacked with ``right()``,
   rejoined to the cohort on activity_id.
4. Check both outputs are equal (they must be, on tie-free data) and print the best and the median
   of R runs of each (wall and CPU seconds; wall and CPU best/median taken separately), the ratios, the peak RSS of this process after the builder's runs
   (the builder's peak) and at the end (the baseline runs second, so this is the larger of the two
   peaks), and the load average (on a shared machine, wall times mean little without it).
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pyarrow as pa

from activityschema.analytics.dataset import build_dataset
from activityschema.demo.generator import write_ndjson
from activityschema.ingest.importer import import_file
from activityschema.store.duckdb import DuckDBStore

EVENTS_DEFAULT = 1_000_000
REPEAT_DEFAULT = 2
# The same limit for both sides. At 2 GB the baseline (not the builder) sometimes ran out of memory at 10M.
MEMORY_LIMIT_DEFAULT = "3GB"
SEED = 7

REQUEST = {
    "cohort": {"activity": "session_started", "select": "all_ever", "columns": ["activity_id", "customer", "ts"]},
    "append": [
        {"relationship": "first_after", "activity": "order_completed", "columns": ["ts", "activity_id"]},
        {"relationship": "last_before", "activity": "viewed_product", "columns": ["ts", "activity_id"]},
        {"relationship": "first_in_between", "activity": "button_clicked", "columns": ["ts", "activity_id"]},
        {"relationship": "aggregate_in_between", "activity": "visited_page", "aggregate": "count"},
    ],
}

ACTOR = "coalesce({a}.customer, {a}.anonymous_customer_id)"

UNTIE_SQL = """
UPDATE activities SET ts = activities.ts + to_microseconds(r.rn - 1)
FROM (SELECT activity_id,
             row_number() OVER (PARTITION BY coalesce(customer, anonymous_customer_id), ts ORDER BY activity_id) AS rn
      FROM activities) AS r
WHERE activities.activity_id = r.activity_id AND r.rn > 1
"""
RENUMBER_SQL = """
UPDATE activities SET activity_occurrence = r.occ, activity_repeated_at = r.rep
FROM (SELECT activity_id, row_number() OVER w AS occ, lead(ts) OVER w AS rep
      FROM activities
      WHERE coalesce(customer, anonymous_customer_id) IS NOT NULL
      WINDOW w AS (PARTITION BY coalesce(customer, anonymous_customer_id), activity ORDER BY ts, activity_id)) AS r
WHERE activities.activity_id = r.activity_id
"""
TIES_SQL = """
SELECT count(*) FROM (
    SELECT 1 FROM activities WHERE coalesce(customer, anonymous_customer_id) IS NOT NULL
    GROUP BY coalesce(customer, anonymous_customer_id), ts HAVING count(*) > 1)
"""

TS_TEXT = "strftime({a}.ts, '%Y-%m-%d %H:%M:%S.%f')"


def packed(agg: str, column: str, cast: str) -> str:
    """dbt's _min_or_max: aggregate ts_text || value, then keep the characters after the ts text."""
    both = f"{agg}({TS_TEXT.format(a='a')} || CAST(a.{column} AS VARCHAR))"
    ts_only = f"{agg}({TS_TEXT.format(a='a')})"
    return f"CAST(right({both}, length({both}) - length({ts_only})) AS {cast})"


def baseline_cte(name: str, agg: str, activity: str, condition: str) -> str:
    return f"""{name} AS (
    SELECT p.activity_id,
           {packed(agg, 'ts', 'TIMESTAMP')} AS picked_ts,
           {packed(agg, 'activity_id', 'VARCHAR')} AS picked_id
    FROM cohort AS p
    LEFT JOIN activities AS a
      ON {ACTOR.format(a='a')} = p.actor AND a.activity = '{activity}' AND ({condition})
    GROUP BY p.activity_id, p.customer, p.ts
)"""


IN_BETWEEN = "a.ts > p.ts AND (a.ts <= p.activity_repeated_at OR p.activity_repeated_at IS NULL)"
BASELINE_SQL = f"""
WITH cohort AS (
    SELECT activity_id, customer, ts, activity_repeated_at, {ACTOR.format(a='activities')} AS actor
    FROM activities
    WHERE activity = 'session_started' AND {ACTOR.format(a='activities')} IS NOT NULL
),
{baseline_cte('a1', 'min', 'order_completed', 'a.ts > p.ts')},
{baseline_cte('a2', 'max', 'viewed_product', 'a.ts < p.ts')},
{baseline_cte('a3', 'min', 'button_clicked', IN_BETWEEN)},
a4 AS (
    SELECT p.activity_id, count(a.activity_id) AS n
    FROM cohort AS p
    LEFT JOIN activities AS a
      ON {ACTOR.format(a='a')} = p.actor AND a.activity = 'visited_page' AND ({IN_BETWEEN})
    GROUP BY p.activity_id, p.customer, p.ts
)
SELECT p.activity_id, p.customer, p.ts,
       a1.picked_ts AS first_after_order_completed_ts, a1.picked_id AS first_after_order_completed_activity_id,
       a2.picked_ts AS last_before_viewed_product_ts, a2.picked_id AS last_before_viewed_product_activity_id,
       a3.picked_ts AS first_in_between_button_clicked_ts, a3.picked_id AS first_in_between_button_clicked_activity_id,
       a4.n AS aggregate_in_between_visited_page_count
FROM cohort AS p
LEFT JOIN a1 ON a1.activity_id = p.activity_id
LEFT JOIN a2 ON a2.activity_id = p.activity_id
LEFT JOIN a3 ON a3.activity_id = p.activity_id
LEFT JOIN a4 ON a4.activity_id = p.activity_id
ORDER BY p.ts, p.activity_id
"""


def prepare(db: str, events: int, source: str | None = None, store_file: str | None = None) -> None:
    """Generate (or take ``source``), import (or copy ``store_file``) and untie the stream (runs in a
    child process)."""
    with tempfile.TemporaryDirectory() as tmp:
        path = source or os.path.join(tmp, "demo.ndjson")
        t0 = time.perf_counter()
        if source is None and store_file is None:
            write_ndjson(path, seed=SEED, events=events)
        t1 = time.perf_counter()
        if store_file is not None:
            shutil.copyfile(store_file, db)  # the source store is only read
            if os.path.exists(store_file + ".wal"):  # not yet checkpointed: the WAL belongs to it
                shutil.copyfile(store_file + ".wal", db + ".wal")
        with DuckDBStore(db) as store:
            if store_file is None:
                accepted = import_file(store, path).accepted
            else:
                accepted = store.fetchone("SELECT count(*) FROM activities")[0]
                assert accepted == events, f"{store_file} holds {accepted:,} events, not {events:,}"
            t2 = time.perf_counter()
            with store.write() as con:
                con.execute(UNTIE_SQL)
                con.execute(RENUMBER_SQL)
            ties = store.fetchone(TIES_SQL)
            t3 = time.perf_counter()
    assert ties is not None and ties[0] == 0, f"stream still has {ties} tied (actor, ts) groups"
    made = (f"copied {store_file}" if store_file else f"read {source}" if source
            else f"generate {t1 - t0:.1f} s")
    print(f"prepared {accepted:,} events: {made}, import or copy {t2 - t1:.1f} s, "
          f"untie + renumber {t3 - t2:.1f} s; tie-free per actor: verified", flush=True)


def timed(fn):  # type: ignore[no-untyped-def]
    wall, cpu = time.perf_counter(), time.process_time()
    value = fn()
    return value, time.perf_counter() - wall, time.process_time() - cpu


def run_baseline(store: DuckDBStore) -> pa.Table:
    return store.cursor().sql(BASELINE_SQL).to_arrow_table()


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("events", nargs="?", default=str(EVENTS_DEFAULT))
    parser.add_argument("--repeat", type=int, default=REPEAT_DEFAULT)
    parser.add_argument("--memory-limit", default=MEMORY_LIMIT_DEFAULT)
    parser.add_argument("--keep", help="Directory for the store (reused if it already holds one of this size).")
    parser.add_argument("--input", help="An existing demo NDJSON file of N events to import instead of generating one.")
    parser.add_argument("--from-store", help="An existing store holding the import of N demo events, copied "
                                             "(never written) instead of importing again.")
    parser.add_argument("--prepare-only", help=argparse.SUPPRESS)
    args = parser.parse_args(argv[1:])
    events = int(args.events.replace("_", ""))
    if args.prepare_only:
        prepare(args.prepare_only, events, args.input, args.from_store)
        return 0
    workdir = Path(args.keep or tempfile.mkdtemp(prefix="bench_dataset_"))
    workdir.mkdir(parents=True, exist_ok=True)
    db = str(workdir / f"dataset_{events}.duckdb")
    if not Path(db).exists():
        source = ["--input", args.input] if args.input else []
        source += ["--from-store", args.from_store] if args.from_store else []
        subprocess.run([sys.executable, __file__, str(events), "--prepare-only", db, *source], check=True)
    load_before = os.getloadavg()[0]
    with DuckDBStore(db) as store:
        store.cursor().execute(f"SET memory_limit = '{args.memory_limit}'")
        runs = {"builder": lambda: build_dataset(store, REQUEST, created_by="bench").table,
                "baseline": lambda: run_baseline(store)}
        times: dict[str, list[tuple[float, float]]] = {}
        tables: dict[str, pa.Table] = {}
        peak_mb: dict[str, float] = {}
        for name, fn in runs.items():  # the builder first, so its peak RSS is measured alone
            for _ in range(args.repeat):
                tables[name], wall, cpu = timed(fn)
                times.setdefault(name, []).append((wall, cpu))
                print(f"  {name} run {len(times[name])}: {wall:.2f} s wall, {cpu:.2f} s CPU", flush=True)
            peak_mb[name] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    best = {name: (min(w for w, _ in runs), min(c for _, c in runs)) for name, runs in times.items()}
    median = {name: (statistics.median(w for w, _ in runs), statistics.median(c for _, c in runs))
              for name, runs in times.items()}
    ours, theirs = tables["builder"], tables["baseline"].cast(tables["builder"].schema)
    same = ours.equals(theirs)
    print(f"dataset: {ours.num_rows:,} cohort rows × {ours.num_columns} columns from {events:,} events")
    for name in times:
        print(f"  {name:9s} best of {args.repeat}: {best[name][0]:7.2f} s wall, {best[name][1]:7.2f} s CPU; "
              f"median {median[name][0]:7.2f} s wall, {median[name][1]:7.2f} s CPU")
    for label, figures in (("best", best), ("median", median)):
        print(f"  speed-up ({label}): {figures['baseline'][0] / figures['builder'][0]:.2f}x wall, "
              f"{figures['baseline'][1] / figures['builder'][1]:.2f}x CPU")
    print(f"  outputs equal: {same}; peak RSS: {peak_mb['builder']:,.0f} MB after the builder, "
          f"{peak_mb['baseline']:,.0f} MB after the baseline (DuckDB memory_limit {args.memory_limit})")
    print(f"  load average (1 min): {load_before:.2f} before, {os.getloadavg()[0]:.2f} after the runs "
          f"on {os.cpu_count()} CPUs (the timings are only comparable when it is low)")
    if not args.keep:
        for p in workdir.iterdir():
            p.unlink()
        workdir.rmdir()
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
