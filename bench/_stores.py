"""Shared by the memory/server benchmarks: build a store with N customers and their contexts."""

from __future__ import annotations

import json
import random
import time
import uuid

from activityschema.ingest.importer import ingest_records
from activityschema.memory.context import refresh_contexts
from activityschema.store.duckdb import DuckDBStore

ACTIVITIES = ("visited_page", "signed_up", "added_to_cart", "bought_something", "claude_tool_call")
EVENTS_PER_CUSTOMER = 3
LOAD_CHUNK = 100_000


def percentiles(samples: list[float]) -> dict[str, float]:
    """p50/p95/p99 in milliseconds."""
    ordered = sorted(samples)
    pick = lambda q: ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000  # noqa: E731
    return {"p50": pick(0.50), "p95": pick(0.95), "p99": pick(0.99)}


def fmt(p: dict[str, float]) -> str:
    return f"p50 {p['p50']:.3f} ms  p95 {p['p95']:.3f} ms  p99 {p['p99']:.3f} ms"


def customer(i: int) -> str:
    return f"cust_{i:07d}"


def build_store(path: str, customers: int, *, seed: int = 7) -> DuckDBStore:
    """A store with ``customers`` customers, EVENTS_PER_CUSTOMER events each, and their contexts built."""
    rng = random.Random(seed)
    store = DuckDBStore(path)
    started = time.perf_counter()
    total = customers * EVENTS_PER_CUSTOMER
    batch: list[str] = []
    for n in range(total):
        c = n % customers
        batch.append(json.dumps({
            "activity_id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            "ts": f"2026-0{1 + n % 9}-{1 + n % 28:02d}T{n % 24:02d}:00:00Z",
            "activity": ACTIVITIES[rng.randrange(len(ACTIVITIES))],
            "customer": customer(c),
            "feature_json": {"page": f"/p/{rng.randrange(50)}", "plan": rng.choice(["free", "pro"])},
            "revenue_impact": round(rng.random() * 100, 2) if rng.random() < 0.2 else None,
        }))
        if len(batch) == LOAD_CHUNK:
            ingest_records(store, batch, source="bench")
            batch = []
    if batch:
        ingest_records(store, batch, source="bench")
    loaded = time.perf_counter() - started
    started = time.perf_counter()
    refresh_contexts(store, [customer(i) for i in range(customers)])
    print(f"store: {customers:,} customers, {total:,} events loaded in {loaded:.1f} s; "
          f"contexts built in {time.perf_counter() - started:.1f} s")
    return store
