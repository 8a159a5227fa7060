"""Queued ingestion: with the loader in the server process, POST /v1/activities and MCP log_event
validate in Python, append to the spool (durable) and answer at once; ``sync``/``wait`` merge first.
Real loopback HTTP (uvicorn on 127.0.0.1) and a real MCP client session."""

from __future__ import annotations

import json
import time

import anyio
import httpx
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from activityschema.governance.access import create_key
from activityschema.interfaces.runtime import Runtime
from activityschema.store.duckdb import DuckDBStore
from tests.conftest import event, uid
from tests.integration.test_http_api import Server

TS = "2026-01-10T10:00:00Z"


@pytest.fixture
def api(tmp_path):
    store = DuckDBStore(tmp_path / "q.duckdb")
    rt = Runtime(store, env={}, max_staleness=0.0)
    assert rt.start_loader() and rt.queued_ingest
    key = create_key(store, "admin", ["admin"])[1]
    server = Server(rt)
    client = httpx.Client(base_url=server.url, timeout=60, headers={"Authorization": f"Bearer {key}"})
    yield server, client, store, key
    client.close()
    server.stop()
    rt.close()
    store.close()


def wait_for(store, sql, expected, timeout=30.0):
    deadline = time.monotonic() + timeout
    while (got := store.fetchone(sql)[0]) != expected:
        assert time.monotonic() < deadline, f"{sql} -> {got}, expected {expected}"
        time.sleep(0.05)


def test_http_batch_is_queued_then_loaded_and_sync_gives_final_statuses(api):
    _, client, store, _ = api
    batch = [event("visited_page", TS, n=1), event("visited_page", TS, n=2), event("Bad Name", TS, n=3)]
    queued = client.post("/v1/activities", json=batch).json()["data"]
    assert queued["durability"] == "spooled"
    assert (queued["submitted"], queued["accepted"], queued["duplicate"], queued["rejected"]) == (3, 2, 0, 1)
    assert [r["status"] for r in queued["results"]] == ["accepted", "accepted", "rejected"]
    assert queued["results"][2]["reasons"][0]["code"] == "invalid_activity"
    assert [r["activity_id"] for r in queued["results"][:2]] == [uid(1), uid(2)]
    # The invalid record is in the rejects table before the answer; the valid ones load shortly.
    assert store.fetchone("SELECT count(*) FROM rejected_activities WHERE activity_id = ?", [uid(3)])[0] == 1
    wait_for(store, "SELECT count(*) FROM activities", 2)

    final = client.post("/v1/activities?sync=true", json=batch).json()["data"]
    assert final["durability"] == "stored" and final["batch_id"]
    assert (final["accepted"], final["duplicate"], final["rejected"]) == (0, 2, 1)
    assert final["accepted"] + final["duplicate"] + final["rejected"] == final["submitted"]


def test_http_queued_conflict_and_missing_id_are_resolved_by_the_loader(api):
    _, client, store, _ = api
    client.post("/v1/activities?sync=1", json=[event("visited_page", TS, n=7)])
    changed = event("visited_page", TS, n=7, feature_json={"other": 1})
    fresh = event("visited_page", TS)  # no id: one is generated and answered
    data = client.post("/v1/activities", json=[changed, fresh]).json()["data"]
    assert [r["status"] for r in data["results"]] == ["accepted", "accepted"]
    generated = data["results"][1]["activity_id"]
    wait_for(store, "SELECT count(*) FROM rejected_activities WHERE list_contains(reason_codes, 'conflict')", 1)
    wait_for(store, f"SELECT count(*) FROM activities WHERE activity_id = '{generated}'", 1)
    bad = client.post("/v1/activities?sync=maybe", json=[fresh])
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid_query_param"


def test_mcp_log_event_queues_and_wait_returns_final_status(api):
    server, _, store, key = api

    async def main():
        async with httpx.AsyncClient(headers={"Authorization": f"Bearer {key}"}, timeout=60) as http:
            async with Client(streamable_http_client(server.url + "/mcp", http_client=http)) as client:
                args = {"activity": "claude_tool_call", "customer": "m1", "activity_id": uid(42), "ts": TS}
                first = await client.call_tool("log_event", args)
                ctx = await client.call_tool("get_context", {"customer": "m1"})  # reads its own write
                again = await client.call_tool("log_event", {**args, "wait": True})
                bad = await client.call_tool("log_event", {**args, "activity": "Nope", "activity_id": uid(43)})
                return first, ctx, again, bad

    first, ctx, again, bad = anyio.run(main)
    assert first.structured_content["status"] == "accepted"
    assert first.structured_content["durability"] == "spooled"
    assert ctx.structured_content["context"]["event_count"] == 1
    assert again.structured_content["status"] == "duplicate"
    assert again.structured_content["durability"] == "stored"
    assert bad.is_error
    assert store.fetchone("SELECT count(*) FROM rejected_activities WHERE activity_id = ?", [uid(43)])[0] == 1
    wait_for(store, "SELECT count(*) FROM activities", 1)


def test_http_ndjson_bad_lines_are_rejected_and_the_rest_queued(api):
    _, client, store, _ = api
    body = "\n".join([json.dumps(event("visited_page", TS, n=21)), "not json", "[1, 2]",
                      json.dumps(event("visited_page", "2999-01-01T00:00:00Z", n=22))])
    data = client.post("/v1/activities", content=body, headers={"Content-Type": "application/x-ndjson"}).json()["data"]
    assert [r["status"] for r in data["results"]] == ["accepted", "rejected", "rejected", "rejected"]
    assert data["results"][3]["reasons"][0]["code"] == "ts_in_future"
    assert data["accepted"] + data["duplicate"] + data["rejected"] == data["submitted"] == 4
    wait_for(store, "SELECT count(*) FROM activities", 1)


def test_http_all_accepted_batch_reconciles_record_by_record(api):
    """The common case (every record valid) takes the vectorised path: results in input order,
    counts reconcile, and the events load."""
    _, client, store, _ = api
    batch = [event("visited_page", TS, n=n) for n in range(1, 41)]
    body = client.post("/v1/activities", json={"activities": batch}).json()
    data = body["data"]
    assert body["ok"] is True and data["durability"] == "spooled"
    assert (data["submitted"], data["accepted"], data["duplicate"], data["rejected"], data["reasons"]) == (40, 40, 0, 0, {})
    assert data["results"] == [{"index": i, "status": "accepted", "activity_id": uid(i + 1), "reasons": []}
                               for i in range(40)]
    wait_for(store, "SELECT count(*) FROM activities", 40)


def test_the_server_loader_thread_takes_the_loader_nice_setting(tmp_path):
    import os

    if not hasattr(os, "setpriority"):
        pytest.skip("per-thread niceness is a Linux feature")
    store = DuckDBStore(tmp_path / "n.duckdb")
    rt = Runtime(store, env={"ACTIVITYSCHEMA_LOADER_NICE": "3"}, max_staleness=0.0)
    try:
        assert rt.start_loader()
        tid, want = rt.loader._thread.native_id, min(os.getpriority(os.PRIO_PROCESS, 0) + 3, 19)
        deadline = time.monotonic() + 10
        while os.getpriority(os.PRIO_PROCESS, tid) != want:
            assert time.monotonic() < deadline, "the loader thread was not reniced"
            time.sleep(0.01)
    finally:
        rt.close()
        store.close()
