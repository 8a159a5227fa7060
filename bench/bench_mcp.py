"""MCP over a real stdio session (``activityschema mcp`` as a subprocess):

- get_context round trips on a store with N customers (goal p95 <= 5 ms), vs. resources/list (the
  transport floor: a request the server answers without work);
- log_event round trips, each durable before it returns (goal p95 <= 5 ms).

Usage: python bench/bench_mcp.py [CUSTOMERS] [CALLS]   (defaults 100_000 and 2_000)
"""

from __future__ import annotations

import os
import random
import sys
import tempfile
import time

import anyio
from _stores import build_store, customer, fmt, percentiles
from mcp import Client
from mcp.client.stdio import StdioServerParameters

CUSTOMERS_DEFAULT = 100_000
CALLS_DEFAULT = 2_000
LOG_EVENT_CALLS_MAX = 300


async def measure(db: str, customers: int, calls: int) -> None:
    params = StdioServerParameters(command=sys.executable,
                                   args=["-m", "activityschema.interfaces.cli_entry", "mcp", "--db", db,
                                         "--log-level", "WARNING"],
                                   env=dict(os.environ))  # PYTHONPATH too: lets a run measure another checkout
    rng = random.Random(3)
    picks = [customer(rng.randrange(customers)) for _ in range(calls)]
    async with Client(params, read_timeout_seconds=120) as client:
        for c in picks:  # first pass: every picked context is in the server's memory afterwards
            await client.call_tool("get_context", {"customer": c})
        pings, reads, logs = [], [], []
        for c in picks:
            t = time.perf_counter()
            await client.list_resources(cache_mode="bypass")
            pings.append(time.perf_counter() - t)
            t = time.perf_counter()
            result = await client.call_tool("get_context", {"customer": c})
            reads.append(time.perf_counter() - t)
            assert not result.is_error, result.content
        for i in range(min(calls, LOG_EVENT_CALLS_MAX)):
            t = time.perf_counter()
            result = await client.call_tool("log_event", {"activity": "claude_tool_call", "customer": picks[i],
                                                          "feature_json": {"tool_name": "bench", "i": i}})
            logs.append(time.perf_counter() - t)
            assert not result.is_error, result.content
    ping, read, log = percentiles(pings), percentiles(reads), percentiles(logs)
    print(f"{'resources/list (floor)':28s} {fmt(ping)}")
    print(f"{'get_context (cached)':28s} {fmt(read)}   goal p95 <= 5 ms: {'met' if read['p95'] <= 5 else 'NOT met'}")
    print(f"{'log_event (durable)':28s} {fmt(log)}   goal p95 <= 5 ms: {'met' if log['p95'] <= 5 else 'NOT met'}")
    print(f"get_context / floor at p95: {read['p95'] / ping['p95']:.1f}x; log_event / get_context at p95: "
          f"{log['p95'] / read['p95']:.0f}x")


def main(argv: list[str]) -> int:
    customers = int(argv[1].replace("_", "")) if len(argv) > 1 else CUSTOMERS_DEFAULT
    calls = int(argv[2].replace("_", "")) if len(argv) > 2 else CALLS_DEFAULT
    with tempfile.TemporaryDirectory() as tmp:
        db = os.path.join(tmp, "bench.duckdb")
        build_store(db, customers).close()  # the server process must own the file
        anyio.run(measure, db, customers, calls)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
