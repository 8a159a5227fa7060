"""ActivityLogger throughput and latency: events/s and log() p50/p99, 1 and 4 producer threads.

Usage: python bench/bench_logger.py [N]     (N events per configuration, default 200_000)

Configurations: durability (group commit = fsync before every acknowledgement; batched = flush at
most every 5 ms) x producers (1, 4 threads sharing one logger) x call (log() per event, log_many()
of 100), plus 256 concurrent alog() tasks on one event loop (group commit, one event per call).
Each configuration stops after N events or MAX_SECONDS, whichever comes first.
The peer, measured in the same run: a naive NDJSON appender (json.dumps + write + fsync per call,
no validation), single thread — what the logger costs over the bare disk.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

from activityschema.ingest.logger import ActivityLogger

EVENTS_DEFAULT = 200_000
MAX_SECONDS = 8.0
MANY = 100
ASYNC_TASKS = 256
FLUSH_MS_BATCHED = 5


def record(i: int) -> dict:
    return {"activity": "visited_page", "ts": "2026-01-01T10:00:00.123Z", "customer": f"c{i % 5000}",
            "feature_json": {"page": "/pricing", "ref": "newsletter", "n": i}}


def run(spool: Path, *, flush_ms: int, producers: int, per_call: int, events: int) -> dict:
    logger = ActivityLogger(spool, flush_ms=flush_ms, max_backlog_bytes=1 << 40)
    latencies: list[float] = []
    counts = [0] * producers
    stop_at = time.perf_counter() + MAX_SECONDS
    quota = events // producers
    recs = [record(i) for i in range(per_call)]

    def produce(k: int) -> None:
        own: list[float] = []
        while counts[k] < quota and time.perf_counter() < stop_at:
            t0 = time.perf_counter()
            if per_call == 1:
                logger.log(recs[0])
            else:
                logger.log_many(recs)
            own.append(time.perf_counter() - t0)
            counts[k] += per_call
        latencies.extend(own)

    threads = [threading.Thread(target=produce, args=(k,)) for k in range(producers)]
    wall, cpu = time.perf_counter(), time.process_time()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    logger.flush()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    logger.close()
    q = statistics.quantiles(latencies, n=100)
    return {"events": sum(counts), "wall": wall, "cpu": cpu, "eps": sum(counts) / wall,
            "p50_ms": q[49] * 1e3, "p99_ms": q[98] * 1e3}


def run_async(spool: Path, *, tasks: int, events: int) -> dict:
    """One event loop, ``tasks`` concurrent alog() callers (one event each): group commit at work."""
    import asyncio

    logger = ActivityLogger(spool, flush_ms=0, max_backlog_bytes=1 << 40)
    latencies: list[float] = []
    rec = record(0)

    async def worker(quota: int, stop_at: float) -> None:
        for _ in range(quota):
            if time.perf_counter() > stop_at:
                return
            t0 = time.perf_counter()
            await logger.alog(rec)
            latencies.append(time.perf_counter() - t0)

    async def main() -> None:
        stop_at = time.perf_counter() + MAX_SECONDS
        await asyncio.gather(*(worker(events // tasks, stop_at) for _ in range(tasks)))

    wall, cpu = time.perf_counter(), time.process_time()
    asyncio.run(main())
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    logger.close()
    q = statistics.quantiles(latencies, n=100)
    return {"events": len(latencies), "wall": wall, "cpu": cpu, "eps": len(latencies) / wall,
            "p50_ms": q[49] * 1e3, "p99_ms": q[98] * 1e3}


def naive_peer(path: Path, per_call: int, events: int) -> float:
    """json.dumps + one write + fsync per call, no validation, no locking: events/s."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    recs = [record(i) for i in range(per_call)]
    done, start = 0, time.perf_counter()
    while done < events and time.perf_counter() - start < MAX_SECONDS:
        os.write(fd, "".join(json.dumps(r) + "\n" for r in recs).encode())
        os.fsync(fd)
        done += per_call
    os.close(fd)
    return done / (time.perf_counter() - start)


def main(argv: list[str]) -> int:
    events = int(argv[1].replace("_", "")) if len(argv) > 1 else EVENTS_DEFAULT
    print(f"ActivityLogger: up to {events:,} events or {MAX_SECONDS:g} s per configuration")
    print(f"{'durability':<22}{'producers':>10}{'call':>14}{'events/s':>12}{'CPU ev/s':>12}{'p50 ms':>9}{'p99 ms':>9}")
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for flush_ms, label in ((0, "group commit (fsync)"), (FLUSH_MS_BATCHED, f"batched ({FLUSH_MS_BATCHED} ms)")):
            for producers in (1, 4):
                for per_call in (1, MANY):
                    spool = Path(tmp) / f"s-{flush_ms}-{producers}-{per_call}"
                    r = run(spool, flush_ms=flush_ms, producers=producers, per_call=per_call, events=events)
                    results[(flush_ms, producers, per_call)] = r
                    call = "log()" if per_call == 1 else f"log_many({per_call})"
                    print(f"{label:<22}{producers:>10}{call:>14}{r['eps']:>12,.0f}{r['events'] / r['cpu']:>12,.0f}"
                          f"{r['p50_ms']:>9.3f}{r['p99_ms']:>9.3f}")
        r = run_async(Path(tmp) / "s-async", tasks=ASYNC_TASKS, events=events)
        results["async"] = r
        print(f"{'group commit (fsync)':<22}{ASYNC_TASKS:>7} aio{'alog()':>14}{r['eps']:>12,.0f}"
              f"{r['events'] / r['cpu']:>12,.0f}{r['p50_ms']:>9.3f}{r['p99_ms']:>9.3f}")
        peer1 = naive_peer(Path(tmp) / "peer1.ndjson", 1, events)
        peer100 = naive_peer(Path(tmp) / "peer100.ndjson", MANY, events)
    print(f"peer (naive json.dumps+write+fsync, 1 thread): {peer1:,.0f} events/s per event, "
          f"{peer100:,.0f} events/s per {MANY}")
    print(f"ratio group commit log() x4 threads / peer per event: {results[(0, 4, 1)]['eps'] / peer1:.1f}x")
    print(f"ratio group commit log_many({MANY}) / peer per {MANY}: {results[(0, 1, MANY)]['eps'] / peer100:.2f}x")
    best_batched = max(results[(FLUSH_MS_BATCHED, p, c)]["eps"] for p in (1, 4) for c in (1, MANY))
    best_fsync = max([results[(0, p, c)]["eps"] for p in (1, 4) for c in (1, MANY)] + [results["async"]["eps"]])
    print(f"goals: batched >= 100,000 events/s: best {best_batched:,.0f}; "
          f"group commit >= 20,000 events/s: best {best_fsync:,.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
