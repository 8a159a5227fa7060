"""The analysis tools through the servers give exactly what the library gives.

Each analysis (funnel, retention, paths, journey, recent activity, and the dataset builder when it is
installed) is called through a real MCP client session and over real loopback HTTP; the result must
equal the library's own result for the same request (same query hash, same numbers), and a scoped
caller must see only its customers.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
from datetime import datetime

import anyio
import httpx
import pytest
from mcp import Client

from activityschema.governance.access import LOCAL_ADMIN, Principal, create_key
from activityschema.ingest.importer import ingest_records
from activityschema.interfaces.mcp import build_mcp_server
from activityschema.interfaces.operations_analytics import ANALYSES
from activityschema.interfaces.runtime import Runtime
from activityschema.schema.jsonable import jsonable
from tests.conftest import timeline
from tests.integration.test_http_api import Server, auth

STREAM = {
    "c1": [("signup_started", "2026-03-02T10:00:00Z"), ("email_verified", "2026-03-02T10:05:00Z"),
           ("profile_completed", "2026-03-03T09:00:00Z"), ("visited_page", "2026-03-10T12:00:00Z")],
    "c2": [("signup_started", "2026-03-03T11:00:00Z"), ("email_verified", "2026-03-20T10:00:00Z"),
           ("visited_page", "2026-03-04T08:00:00Z")],
    "c3": [("signup_started", "2026-03-09T09:00:00Z"), ("visited_page", "2026-03-16T09:00:00Z")],
}

REQUESTS = {
    "funnel": {"steps": [{"activity": "signup_started"}, {"activity": "email_verified"},
                         {"activity": "profile_completed"}], "window": "14d"},
    "retention": {"start": {"activity": "signup_started"}, "period": "week", "intervals": 3},
    "paths": {"step_limit": 3},
    "journey": {"actor": "c1"},
    "recent_activity": {"window": "5000d", "limit": 50},
    "dataset": {"cohort": {"activity": "signup_started"},
                "append": [{"relationship": "first_after", "activity": "visited_page"}]},
}
KINDS = [k for k in sorted(ANALYSES) if importlib.util.find_spec(ANALYSES[k][0]) is not None]


# Analyses whose parameters include "now" (the window end): the servers run them at the real clock,
# so their hash differs from a library run at another instant; their results must still agree.
CLOCKED = {"recent_activity", "retention"}


def library_result(store, kind):
    module, function, _ = ANALYSES[kind]
    entry = getattr(importlib.import_module(module), function)
    return entry(store, REQUESTS[kind], now=datetime.now())


@pytest.fixture
def loaded_rt(store):
    assert ingest_records(store, timeline(STREAM), now=datetime(2026, 4, 1)).accepted == 9
    runtime = Runtime(store, env={}, max_staleness=0.0, background=False)
    yield runtime
    runtime.close()


def call_tool(rt, kind, request, principal: Principal = LOCAL_ADMIN):
    async def main():
        async with Client(build_mcp_server(rt, principal)) as client:
            return await client.call_tool(kind, {"request": request})

    return anyio.run(main)


CLOCK_KEYS = {"now", "since", "until", "query_hash", "params"}


def comparable(body):
    """Drop what legitimately differs between two runs: the run's clock and what it hashes into."""
    def strip(value):
        if isinstance(value, dict):
            return {k: strip(v) for k, v in value.items() if k not in CLOCK_KEYS}
        if isinstance(value, list):
            return [strip(v) for v in value]
        return value
    return strip(json.loads(json.dumps(body, sort_keys=True, default=str)))


@pytest.mark.parametrize("kind", KINDS)
def test_mcp_analysis_equals_the_library(loaded_rt, store, kind):
    expected = library_result(store, kind)
    result = call_tool(loaded_rt, kind, REQUESTS[kind])
    assert not result.is_error, result.content[0].text
    data = result.structured_content
    assert data["kind"] == kind
    if kind not in CLOCKED:
        assert data["query_hash"] == expected.query_hash
    assert comparable(data["result"]) == comparable(jsonable(expected.to_dict()))


def test_funnel_tool_numbers(loaded_rt):
    data = call_tool(loaded_rt, "funnel", REQUESTS["funnel"]).structured_content["result"]
    # c2 verified 17 days after starting: outside the 14-day window
    assert [s["count"] for s in data["steps"]] == [3, 1, 1]


def test_scoped_caller_sees_only_its_customers(loaded_rt, store):
    from activityschema.governance.access import authenticate

    _, secret = create_key(store, "scoped", ["query"], customers=["c3"])
    principal = authenticate(store, secret)
    funnel = call_tool(loaded_rt, "funnel", REQUESTS["funnel"], principal).structured_content["result"]
    assert [s["count"] for s in funnel["steps"]] == [1, 0, 0]
    recent = call_tool(loaded_rt, "recent_activity", REQUESTS["recent_activity"], principal).structured_content["result"]
    rows = recent.get("rows") or recent.get("events")
    assert rows and {r.get("customer", r.get("actor")) for r in rows} == {"c3"}
    denied = call_tool(loaded_rt, "journey", {"actor": "c1"}, principal)
    text = denied.content[0].text
    assert denied.is_error or "signup_started" not in text


def test_bad_requests_are_clear_errors(loaded_rt):
    result = call_tool(loaded_rt, "funnel", {"steps": [{"activity": "signup_started"}], "colour": 1})
    assert result.is_error and "Traceback" not in result.content[0].text
    body = json.loads(result.content[0].text)
    assert body["ok"] is False and body["error"]["code"]


@pytest.mark.parametrize("kind", KINDS)
def test_http_analysis_equals_the_library(loaded_rt, store, kind):
    _, secret = create_key(store, "q", ["query"])
    expected = library_result(store, kind)
    server = Server(loaded_rt)
    try:
        with httpx.Client(base_url=server.url, timeout=60) as client:
            r = client.post(f"/v1/analytics/{kind}", json=REQUESTS[kind], headers=auth(secret))
            assert r.status_code == 200, r.text
            body = r.json()
            data = body.get("data", body)
            assert data["query_hash"] == expected.query_hash or kind in CLOCKED
            assert comparable(data["result"]) == comparable(jsonable(expected.to_dict()))
            assert client.post(f"/v1/analytics/{kind}", json=REQUESTS[kind]).status_code == 401
    finally:
        server.stop()


def test_direct_funnel_template_run_checks_the_request_rules(store):
    from activityschema.analytics.runner import run_template
    from activityschema.errors import QueryError

    for order in ("ordered", "strict", "unordered"):
        with pytest.raises(QueryError, match="between 2 and") as refused:
            run_template(store, "funnel", {"steps": [], "order": order})
        assert refused.value.status == 400
