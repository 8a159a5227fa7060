"""Soak: kill-and-recover rounds with real processes; lost and duplicated must both be 0.

Usage: python bench/bench_soak.py [ROUNDS]     (default 200)

Each round starts two writer processes and a loader process on one spool and store, and SIGKILLs
each at its own random instant (writers mid-log, the loader mid-batch, between its store commit
and its offsets file, or while starting). After the last round a clean loader run recovers, and
the store is checked: every acknowledged event exactly once with its planned content, nothing
unplanned, no rejects, no replayed batch (see tests/integration/crash_harness.py).
"""

from __future__ import annotations

import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from activityschema.ingest.loader import Loader  # noqa: E402
from activityschema.store.duckdb import DuckDBStore  # noqa: E402
from tests.integration.crash_harness import FAILURES, CrashLog, crash_round, measure  # noqa: E402

ROUNDS_DEFAULT = 200
EVENTS_PER_WRITER = 2_000  # bounds the store (and the run time) however many rounds run
SEED = 7


def main(argv: list[str]) -> int:
    rounds = int(argv[1]) if len(argv) > 1 else ROUNDS_DEFAULT
    rng, log = random.Random(SEED), CrashLog()
    with tempfile.TemporaryDirectory() as tmp:
        db, spool = Path(tmp) / "soak.duckdb", Path(tmp) / "soak.duckdb.spool"
        start = time.perf_counter()
        for i in range(rounds):
            crash_round(db, spool, rng, log, events_per_writer=EVENTS_PER_WRITER)
            if (i + 1) % 25 == 0:
                print(f"  round {i + 1}/{rounds}: {len(log.acked):,} acknowledged so far", flush=True)
        elapsed = time.perf_counter() - start
        with DuckDBStore(db) as store:
            recovery = Loader(store, spool).run_once()
            result = measure(store, log)
            batches = store.fetchone("SELECT count(*) FROM load_batches")[0] - recovery.batches
    print(f"soak: {rounds} rounds in {elapsed:,.0f} s ({elapsed / max(rounds, 1):.2f} s a round), "
          f"{log.writer_kills} writer and {log.loader_kills} loader SIGKILLs")
    print(f"acknowledged {result['acked']:,} · stored {result['stored']:,} "
          f"(of which {result['unacked_stored']:,} written whole but killed before the acknowledgement) · "
          f"killed loaders committed {result['stored'] - recovery.accepted:,} in {batches:,} batches, "
          f"recovery loaded {recovery.accepted:,}")
    print(" · ".join(f"{k} = {result[k]}" for k in FAILURES))
    if any(result[k] for k in FAILURES):
        print("FAILED")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
