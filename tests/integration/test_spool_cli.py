"""``activityschema spool status`` and ``activityschema loader``, run as real processes."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time

from activityschema.ingest.logger import ActivityLogger
from activityschema.store.duckdb import DuckDBStore
from tests.conftest import uid

CLI = [sys.executable, "-m", "activityschema.interfaces.cli_entry"]


def run(*args):
    return subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=120)


def log_events(db, n):
    with ActivityLogger(db=db) as logger:
        logger.log_many([{"activity_id": uid(i), "activity": "visited_page", "ts": "2026-01-01T00:00:00Z",
                          "customer": f"c{i}"} for i in range(1, n + 1)])


def test_status_shows_the_backlog_and_loader_once_drains_it(tmp_path):
    db = str(tmp_path / "s.duckdb")
    log_events(db, 5)
    status = json.loads(run("spool", "status", "--db", db, "--json").stdout)
    assert status["pending_bytes"] > 0 and status["loader_pid"] is None
    assert [s["sealed"] for s in status["segments"]] == [False]
    text = run("spool", "status", "--db", db).stdout
    assert "pending" in text and "loader not running" in text
    out = run("loader", "--db", db, "--once", "--json")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["accepted"] == 5
    assert json.loads(run("spool", "status", "--db", db, "--json").stdout)["pending_bytes"] == 0
    with DuckDBStore(db, read_only=True) as store:
        assert store.fetchone("SELECT count(*) FROM activities") == (5,)


def test_loader_process_waits_for_a_busy_store_then_loads_and_stops_on_sigterm(tmp_path):
    db = str(tmp_path / "busy.duckdb")
    log_events(db, 3)
    holder = subprocess.Popen([sys.executable, "-c", "import duckdb, sys; c = duckdb.connect(sys.argv[1]); "
                               "print('held', flush=True); sys.stdin.read()", db],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "held"  # another process owns the store file
    loader = subprocess.Popen([*CLI, "loader", "--db", db, "--follow", "--json"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        retried = loader.stderr.readline()
        assert "store unavailable" in retried and "retrying" in retried
        holder.communicate("")  # the other process lets go
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            status = json.loads(run("spool", "status", "--db", db, "--json").stdout)
            if status["pending_bytes"] == 0 and status["loader_pid"] == loader.pid:
                break
            time.sleep(0.1)
        loader.send_signal(signal.SIGTERM)
        out, _ = loader.communicate(timeout=60)
    finally:
        holder.kill()
        loader.kill()
    assert loader.returncode == 0
    assert json.loads(out)["accepted"] == 3
