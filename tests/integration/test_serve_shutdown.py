"""``activityschema serve`` as a real process: SIGTERM shuts it down gracefully.

While clients post batches, SIGTERM arrives. The server stops accepting, finishes the requests in
flight, lets its loader drain every acknowledged event into the store, chains the audit journal and
closes the DuckDB file, then exits 0. Every event acknowledged before the signal is stored, none
twice, and nothing is left on the spool.
"""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import threading
import time
import uuid

import httpx

from activityschema.governance.access import create_key
from activityschema.governance.audit_trail import has_pending
from activityschema.ingest.spool import Spool, default_spool_dir
from activityschema.ingest.spool_view import backlog
from activityschema.store.duckdb import DuckDBStore

CLI = [sys.executable, "-m", "activityschema.interfaces.cli_entry"]
BATCH = 200
CLIENTS = 3
ACKED_BEFORE_SIGNAL = 6


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start(db: str, port: int) -> subprocess.Popen[str]:
    proc = subprocess.Popen([*CLI, "serve", "--db", db, "--port", str(port), "--log-level", "WARNING"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()[1]
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    raise AssertionError("the server did not start")


def batch() -> list[dict[str, object]]:
    return [{"activity_id": str(uuid.uuid4()), "activity": "visited_page", "ts": "2026-01-02T03:04:05Z",
             "customer": f"c{i % 17}", "feature_json": {"i": i}} for i in range(BATCH)]


def test_sigterm_finishes_requests_drains_the_loader_and_closes_the_store(tmp_path):
    db = str(tmp_path / "serve.duckdb")
    with DuckDBStore(db) as store:
        _, key = create_key(store, "writer", ["ingest"])
    port = free_port()
    proc = start(db, port)
    acked: list[str] = []
    statuses: list[int] = []
    lock = threading.Lock()
    stop = threading.Event()

    def post() -> None:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=120,
                          headers={"Authorization": f"Bearer {key}"}) as client:
            while not stop.is_set():
                records = batch()
                try:
                    response = client.post("/v1/activities", json=records)
                except httpx.HTTPError:  # refused or cut once the server stops accepting
                    return
                with lock:
                    statuses.append(response.status_code)
                    if response.status_code == 200:
                        results = response.json()["data"]["results"]
                        acked.extend(r["activity_id"] for r in results if r["status"] == "accepted")

    threads = [threading.Thread(target=post) for _ in range(CLIENTS)]
    for t in threads:
        t.start()
    try:
        deadline = time.monotonic() + 120
        while len(acked) < ACKED_BEFORE_SIGNAL * BATCH:
            assert time.monotonic() < deadline and proc.poll() is None, "no batches acknowledged"
            time.sleep(0.02)
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=180)
    finally:
        stop.set()
        for t in threads:
            t.join(60)
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert statuses and set(statuses) == {200}, statuses  # in-flight requests finished, none failed
    assert "Traceback" not in err, err
    with DuckDBStore(db, read_only=True) as store:  # closed cleanly: another process can open it
        stored = {r[0] for r in store.fetchall("SELECT CAST(activity_id AS VARCHAR) FROM activities")}
        total = store.fetchone("SELECT count(*) FROM activities")[0]
        audited = store.fetchone("SELECT count(*) FROM audit_log WHERE action = 'log_events'")[0]
    assert set(acked) <= stored  # every acknowledged event loaded by the drain at shutdown
    assert total == len(stored)  # none twice
    assert backlog(Spool(default_spool_dir(db))).pending_bytes == 0
    assert not has_pending(db)  # the audit journal went into the chain
    assert audited >= len(statuses)


def test_sigterm_stops_the_stdio_mcp_server_after_draining_its_loader(tmp_path):
    from activityschema.ingest.logger import ActivityLogger
    from activityschema.ingest.spool_view import loader_pid

    db = str(tmp_path / "mcp.duckdb")
    DuckDBStore(db).close()
    proc = subprocess.Popen([*CLI, "mcp", "--db", db, "--log-level", "WARNING"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 90
        while loader_pid(default_spool_dir(db)) != proc.pid:  # the server's loader holds the spool
            assert time.monotonic() < deadline and proc.poll() is None, proc.stderr.read() if proc.poll() else ""
            time.sleep(0.05)
        ids = [str(uuid.uuid4()) for _ in range(300)]
        with ActivityLogger(db=db) as logger:  # acknowledged: durable on the spool
            logger.log_many([{"activity_id": i, "activity": "visited_page", "ts": "2026-01-02T03:04:05Z",
                              "customer": "c1"} for i in ids])
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=180)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    with DuckDBStore(db, read_only=True) as store:
        stored = {r[0] for r in store.fetchall("SELECT CAST(activity_id AS VARCHAR) FROM activities")}
    assert set(ids) <= stored
    assert backlog(Spool(default_spool_dir(db))).pending_bytes == 0
