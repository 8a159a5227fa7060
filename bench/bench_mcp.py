"""MCP latency, layer by layer, ending with a real stdio session (``activityschema mcp`` as a subprocess).

Goals (issue 6): get_context p95 <= 5 ms and log_event p95 <= 5 ms (durable) through MCP stdio, on a
store with N customers. To show where the time goes, the same calls are measured at each layer:

1. the disk floor: a 300-byte ``O_APPEND`` write + ``fdatasync`` (and ``fsync``) in the store's directory;
   every durable answer pays at least one (log_event two: the spool, then the audit journal);
2. in process, on the same store with the server's runtime (loader running): the operation alone
   (cache read / validation + spool append), + the audit journal flush, then ``MCPServer.call_tool``
   (pydantic argument validation, worker thread, result), then an in-memory MCP client session
   (the SDK's client and server, JSON-RPC, no process boundary);
3. the stdio session, ``activityschema mcp`` plus a ``noop`` tool (``_mcp_noop_server.py``): ``noop``
   (the floor: client SDK, stdio, the server's dispatch and validation, no tool body, no audit),
   ``resources/list``, ``get_context``, ``log_event``.

Usage: python bench/bench_mcp.py [CUSTOMERS] [CALLS] [STORE]   (defaults 100_000 and 2_000)
STORE: a store built by an earlier run to copy instead of building one (built and kept there when it
does not exist yet), so before/after runs measure the same data without rebuilding it.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
from _mcp_noop_server import build_with_noop
from _stores import build_store, customer, fmt, percentiles
from mcp import Client
from mcp.client.stdio import StdioServerParameters

from activityschema.governance.access import LOCAL_ADMIN
from activityschema.interfaces import operations as ops
from activityschema.interfaces.runtime import Runtime

CUSTOMERS_DEFAULT = 100_000
CALLS_DEFAULT = 2_000
LOG_EVENT_CALLS_MAX = 300
LAYER_CALLS_MAX = 500
SYNC_SAMPLES = 300
GOAL_MS = 5.0


def line(name: str, samples: list[float], goal: bool = False) -> dict[str, float]:
    return show(name, percentiles(samples), goal)


def show(name: str, p: dict[str, float], goal: bool = False) -> dict[str, float]:
    verdict = f"   goal p95 <= {GOAL_MS:g} ms: {'met' if p['p95'] <= GOAL_MS else 'NOT met'}" if goal else ""
    print(f"  {name:46s} {fmt(p)}{verdict}")
    return p


def timed(calls: list[Any], fn: Callable[[Any], Any]) -> list[float]:
    out = []
    for arg in calls:
        t = time.perf_counter()
        fn(arg)
        out.append(time.perf_counter() - t)
    return out


async def atimed(calls: list[Any], fn: Callable[[Any], Awaitable[Any]]) -> list[float]:
    out = []
    for arg in calls:
        t = time.perf_counter()
        await fn(arg)
        out.append(time.perf_counter() - t)
    return out


def event(i: int, who: str) -> dict[str, Any]:
    return {"activity": "claude_tool_call", "customer": who, "feature_json": {"tool_name": "bench", "i": i}}


def disk_floor(directory: str) -> dict[str, dict[str, float]]:
    print("disk floor (300-byte O_APPEND write + sync, the store's directory):")
    out = {}
    for sync in (os.fdatasync, os.fsync):
        path = os.path.join(directory, f"probe-{sync.__name__}")
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        try:
            out[sync.__name__] = line(f"write + {sync.__name__}", timed(
                list(range(SYNC_SAMPLES)), lambda _: (os.write(fd, b"x" * 299 + b"\n"), sync(fd))))
        finally:
            os.close(fd)
            os.unlink(path)
    return out


def in_process(db: str, picks: list[str]) -> None:
    """The layers inside the server, on the same store and runtime as ``activityschema mcp``."""
    rt = Runtime.open(db)
    rt.start_loader()
    try:
        server = build_with_noop(rt, LOCAL_ADMIN)
        reads, writes = picks[:LAYER_CALLS_MAX], list(enumerate(picks[:LOG_EVENT_CALLS_MAX]))
        for c in reads:
            rt.contexts.get(c)
        print("in process (the server's runtime, loader running):")
        line("get_context: cache read", timed(reads, rt.contexts.get))
        line("get_context: operation (scope, audit record)", timed(reads, lambda c: ops.get_context(rt, LOCAL_ADMIN, c)))
        rt.audit.flush()
        line("get_context: operation + audit journal flush",
             timed(reads, lambda c: (ops.get_context(rt, LOCAL_ADMIN, c), rt.audit.flush())))
        line("log_event: operation (validate, spool fdatasync)",
             timed(writes, lambda a: ops.log_event(rt, LOCAL_ADMIN, event(*a))))
        rt.audit.flush()
        line("log_event: operation + audit journal flush",
             timed(writes, lambda a: (ops.log_event(rt, LOCAL_ADMIN, event(*a)), rt.audit.flush())))

        async def layers() -> None:
            line("get_context: MCPServer.call_tool", await atimed(
                reads, lambda c: server.call_tool("get_context", {"customer": c})))
            line("log_event: MCPServer.call_tool", await atimed(
                writes, lambda a: server.call_tool("log_event", event(*a))))
            async with Client(server, mode="legacy") as client:
                line("noop tool: in-memory MCP session", await atimed(reads, lambda _: client.call_tool("noop", {})))
                line("get_context: in-memory MCP session", await atimed(
                    reads, lambda c: client.call_tool("get_context", {"customer": c})))
                line("log_event: in-memory MCP session", await atimed(
                    writes, lambda a: client.call_tool("log_event", event(*a))))

        anyio.run(layers)
    finally:
        rt.close()


async def over_stdio(db: str, picks: list[str]) -> dict[str, dict[str, float]]:
    params = StdioServerParameters(command=sys.executable,
                                   args=[os.path.join(os.path.dirname(os.path.abspath(__file__)), "_mcp_noop_server.py"),
                                         "mcp", "--db", db, "--log-level", "WARNING"],
                                   env=dict(os.environ))  # PYTHONPATH too: lets a run measure another checkout
    async with Client(params, read_timeout_seconds=120) as client:
        for c in picks:  # first pass: every picked context is in the server's memory afterwards
            await client.call_tool("get_context", {"customer": c})
        pings, lists, reads, logs = [], [], [], []
        for c in picks:
            t = time.perf_counter()
            await client.call_tool("noop", {})
            pings.append(time.perf_counter() - t)
            t = time.perf_counter()
            await client.list_resources(cache_mode="bypass")
            lists.append(time.perf_counter() - t)
            t = time.perf_counter()
            result = await client.call_tool("get_context", {"customer": c})
            reads.append(time.perf_counter() - t)
            assert not result.is_error, result.content
        for i in range(min(len(picks), LOG_EVENT_CALLS_MAX)):
            t = time.perf_counter()
            result = await client.call_tool("log_event", event(i, picks[i]))
            logs.append(time.perf_counter() - t)
            assert not result.is_error, result.content
    print("MCP stdio session (activityschema mcp as a subprocess):")
    return {"ping": line("noop tool (SDK + stdio + dispatch floor)", pings), "list": line("resources/list", lists),
            "read": line("get_context (cached)", reads, goal=True),
            "log": line("log_event (durable)", logs, goal=True)}


TS_CLIENT_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "mcp_ts_client")


def over_stdio_typescript(db: str, picks: list[str]) -> dict[str, dict[str, float]] | None:
    """The same stdio session driven by the official TypeScript SDK client (what desktop assistants
    embed), when node and npm are on the machine: a second real client, a lighter one than Python's."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if not (node and npm):
        print("MCP stdio session, TypeScript SDK client: skipped (node/npm not found)")
        return None
    if not os.path.isdir(os.path.join(TS_CLIENT_DIR, "node_modules")):
        subprocess.run([npm, "ci", "--no-audit", "--no-fund", "--silent"], cwd=TS_CLIENT_DIR, check=True)
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as f:
        f.write("\n".join(picks))
    server = [sys.executable, os.path.join(os.path.dirname(os.path.abspath(__file__)), "_mcp_noop_server.py"),
              "mcp", "--db", db, "--log-level", "WARNING"]
    try:
        done = subprocess.run([node, os.path.join(TS_CLIENT_DIR, "client.mjs"), str(len(picks)), f.name,
                               str(LOG_EVENT_CALLS_MAX), "--", *server],
                              capture_output=True, text=True, check=True, env=dict(os.environ))
    finally:
        os.unlink(f.name)
    result: dict[str, dict[str, float]] = json.loads(done.stdout.strip().splitlines()[-1])
    print("MCP stdio session, TypeScript SDK client (@modelcontextprotocol/sdk):")
    for key, name, goal in (("noop", "noop tool (SDK + stdio + dispatch floor)", False),
                            ("get_context", "get_context (cached)", True), ("log_event", "log_event (durable)", True)):
        show(name, result[key], goal)
    return result


def main(argv: list[str]) -> int:
    customers = int(argv[1].replace("_", "")) if len(argv) > 1 else CUSTOMERS_DEFAULT
    calls = int(argv[2].replace("_", "")) if len(argv) > 2 else CALLS_DEFAULT
    rng = random.Random(3)
    picks = [customer(rng.randrange(customers)) for _ in range(calls)]
    print(f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    template = argv[3] if len(argv) > 3 else None
    with tempfile.TemporaryDirectory() as tmp:
        db = os.path.join(tmp, "bench.duckdb")
        if template and os.path.exists(template):
            shutil.copy(template, db)
            print(f"store: copied from {template} ({customers:,} customers)")
        else:
            build_store(db, customers).close()  # the server process must own the file
            if template:
                shutil.copy(db, template)
        disk = disk_floor(tmp)
        in_process(db, picks)
        stdio = anyio.run(over_stdio, db, picks)
        over_stdio_typescript(db, picks)
    ping, read, log = stdio["ping"], stdio["read"], stdio["log"]
    sync = disk["fdatasync"]
    print(f"at p95: get_context = noop floor {ping['p95']:.2f} ms + {max(read['p95'] - ping['p95'], 0):.2f} ms "
          f"(one fdatasync alone: {sync['p95']:.2f} ms); log_event = noop floor + "
          f"{max(log['p95'] - ping['p95'], 0):.2f} ms (two fdatasyncs alone: {2 * sync['p95']:.2f} ms)")
    print(f"load average at end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
