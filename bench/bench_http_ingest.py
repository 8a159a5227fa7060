"""POST /v1/activities over loopback: events/s with batches of 500 (goal >= 50k events/s).

Starts ``activityschema serve`` as a subprocess (the one process that owns the store; it runs the
loader, so ``accepted`` means durably queued on the spool), then posts EVENTS events in batches of
BATCH from CONCURRENCY client threads. Printed:

- a breakdown of one batch in process (median over batches): JSON parsing, per-record validation and
  encoding, the spool append (one ``fdatasync``, shared by concurrent requests), building and
  rendering the per-record response, the audit journal flush; and the raw ``fdatasync`` of the disk;
- the HTTP rate, with the CPU seconds the server (request handling *and* its loader; the loader
  thread's own share apart) and the client used: on a small machine the rate is bounded by CPU, and
  this shows whose. The client is ``http.client`` with one keep-alive connection per thread and
  bodies encoded before the timed section; it checks every per-record result;
- what the server's loader stored while posting, and the graceful shutdown (SIGTERM: the loader
  drains what was acknowledged before the process exits);
- the peer, measured in the same run on its own store: ``ingest_records`` in process with the same
  batches (a synchronous merge per batch, no HTTP at all).

Usage: python bench/bench_http_ingest.py [EVENTS] [BATCH] [CONCURRENCY]   (defaults 200_000, 500, 16)
"""

from __future__ import annotations

import http.client
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

import httpx
import psutil

from activityschema.governance.access import LOCAL_ADMIN, create_key
from activityschema.ingest.encode import encode_records
from activityschema.ingest.importer import ingest_records
from activityschema.interfaces import operations as ops
from activityschema.interfaces.http_common import success

try:  # what POST /v1/activities answers with (older versions: the generic envelope)
    from activityschema.interfaces.http_ingest import render
except ImportError:
    def render(data: Any) -> bytes:
        return bytes(success(data).body)
from activityschema.interfaces.runtime import Runtime
from activityschema.store.duckdb import DuckDBStore

EVENTS_DEFAULT = 200_000
BATCH_DEFAULT = 500
CONCURRENCY_DEFAULT = 16
PEER_BATCHES_MAX = 40
PARTS_BATCHES = 40
START_TIMEOUT = 60
GOAL = 50_000
INGESTED_RE = re.compile(r"^activityschema_events_ingested_total (\d+)", re.M)


def batches(events: int, size: int, customers: int = 20_000) -> list[bytes]:
    out, batch = [], []
    for n in range(events):
        batch.append({"activity_id": str(uuid.uuid4()), "ts": f"2026-01-{1 + n % 28:02d}T{n % 24:02d}:00:00Z",
                      "activity": "visited_page", "customer": f"c{n % customers}", "feature_json": {"page": n % 97}})
        if len(batch) == size:
            out.append(json.dumps(batch).encode())
            batch = []
    if batch:
        out.append(json.dumps(batch).encode())
    return out


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(db: str, port: int) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen([sys.executable, "-m", "activityschema.interfaces.cli_entry", "serve", "--db", db,
                             "--port", str(port), "--log-level", "WARNING"], stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit("the server did not start")


def post_all(url: str, key: str, bodies: list[bytes], concurrency: int) -> tuple[float, int]:
    """Post every body from ``concurrency`` threads, one keep-alive connection each; check every answer.

    The client is the standard library's ``http.client`` (real HTTP/1.1 over loopback, real JSON
    bodies): it costs a fraction of a full-featured client's CPU, which on a small machine competes
    with the server measured. Bodies are encoded before the timed section. Each answer is parsed and
    checked record by record: one result per record sent, in order, each accepted.
    """
    host, port = url.removeprefix("http://").split(":")
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    accepted, lock, index = [0], threading.Lock(), [0]
    errors: list[BaseException] = []

    def worker() -> None:
        conn = http.client.HTTPConnection(host, int(port), timeout=300)
        try:
            while True:
                with lock:
                    if index[0] >= len(bodies) or errors:
                        return
                    body = bodies[index[0]]
                    index[0] += 1
                conn.request("POST", "/v1/activities", body=body, headers=headers)
                response = conn.getresponse()
                raw = response.read()
                if response.status != 200:
                    raise RuntimeError(f"HTTP {response.status}: {raw[:300]!r}")
                data = json.loads(raw)["data"]
                results = data["results"]
                ok = sum(1 for i, r in enumerate(results) if r["index"] == i and r["status"] == "accepted")
                if len(results) != data["submitted"] or ok != data["accepted"]:
                    raise RuntimeError(f"per-record results do not reconcile: {len(results)} results, "
                                       f"{ok} accepted in order, counts {data['submitted']}/{data['accepted']}")
                with lock:
                    accepted[0] += ok
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            errors.append(exc)
        finally:
            conn.close()

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    if errors:
        raise errors[0]
    return elapsed, accepted[0]


def cpu_seconds(proc: psutil.Process) -> float:
    times = proc.cpu_times()
    return float(times.user + times.system)


def loader_thread_seconds(pid: int) -> float:
    """CPU seconds of the server's loader thread (named ``as-loader`` for the OS; 0 where threads are
    not named). DuckDB's worker threads, which share the merge, are counted with the rest."""
    total, tick = 0.0, os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return 0.0
    for tid in tids:
        try:
            with open(f"/proc/{pid}/task/{tid}/comm") as comm:
                if comm.read().strip() != "as-loader":
                    continue
            with open(f"/proc/{pid}/task/{tid}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick
        except (OSError, IndexError, ValueError):
            continue
    return total


def median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def parts(tmp: str, bodies: list[bytes]) -> None:
    """One batch, piece by piece, in process on a runtime like the server's (loader running)."""
    rt = Runtime.open(os.path.join(tmp, "parts.duckdb"))
    rt.start_loader()
    sample = bodies[:PARTS_BATCHES]
    timings: dict[str, list[float]] = {k: [] for k in ("parse", "encode", "ops", "render", "audit")}

    def clock(name: str, fn: Callable[[], Any]) -> Any:
        t = time.perf_counter()
        out = fn()
        timings[name].append(time.perf_counter() - t)
        return out

    try:
        for body in sample:
            records = clock("parse", lambda b=body: json.loads(b))
            clock("encode", lambda r=records: encode_records(r))  # what the operation's validation costs
            data = clock("ops", lambda r=records: ops.log_events(rt, LOCAL_ADMIN, r, source="http"))
            clock("render", lambda d=data: render(d))  # what POST /v1/activities answers with
            clock("audit", rt.audit.flush)
    finally:
        rt.close()
    fd = os.open(os.path.join(tmp, "probe"), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    syncs = []
    for _ in range(PARTS_BATCHES):
        t = time.perf_counter()
        os.write(fd, b"x" * 299 + b"\n")
        os.fdatasync(fd)
        syncs.append(time.perf_counter() - t)
    os.close(fd)
    encode, ops_ms = median_ms(timings["encode"]), median_ms(timings["ops"])
    print(f"one batch of {len(json.loads(sample[0]))} in process (median of {len(sample)}): "
          f"JSON parse {median_ms(timings['parse']):.2f} ms; log_events {ops_ms:.2f} ms = validate/encode "
          f"{encode:.2f} ms + spool append and fdatasync, results {max(ops_ms - encode, 0):.2f} ms; "
          f"render response {median_ms(timings['render']):.2f} ms; audit journal flush "
          f"{median_ms(timings['audit']):.2f} ms; raw fdatasync on this disk {median_ms(syncs):.2f} ms")


def ingested(url: str, key: str) -> int:
    text = httpx.get(f"{url}/metrics", headers={"Authorization": f"Bearer {key}"}, timeout=30).text
    found = INGESTED_RE.search(text)
    return int(found.group(1)) if found else 0


def main(argv: list[str]) -> int:
    events = int(argv[1].replace("_", "")) if len(argv) > 1 else EVENTS_DEFAULT
    size = int(argv[2]) if len(argv) > 2 else BATCH_DEFAULT
    concurrency = int(argv[3]) if len(argv) > 3 else CONCURRENCY_DEFAULT
    bodies = batches(events, size)
    print(f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}; {os.cpu_count()} CPUs")
    with tempfile.TemporaryDirectory() as tmp:
        parts(tmp, bodies)
        db = os.path.join(tmp, "server.duckdb")
        with DuckDBStore(db) as store:
            _, key = create_key(store, "bench", ["ingest"])
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        server = start_server(db, port)
        server_proc, me = psutil.Process(server.pid), psutil.Process()
        try:
            server_cpu, client_cpu = cpu_seconds(server_proc), cpu_seconds(me)
            loader_cpu = loader_thread_seconds(server.pid)
            elapsed, accepted = post_all(url, key, bodies, concurrency)
            server_cpu, client_cpu = cpu_seconds(server_proc) - server_cpu, cpu_seconds(me) - client_cpu
            loader_cpu = loader_thread_seconds(server.pid) - loader_cpu
            loaded = ingested(url, key)
        finally:
            stop_started = time.perf_counter()
            server.terminate()  # graceful: the loader drains what was acknowledged, then the process exits
            server.wait(300)
            shutdown = time.perf_counter() - stop_started
        assert accepted == events, f"accepted {accepted} of {events}"
        with DuckDBStore(db) as store:
            stored = store.fetchone("SELECT count(*) FROM activities")[0]
        http_rate = events / elapsed
        print(f"HTTP: {events:,} events in {len(bodies):,} POSTs of {size} from {concurrency} clients: "
              f"{elapsed:.1f} s, {http_rate:,.0f} events/s  (goal >= {GOAL:,}: {'met' if http_rate >= GOAL else 'NOT met'})")
        print(f"CPU while posting: server {server_cpu:.1f} s ({server_cpu / len(bodies) * 1000:.1f} ms a batch, "
              f"request handling and its loader together; of which the loader thread "
              f"{loader_cpu / len(bodies) * 1000:.1f} ms), client {client_cpu:.1f} s "
              f"({client_cpu / len(bodies) * 1000:.1f} ms a batch); {(server_cpu + client_cpu) / elapsed:.2f} "
              f"of {os.cpu_count()} CPUs busy for us")
        print(f"stored: {stored:,} events ({loaded:,} by the server's loader while posting, the rest drained "
              f"at SIGTERM; shutdown took {shutdown:.1f} s); posting + shutdown = "
              f"{stored / (elapsed + shutdown):,.0f} events/s end to end")
        if stored != events:
            print(f"LOST AT SHUTDOWN: {events - stored:,} acknowledged events not in the store after SIGTERM")
        with DuckDBStore(os.path.join(tmp, "peer.duckdb")) as peer:
            sample = [json.loads(b) for b in bodies[:PEER_BATCHES_MAX]]
            started = time.perf_counter()
            for batch in sample:
                ingest_records(peer, batch, per_record=True)
            peer_elapsed = time.perf_counter() - started
        peer_rate = sum(len(b) for b in sample) / peer_elapsed
        print(f"peer: ingest_records in process, one merge per batch of {size}: {peer_rate:,.0f} events/s; "
              f"HTTP (queued on the spool) / peer: {http_rate / peer_rate:.1f}x")
    print(f"load average at end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
