"""POST /v1/activities over loopback: events/s with batches of 500 (goal >= 50k events/s).

Starts ``activityschema serve`` as a subprocess (the one process that owns the store), then posts
EVENTS events in batches of BATCH from CONCURRENCY client threads. The peer, measured in the same run
on its own store, is ``ingest_records`` called in process with the same batches (no HTTP at all), so
the ratio shows what HTTP and JSON cost on top of the merge.

Usage: python bench/bench_http_ingest.py [EVENTS] [BATCH] [CONCURRENCY]   (defaults 200_000, 500, 16)
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid

import httpx

from activityschema.governance.access import create_key
from activityschema.ingest.importer import ingest_records
from activityschema.ingest.loader import Loader
from activityschema.store.duckdb import DuckDBStore

EVENTS_DEFAULT = 200_000
BATCH_DEFAULT = 500
CONCURRENCY_DEFAULT = 16
PEER_BATCHES_MAX = 40
START_TIMEOUT = 60


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
    accepted, lock, index = [0], threading.Lock(), [0]

    def worker() -> None:
        with httpx.Client(base_url=url, timeout=300, headers={"Authorization": f"Bearer {key}",
                                                             "Content-Type": "application/json"}) as client:
            while True:
                with lock:
                    if index[0] >= len(bodies):
                        return
                    body = bodies[index[0]]
                    index[0] += 1
                response = client.post("/v1/activities", content=body)
                response.raise_for_status()
                with lock:
                    accepted[0] += response.json()["data"]["accepted"]

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.perf_counter() - started, accepted[0]


def main(argv: list[str]) -> int:
    events = int(argv[1].replace("_", "")) if len(argv) > 1 else EVENTS_DEFAULT
    size = int(argv[2]) if len(argv) > 2 else BATCH_DEFAULT
    concurrency = int(argv[3]) if len(argv) > 3 else CONCURRENCY_DEFAULT
    bodies = batches(events, size)
    with tempfile.TemporaryDirectory() as tmp:
        db = os.path.join(tmp, "server.duckdb")
        with DuckDBStore(db) as store:
            _, key = create_key(store, "bench", ["ingest"])
        port = free_port()
        server = start_server(db, port)
        started = time.perf_counter()
        try:
            elapsed, accepted = post_all(f"http://127.0.0.1:{port}", key, bodies, concurrency)
        finally:
            server.terminate()
            server.wait(60)
        assert accepted == events, f"accepted {accepted} of {events}"
        with DuckDBStore(db) as store:  # what the server's loader had not loaded yet stays queued: load it
            loaded = store.fetchone("SELECT count(*) FROM activities")[0]
            drain_started = time.perf_counter()
            Loader(store).run_once()
            drain = time.perf_counter() - drain_started
            stored = store.fetchone("SELECT count(*) FROM activities")[0]
        print(f"stored: {stored:,} events ({loaded:,} by the server's loader while posting, the rest by a "
              f"loader run after it stopped, {drain:.1f} s); posting + that drain = "
              f"{stored / (elapsed + drain):,.0f} events/s end to end")
        http_rate = events / elapsed
        print(f"HTTP: {events:,} events in {len(bodies):,} POSTs of {size} from {concurrency} clients: "
              f"{elapsed:.1f} s, {http_rate:,.0f} events/s  "
              f"(goal >= 50,000: {'met' if http_rate >= 50_000 else 'NOT met'})")
        with DuckDBStore(os.path.join(tmp, "peer.duckdb")) as peer:
            sample = [json.loads(b) for b in bodies[:PEER_BATCHES_MAX]]
            started = time.perf_counter()
            for batch in sample:
                ingest_records(peer, batch, per_record=True)
            peer_elapsed = time.perf_counter() - started
        peer_rate = sum(len(b) for b in sample) / peer_elapsed
        print(f"peer: ingest_records in process, one merge per batch of {size}: {peer_rate:,.0f} events/s; "
              f"HTTP with group commit / peer: {http_rate / peer_rate:.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
