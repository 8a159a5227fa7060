"""get_context latency in process: from the in-memory cache vs. the stored row (the peer).

Usage: python bench/bench_context.py [CUSTOMERS] [READS]   (defaults 100_000 and 20_000)
Goal: p95 <= 0.5 ms from the cache.
"""

from __future__ import annotations

import os
import random
import sys
import tempfile
import time

import psutil
from _stores import build_store, customer, fmt, percentiles

from activityschema.memory.cache import ContextCache
from activityschema.memory.context import read_context

CUSTOMERS_DEFAULT = 100_000
READS_DEFAULT = 20_000
PEER_READS = 2_000


def main(argv: list[str]) -> int:
    customers = int(argv[1].replace("_", "")) if len(argv) > 1 else CUSTOMERS_DEFAULT
    reads = int(argv[2].replace("_", "")) if len(argv) > 2 else READS_DEFAULT
    rng = random.Random(1)
    with tempfile.TemporaryDirectory() as tmp:
        store = build_store(os.path.join(tmp, "bench.duckdb"), customers)
        rss = psutil.Process().memory_info().rss
        cache = ContextCache(store, background=False, max_entries=max(customers, 1))
        started = time.perf_counter()
        warmed = cache.warm()
        print(f"cache: {warmed:,} contexts loaded in {time.perf_counter() - started:.1f} s, "
              f"+{(psutil.Process().memory_info().rss - rss) / 1e6:,.0f} MB RSS")
        picks = [customer(rng.randrange(customers)) for _ in range(reads)]
        for name, kwargs in (("cache get", {}), ("cache get, max_bytes=64KiB", {"max_bytes": 65536}),
                             ("cache get, max_bytes=512 (truncating)", {"max_bytes": 512})):
            samples = []
            for c in picks:
                t = time.perf_counter()
                cache.get(c, **kwargs)
                samples.append(time.perf_counter() - t)
            print(f"{name:40s} {fmt(percentiles(samples))}")
        cached = percentiles(samples_of(cache, picks[:PEER_READS]))
        peer = []
        for c in picks[:PEER_READS]:
            t = time.perf_counter()
            read_context(store, c)
            peer.append(time.perf_counter() - t)
        stored = percentiles(peer)
        print(f"{'peer: stored row (no cache)':40s} {fmt(stored)}")
        print(f"cache vs stored row at p95: {stored['p95'] / cached['p95']:,.0f}x faster; "
              f"goal p95 <= 0.5 ms: {'met' if cached['p95'] <= 0.5 else 'NOT met'}")
        cache.close()
        store.close()
    return 0


def samples_of(cache: ContextCache, picks: list[str]) -> list[float]:
    out = []
    for c in picks:
        t = time.perf_counter()
        cache.get(c)
        out.append(time.perf_counter() - t)
    return out


if __name__ == "__main__":
    sys.exit(main(sys.argv))
