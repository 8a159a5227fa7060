"""End-to-end lag from log() to queryable in the store, at a steady event rate.

Usage: python bench/bench_e2e_lag.py [RATE] [SECONDS]     (default 10_000 events/s for 20 s)

A producer thread paces log_many() calls every 5 ms (group commit: each returns once durable); the
loader runs in-process (a background thread). An event is queryable when the loader's store
transaction holding it commits; a batch listener records that instant. Lag = commit instant minus
the instant the event's log call started. The peer, measured in the same run: the same events
merged straight into the store with ingest_records() every 100 ms (no spool, no durability before
the merge), the floor the spool path adds to.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

from activityschema.ingest.importer import ingest_records
from activityschema.ingest.loader import Loader
from activityschema.ingest.logger import ActivityLogger
from activityschema.store.duckdb import DuckDBStore

RATE_DEFAULT = 10_000
SECONDS_DEFAULT = 20.0
TICK_SECONDS = 0.005
PEER_TICK_SECONDS = 0.1
GOAL_P95_SECONDS = 1.0
WARMUP_SECONDS = 2.0  # the first seconds include DuckDB's cold start: not counted


def record(i: int) -> dict:
    return {"activity": "visited_page", "ts": "2026-01-01T10:00:00Z", "customer": f"c{i % 20_000}",
            "feature_json": {"page": f"/p/{i % 50}"}}


def produce(rate: int, seconds: float, log_call, sent: list[tuple[float, list[str]]], tick: float) -> None:
    """Log ``rate`` events a second for ``seconds``, in one call per tick; remember call starts."""
    start, n = time.perf_counter(), 0
    while (now := time.perf_counter()) - start < seconds:
        due = int((now - start) * rate) - n
        if due > 0:
            ids = log_call([record(n + k) for k in range(due)])
            sent.append((now, ids))
            n += due
        time.sleep(max(0.0, tick - (time.perf_counter() - now)))


def spool_run(tmp: Path, rate: int, seconds: float) -> tuple[list[float], int]:
    store = DuckDBStore(tmp / "lag.duckdb")
    committed: dict[str, float] = {}
    loader = Loader(store, tmp / "lag.duckdb.spool", poll_seconds=0.01,
                    on_batch=lambda r: committed.__setitem__(r.batch_id, time.perf_counter()))
    logger = ActivityLogger(tmp / "lag.duckdb.spool", flush_ms=0)
    loader.start()
    sent: list[tuple[float, list[str]]] = []
    produce(rate, seconds, logger.log_many, sent, TICK_SECONDS)
    logger.close()
    while loader.stats.submitted < sum(len(ids) for _, ids in sent) and loader.error is None:
        time.sleep(0.05)
    loader.stop()
    loaded_in = dict(store.fetchall(
        "SELECT a.activity_id, b.batch_id FROM activities a JOIN load_batches b ON a._loaded_at = b.started_at"))
    first = sent[0][0] if sent else 0.0
    lags = [committed[loaded_in[i]] - t for t, ids in sent if t - first >= WARMUP_SECONDS for i in ids]
    store.close()
    return lags, loader.stats.batches


def peer_run(tmp: Path, rate: int, seconds: float) -> list[float]:
    store = DuckDBStore(tmp / "peer.duckdb")
    lags: list[float] = []

    start = time.perf_counter()

    def merge(records: list[dict]) -> list[str]:
        t0 = time.perf_counter()
        ingest_records(store, records)
        if t0 - start >= WARMUP_SECONDS:  # ~ half a tick queued on average too (added below)
            lags.extend([time.perf_counter() - t0] * len(records))
        return []

    produce(rate, seconds, merge, [], PEER_TICK_SECONDS)
    store.close()
    return [lag + PEER_TICK_SECONDS / 2 for lag in lags]


def pct(values: list[float], p: int) -> float:
    return statistics.quantiles(values, n=100)[p - 1]


def main(argv: list[str]) -> int:
    rate = int(argv[1].replace("_", "")) if len(argv) > 1 else RATE_DEFAULT
    seconds = float(argv[2]) if len(argv) > 2 else SECONDS_DEFAULT
    with tempfile.TemporaryDirectory() as tmp:
        lags, batches = spool_run(Path(tmp), rate, seconds)
        peer = peer_run(Path(tmp), rate, seconds)
    print(f"log() -> queryable at {rate:,} events/s for {seconds:g} s: {len(lags):,} events after "
          f"{WARMUP_SECONDS:g} s warm-up, {batches:,} loader batches in all")
    print(f"lag p50 {pct(lags, 50) * 1e3:,.0f} ms · p95 {pct(lags, 95) * 1e3:,.0f} ms · "
          f"p99 {pct(lags, 99) * 1e3:,.0f} ms · max {max(lags) * 1e3:,.0f} ms "
          f"(goal p95 < {GOAL_P95_SECONDS * 1e3:,.0f} ms: {'met' if pct(lags, 95) < GOAL_P95_SECONDS else 'NOT met'})")
    print(f"peer (direct ingest_records every {PEER_TICK_SECONDS * 1e3:.0f} ms, no spool): p50 {pct(peer, 50) * 1e3:,.0f} ms · "
          f"p95 {pct(peer, 95) * 1e3:,.0f} ms; ratio spool/peer p95 {pct(lags, 95) / pct(peer, 95):.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
