"""The HTTP API over real loopback HTTP (uvicorn on 127.0.0.1, an ephemeral port)."""

from __future__ import annotations

import json
import socket
import threading
import time
from contextlib import contextmanager

import anyio
import httpx
import pytest
import uvicorn
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from activityschema.governance.access import create_key
from activityschema.interfaces.http import build_app
from activityschema.interfaces.runtime import Runtime
from activityschema.store.duckdb import DuckDBStore
from tests.conftest import event, uid

MAX_BODY = 64 * 1024
MAX_BATCH = 50


class Server:
    def __init__(self, rt):
        self.rt = rt
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        self.server = uvicorn.Server(uvicorn.Config(build_app(rt), log_level="warning", lifespan="on"))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [sock]}, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            assert time.monotonic() < deadline, "server did not start"
            time.sleep(0.02)

    def stop(self):
        self.server.should_exit = True
        self.thread.join(10)


@contextmanager
def serving(rt):
    """The HTTP API of ``rt`` on loopback and an httpx client to it, both stopped afterwards."""
    server = Server(rt)
    client = httpx.Client(base_url=server.url, timeout=60)
    try:
        yield client
    finally:
        client.close()
        server.stop()


def call(client, keys, who, method, path, **kwargs):
    """A request made with the key named ``who``."""
    return client.request(method, path, headers=auth(keys[who]), **kwargs)


@pytest.fixture(scope="module")
def api(tmp_path_factory):
    store = DuckDBStore(tmp_path_factory.mktemp("http") / "api.duckdb")
    env = {"ACTIVITYSCHEMA_HTTP_MAX_BODY_BYTES": str(MAX_BODY), "ACTIVITYSCHEMA_HTTP_MAX_BATCH": str(MAX_BATCH)}
    rt = Runtime(store, env=env, max_staleness=0.0)
    keys = {name: create_key(store, name, scopes)[1] for name, scopes in
            {"admin": ["admin"], "ingest": ["ingest"], "query": ["query"], "both": ["ingest", "query"]}.items()}
    keys["tenant"] = create_key(store, "tenant", ["ingest", "query"], customers=["t1"])[1]
    server = Server(rt)
    client = httpx.Client(base_url=server.url, timeout=60)
    yield server, client, keys
    client.close()
    server.stop()
    rt.close()
    store.close()


def auth(key):
    return {"Authorization": f"Bearer {key}"}


def envelope_error(response, status, code):
    assert response.status_code == status, response.text
    body = response.json()
    assert body["ok"] is False and body["error"]["code"] == code, body
    assert "Traceback" not in response.text
    return body["error"]


def test_health_is_public_everything_else_needs_a_key(api):
    _, client, keys = api
    health = client.get("/healthz")
    assert health.status_code == 200 and health.json()["data"]["status"] == "ok"
    for method, path in [("GET", "/metrics"), ("POST", "/v1/activities"), ("GET", "/v1/customers/a/context"),
                         ("POST", "/v1/query/activity_catalog"), ("GET", "/v1/provenance/abc"), ("GET", "/v1/keys"),
                         ("POST", "/mcp"), ("GET", "/nope")]:
        response = client.request(method, path)
        envelope_error(response, 401, "missing_key")
        assert response.headers["www-authenticate"] == "Bearer"
        envelope_error(client.request(method, path, headers=auth("as_k0123456789ab_" + "x" * 43)), 401, "invalid_key")
    envelope_error(client.get("/metrics", headers={"Authorization": "Basic abc"}), 401, "missing_key")


def test_scopes_are_enforced(api):
    _, client, keys = api
    envelope_error(client.post("/v1/activities", headers=auth(keys["query"]), json=[event("a_b", "2026-01-01")]),
                   403, "missing_scope")
    envelope_error(client.get("/v1/customers/x/context", headers=auth(keys["ingest"])), 403, "missing_scope")
    envelope_error(client.get("/v1/keys", headers=auth(keys["both"])), 403, "missing_scope")
    envelope_error(client.post("/v1/insights/purge", headers=auth(keys["both"])), 403, "missing_scope")
    assert client.post("/v1/insights/purge", headers=auth(keys["admin"])).json()["data"] == {"purged": 0}


def test_batch_results_reconcile(api):
    _, client, keys = api
    records = [event("visited_page", f"2026-01-01T00:00:0{i}Z", "r1", 100 + i) for i in range(5)]
    records += [records[0], {"activity": "Bad"}, "not an object", {**records[1], "revenue_impact": 5}]
    response = client.post("/v1/activities", headers=auth(keys["ingest"]), json={"activities": records})
    assert response.status_code == 200
    data = response.json()["data"]
    assert (data["submitted"], data["accepted"], data["duplicate"], data["rejected"]) == (9, 5, 1, 3)
    assert [r["index"] for r in data["results"]] == list(range(9))
    assert [r["status"] for r in data["results"]] == ["accepted"] * 5 + ["duplicate", "rejected", "rejected",
                                                                          "rejected"]
    assert data["results"][0]["activity_id"] == uid(100)
    assert data["results"][8]["reasons"][0]["code"] == "conflict"
    assert data["reasons"] == {"invalid_activity": 1, "invalid_ts": 1, "invalid_json": 1, "conflict": 1}
    again = client.post("/v1/activities", headers=auth(keys["ingest"]), json=records[:5]).json()["data"]
    assert again["duplicate"] == 5 and again["accepted"] == 0


def test_ndjson_body(api):
    _, client, keys = api
    lines = [json.dumps(event("visited_page", "2026-01-02T00:00:00Z", "r2", 200 + i)) for i in range(3)] + ["{oops"]
    response = client.post("/v1/activities", headers={**auth(keys["ingest"]), "Content-Type": "application/x-ndjson"},
                           content="\n".join(lines).encode())
    data = response.json()["data"]
    assert (data["accepted"], data["rejected"]) == (3, 1) and data["results"][3]["reasons"][0]["code"] == "invalid_json"


def test_limits_and_malformed_bodies(api):
    _, client, keys = api
    headers = auth(keys["ingest"])
    big = json.dumps([event("visited_page", "2026-01-01T00:00:00Z", "r3", feature_json={"x": "y" * MAX_BODY})])
    err = envelope_error(client.post("/v1/activities", headers=headers, content=big), 413, "body_too_large")
    assert f"{MAX_BODY:,}" in err["message"]

    def chunks():  # no Content-Length: the limit holds while streaming
        for _ in range(20):
            yield b" " * 8192

    envelope_error(client.post("/v1/activities", headers=headers, content=chunks()), 413, "body_too_large")
    too_many = [event("visited_page", "2026-01-01T00:00:00Z", "r3") for _ in range(MAX_BATCH + 1)]
    err = envelope_error(client.post("/v1/activities", headers=headers, json=too_many), 413, "batch_too_large")
    assert f"at most {MAX_BATCH}" in err["message"]
    envelope_error(client.post("/v1/activities", headers=headers, content=b"[{"), 400, "invalid_json")
    envelope_error(client.post("/v1/activities", headers=headers, content=b""), 400, "invalid_json")
    envelope_error(client.post("/v1/activities", headers=headers, json={"a": 1}), 400, "invalid_body")
    envelope_error(client.post("/v1/activities", headers=headers, json=[]), 400, "empty_batch")
    envelope_error(client.get("/v1/activities", headers=headers), 405, "method_not_allowed")


def test_context_insights_query_and_provenance(api):
    _, client, keys = api
    headers = auth(keys["both"])
    client.post("/v1/activities", headers=headers, json=[
        event("visited_page", "2026-01-01T00:00:00Z", "m1", 300, revenue_impact=2),
        event("bought_something", "2026-01-02T00:00:00Z", "m1", 301, revenue_impact=40)])
    context = client.get("/v1/customers/m1/context", headers=headers).json()["data"]
    assert context["context"]["revenue_total"] == 42 and context["version"] >= 1
    query = client.post("/v1/query/customer_activity_counts", headers=headers,
                        json={"params": {"customer": "m1"}}).json()["data"]
    assert {r["activity"]: r["events"] for r in query["rows"]} == {"visited_page": 1, "bought_something": 1}
    insight = {"subject": "account", "metric": "ltv", "value": 42, "provenance_query_hash": query["query_hash"],
               "ttl": 600}
    created = client.post("/v1/customers/m1/insights", headers=headers, json=insight)
    assert created.status_code == 201 and created.json()["data"]["value"] == 42
    latest = client.get("/v1/customers/m1/insights", headers=headers).json()["data"]
    assert [(i["metric"], i["value"]) for i in latest["insights"]] == [("ltv", 42)]
    history = client.get("/v1/customers/m1/insights?history=true&metric=ltv", headers=headers).json()["data"]
    assert history["mode"] == "history" and len(history["insights"]) == 1
    fresh = client.get("/v1/customers/m1/context", headers=headers).json()["data"]
    assert fresh["version"] > context["version"] and fresh["context"]["insights"][0]["metric"] == "ltv"
    small = client.get("/v1/customers/m1/context?max_bytes=300", headers=headers).json()["data"]
    assert small["truncated"] and small["bytes"] <= 300
    explained = client.get(f"/v1/provenance/{query['query_hash']}", headers=headers).json()["data"]
    assert explained["template_name"] == "customer_activity_counts" and explained["atoms_citing"] == 1
    envelope_error(client.get("/v1/provenance/0123456789abcdef", headers=headers), 404, "unknown_query_hash")
    envelope_error(client.get("/v1/customers/ghost/context", headers=headers), 404, "unknown_customer")
    envelope_error(client.post("/v1/query/nope", headers=headers, json={}), 404, "unknown_template")
    envelope_error(client.post("/v1/query/customer_events", headers=headers, json={"params": {"customer": "m1",
                                                                                              "x": 1}}),
                   400, "invalid_params")
    envelope_error(client.post("/v1/customers/m1/insights", headers=headers, json={**insight, "evil": 1}),
                   400, "invalid_body")
    envelope_error(client.get("/v1/customers/m1/context?max_bytes=abc", headers=headers), 400, "invalid_query_param")
    catalog = client.get("/v1/catalog/activities", headers=headers).json()["data"]
    assert {"visited_page", "bought_something"} <= {a["activity"] for a in catalog["activities"]}


def test_a_scoped_key_stays_in_its_tenant(api):
    _, client, keys = api
    headers = auth(keys["tenant"])
    response = client.post("/v1/activities", headers=headers, json=[
        event("visited_page", "2026-01-01T00:00:00Z", "t1", 400),
        event("visited_page", "2026-01-01T00:00:00Z", "m1", 401)])
    data = response.json()["data"]
    assert [r["status"] for r in data["results"]] == ["accepted", "rejected"]
    assert data["results"][1]["reasons"][0]["code"] == "out_of_scope" and data["submitted"] == 2
    envelope_error(client.get("/v1/customers/m1/context", headers=headers), 403, "out_of_scope")
    rows = client.post("/v1/query/customer_events", headers=headers, json={"params": {"customer": "m1"}})
    assert rows.json()["data"]["rows"] == []


def test_keys_admin_routes_and_revocation(api):
    _, client, keys = api
    admin = auth(keys["admin"])
    created = client.post("/v1/keys", headers=admin, json={"name": "temp", "scopes": ["query"]})
    assert created.status_code == 201
    new = created.json()["data"]
    assert client.get("/v1/catalog/activities", headers=auth(new["key"])).status_code == 200
    listed = client.get("/v1/keys", headers=admin).json()["data"]
    assert new["key_id"] in {k["key_id"] for k in listed} and all("key" not in k for k in listed)
    assert client.delete(f"/v1/keys/{new['key_id']}", headers=admin).status_code == 200
    envelope_error(client.get("/v1/catalog/activities", headers=auth(new["key"])), 401, "revoked_key")
    envelope_error(client.post("/v1/keys", headers=admin, json={"name": "x", "scopes": ["root"]}), 400, "invalid_scope")


def test_metrics_in_prometheus_text(api):
    _, client, keys = api
    client.post("/v1/activities", headers=auth(keys["ingest"]), json=[event("visited_page", "2026-01-03", "p1", 500)])
    client.post("/v1/query/activity_catalog", headers=auth(keys["query"]), json={})
    response = client.get("/metrics", headers=auth(keys["query"]))
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    text = response.text
    for line in ("# TYPE activityschema_events_ingested_total counter",
                 "# TYPE activityschema_ingest_lag_seconds gauge",
                 "# TYPE activityschema_query_duration_seconds histogram",
                 'activityschema_query_duration_seconds_count{template="activity_catalog"}',
                 'activityschema_http_requests_total{route="post_activities",status="200"}'):
        assert line in text
    ingested = [ln for ln in text.splitlines() if ln.startswith("activityschema_events_ingested_total ")]
    assert int(ingested[0].split()[1]) >= 1


def test_mcp_over_http_with_a_key(api):
    server, _, keys = api

    async def main():
        async with httpx.AsyncClient(headers=auth(keys["both"]), timeout=60) as http:
            async with Client(streamable_http_client(server.url + "/mcp", http_client=http)) as client:
                logged = await client.call_tool("log_event", {"activity": "claude_tool_call", "customer": "h1"})
                ctx = await client.call_tool("get_context", {"customer": "h1"})
                return logged, ctx

    logged, ctx = anyio.run(main)
    assert logged.structured_content["status"] == "accepted"
    assert ctx.structured_content["context"]["event_count"] == 1

    async def refused():
        async with httpx.AsyncClient(headers=auth(keys["ingest"]), timeout=60) as http:
            async with Client(streamable_http_client(server.url + "/mcp", http_client=http)) as client:
                return await client.call_tool("get_context", {"customer": "h1"})

    result = anyio.run(refused)
    assert result.is_error and json.loads(result.content[0].text)["error"]["code"] == "missing_scope"
