"""The MCP server through a real MCP client session (the SDK's in-process transport)."""

from __future__ import annotations

import json

import anyio
import pytest
from mcp import Client

from activityschema.analytics.runner import run_template
from activityschema.governance.access import LOCAL_ADMIN, Principal
from activityschema.interfaces.mcp import build_mcp_server
from activityschema.interfaces.runtime import Runtime
from tests.conftest import event

TOOLS = {"log_event", "get_context", "log_insight", "get_insights", "submit_query", "get_query_result",
         "explain_provenance", "list_activities", "dataset", "funnel", "retention", "paths", "journey",
         "recent_activity", "forget_customer", "unsuppress_customer", "export_customer", "customer_disclosure"}


@pytest.fixture
def rt(store):
    runtime = Runtime(store, env={}, max_staleness=0.0, background=False)
    yield runtime
    runtime.close()


def session(rt, body, principal: Principal | None = LOCAL_ADMIN):
    async def main():
        async with Client(build_mcp_server(rt, principal)) as client:
            return await body(client)

    return anyio.run(main)


def error_of(result):
    assert result.is_error, result
    body = json.loads(result.content[0].text)
    assert body["ok"] is False and set(body["error"]) == {"code", "message", "details"}
    assert "Traceback" not in result.content[0].text
    return body["error"]


def data_of(result):
    assert not result.is_error, result.content[0].text
    assert json.loads(result.content[0].text) == result.structured_content
    return result.structured_content


def test_tools_are_listed_with_typed_schemas(rt):
    async def body(c):
        return (await c.list_tools()).tools

    tools = {t.name: t for t in session(rt, body)}
    assert set(tools) == TOOLS
    assert tools["get_context"].input_schema["required"] == ["customer"]
    assert tools["log_event"].output_schema["properties"]["status"]["enum"] == ["accepted", "duplicate"]
    assert all(t.output_schema for t in tools.values())


def test_memory_loop_log_query_remember_recall_explain(rt):
    async def body(c):
        out = {}
        out["logged"] = data_of(await c.call_tool("log_event", {
            "activity": "claude_tool_call", "customer": "c1", "ts": "2026-01-01T00:00:00Z",
            "feature_json": {"tool_name": "read_file"}, "activity_id": "00000000-0000-4000-8000-000000000001"}))
        out["again"] = data_of(await c.call_tool("log_event", {
            "activity": "claude_tool_call", "customer": "c1", "ts": "2026-01-01T00:00:00Z",
            "feature_json": {"tool_name": "read_file"}, "activity_id": "00000000-0000-4000-8000-000000000001"}))
        out["now"] = data_of(await c.call_tool("log_event", {"activity": "claude_session_start", "customer": "c1"}))
        ticket = data_of(await c.call_tool("submit_query", {"template": "customer_events", 
                                                            "params": {"customer": "c1"}}))
        result = data_of(await c.call_tool("get_query_result", {"ticket": ticket["ticket"], "wait_seconds": 30}))
        out["result"] = result
        out["atom"] = data_of(await c.call_tool("log_insight", {
            "customer": "c1", "subject": "session", "metric": "tools_used", "value": ["read_file"],
            "provenance_query_hash": result["query_hash"], "ttl": 3600}))
        out["insights"] = data_of(await c.call_tool("get_insights", {"customer": "c1"}))
        out["history"] = data_of(await c.call_tool("get_insights", {"customer": "c1", "history": True}))
        out["context"] = data_of(await c.call_tool("get_context", {"customer": "c1"}))
        out["provenance"] = data_of(await c.call_tool("explain_provenance", {"query_hash": result["query_hash"]}))
        out["catalog"] = data_of(await c.call_tool("list_activities", {}))
        return out

    out = session(rt, body)
    assert out["logged"]["status"] == "accepted" and out["again"]["status"] == "duplicate"
    assert out["now"]["status"] == "accepted"
    assert out["result"]["status"] == "done" and out["result"]["row_count"] == 2 and not out["result"]["truncated"]
    assert out["atom"]["value"] == ["read_file"] and out["atom"]["expires_at"]
    assert [i["metric"] for i in out["insights"]["insights"]] == ["tools_used"]
    assert out["history"]["mode"] == "history" and len(out["history"]["insights"]) == 1
    ctx = out["context"]["context"]
    assert ctx["event_count"] == 2 and set(ctx["activities"]) == {"claude_tool_call", "claude_session_start"}
    assert [i["metric"] for i in ctx["insights"]] == ["tools_used"] and not out["context"]["stale"]
    assert out["provenance"]["template_name"] == "customer_events" and out["provenance"]["atoms_citing"] == 1
    assert out["provenance"]["parameters"] == {"customer": "c1", "activity": None, "limit": 20}
    assert {a["activity"] for a in out["catalog"]["activities"]} == {"claude_tool_call", "claude_session_start"}


def test_each_submitted_query_runs_exactly_once(rt, store):
    async def body(c):
        first = data_of(await c.call_tool("submit_query", {"template": "activity_catalog", "client_request_id": "r1"}))
        retry = data_of(await c.call_tool("submit_query", {"template": "activity_catalog", "client_request_id": "r1"}))
        polls = [data_of(await c.call_tool("get_query_result", {"ticket": first["ticket"], "wait_seconds": 30}))
                 for _ in range(3)]
        return first, retry, polls

    first, retry, polls = session(rt, body)
    assert retry["ticket"] == first["ticket"]
    assert {p["status"] for p in polls} == {"done"}
    runs = store.fetchone("SELECT count(*) FROM provenance_runs WHERE query_hash = ?", [polls[0]["query_hash"]])[0]
    assert runs == 1 and rt.tickets.get(first["ticket"], owner="local").executions == 1


def test_results_are_capped_by_bytes(rt):
    rt.log_events([event("visited_page", f"2026-01-01T00:00:{i:02d}Z", "c1", i) for i in range(1, 30)], source="t")

    async def body(c):
        ticket = data_of(await c.call_tool("submit_query", {"template": "customer_events",
                                                            "params": {"customer": "c1", "limit": 50}}))
        return data_of(await c.call_tool("get_query_result", {"ticket": ticket["ticket"], "wait_seconds": 30,
                                                              "max_bytes": 1000}))

    out = session(rt, body)
    assert out["truncated"] and out["row_count"] == 29 and 0 < len(out["rows"]) < 29
    assert len(json.dumps(out["rows"], separators=(",", ":")).encode()) <= 1000


def test_bad_arguments_unknown_things_and_huge_values_are_clear_errors(rt):
    rt.log_events([event("visited_page", "2026-01-01T00:00:00Z", "c1", 1)], source="t")

    async def body(c):
        calls = [
            ("log_event", {"customer": "c1"}),
            ("log_event", {"activity": "Bad Name", "customer": "c1"}),
            ("get_context", {"customer": "c1", "max_bytes": 5}),
            ("get_context", {"customer": 12}),
            ("get_context", {"customer": "nobody"}),
            ("get_insights", {"customer": "nobody"}),
            ("log_insight", {"customer": "c1", "subject": "s", "metric": "m", "value": "x" * 2_000_000,
                             "provenance_query_hash": "abc"}),
            ("log_insight", {"customer": "c1", "subject": "s", "metric": "m", "value": 1,
                             "provenance_query_hash": "0123456789abcdef"}),
            ("submit_query", {"template": "customer_event"}),
            ("submit_query", {"template": "customer_events", "params": {"customer": "c1", "limit": "many"}}),
            ("get_query_result", {"ticket": "no-such-ticket"}),
            ("explain_provenance", {"query_hash": "0123456789abcdef"}),
            ("no_such_tool", {}),
        ]
        return [error_of(await c.call_tool(name, args)) for name, args in calls]

    codes = [e["code"] for e in session(rt, body)]
    assert codes == ["invalid_arguments", "event_rejected", "invalid_arguments", "invalid_arguments",
                     "unknown_customer", "unknown_customer", "value_too_large", "unknown_query_hash",
                     "unknown_template", "invalid_params", "unknown_ticket", "unknown_query_hash", "unknown_tool"]


def test_huge_context_is_truncated_to_valid_json(rt):
    rt.log_events([event("visited_page", f"2026-01-01T00:00:{i:02d}Z", "c1", i, feature_json={"n": "z" * 900})
                   for i in range(1, 11)], source="t")

    async def body(c):
        return data_of(await c.call_tool("get_context", {"customer": "c1", "max_bytes": 2000}))

    out = session(rt, body)
    assert out["truncated"] and out["bytes"] <= 2000
    assert len(json.dumps(out["context"], separators=(",", ":"), ensure_ascii=False).encode()) == out["bytes"]
    assert out["context"]["_truncated"]["recent_activities"] > 0 and out["context"]["event_count"] == 10


def test_concurrent_calls_in_one_session(rt):
    async def body(c):
        results = {}

        async def call(i):
            results[i] = await c.call_tool("log_event", {"activity": "claude_tool_call", "customer": f"c{i % 3}",
                                                         "ts": f"2026-01-01T00:00:{i:02d}Z"})

        async with anyio.create_task_group() as tg:
            for i in range(12):
                tg.start_soon(call, i)
        reads = {}

        async def read(i):
            reads[i] = await c.call_tool("get_context", {"customer": f"c{i}"})

        async with anyio.create_task_group() as tg:
            for i in range(3):
                tg.start_soon(read, i)
        return results, reads

    results, reads = session(rt, body)
    assert all(data_of(r)["status"] == "accepted" for r in results.values())
    assert sorted(data_of(r)["context"]["event_count"] for r in reads.values()) == [4, 4, 4]


def test_scoped_caller_sees_only_its_customers(rt):
    rt.log_events([event("visited_page", "2026-01-01T00:00:00Z", "c1", 1),
                   event("visited_page", "2026-01-01T00:00:00Z", "c2", 2)], source="t")
    admins_query = run_template(rt.store, "customer_events", {"customer": "c2", "limit": 5}).query_hash
    tenant = Principal("k1", "tenant", frozenset({"query", "ingest"}), frozenset({"c1"}))

    async def body(c):
        ticket = data_of(await c.call_tool("submit_query", {"template": "customer_events",
                                                            "params": {"customer": "c2"}}))
        rows = data_of(await c.call_tool("get_query_result", {"ticket": ticket["ticket"], "wait_seconds": 30}))
        return {
            "context": error_of(await c.call_tool("get_context", {"customer": "c2"})),
            "log": error_of(await c.call_tool("log_event", {"activity": "visited_page", "customer": "c2"})),
            "own": data_of(await c.call_tool("get_context", {"customer": "c1"})),
            "rows": rows,
            "catalog": data_of(await c.call_tool("list_activities", {})),
            "explain_own": data_of(await c.call_tool("explain_provenance", {"query_hash": rows["query_hash"]})),
            "explain_other": error_of(await c.call_tool("explain_provenance", {"query_hash": admins_query})),
        }

    out = session(rt, body, tenant)
    assert out["context"]["code"] == "out_of_scope" and out["log"]["code"] == "out_of_scope"
    assert out["own"]["customer_id"] == "c1" and out["rows"]["rows"] == []
    assert out["catalog"]["activities"][0]["actors"] == 1
    assert out["explain_own"]["recent_runs"][0]["run_by"] == "tenant [k1]"
    assert out["explain_other"]["code"] == "unknown_query_hash"


def test_no_principal_means_no_access(rt):
    async def body(c):
        return error_of(await c.call_tool("list_activities", {}))

    assert session(rt, body, None)["code"] == "missing_key"


def test_resources_context_and_catalog(rt):
    rt.log_events([event("visited_page", "2026-01-01T00:00:00Z", "c1", 1)], source="t")

    async def body(c):
        templates = (await c.list_resource_templates()).resource_templates
        static = (await c.list_resources()).resources
        ctx = await c.read_resource("activityschema://customers/c1/context")
        catalog = await c.read_resource("activityschema://catalog/activities")
        try:
            await c.read_resource("activityschema://customers/nobody/context")
        except Exception as exc:  # a resource error carrying the envelope
            missing = str(exc)
        return templates, static, ctx, catalog, missing

    templates, static, ctx, catalog, missing = session(rt, body)
    assert [t.uri_template for t in templates] == ["activityschema://customers/{customer_id}/context"]
    assert [str(r.uri) for r in static] == ["activityschema://catalog/activities"]
    assert json.loads(ctx.contents[0].text)["context"]["event_count"] == 1
    assert json.loads(catalog.contents[0].text)["activities"][0]["activity"] == "visited_page"
    assert json.loads(missing)["error"]["code"] == "unknown_customer"


def test_a_cached_context_is_answered_on_the_event_loop_and_still_audited(store):
    """With the audit journal synced in the background, a get_context whose answer is in memory runs
    on the server's event loop (no worker thread); the answer and its audit entry are the same."""
    from activityschema.interfaces import operations as ops

    rt = Runtime(store, env={}, max_staleness=5.0)  # background jobs on: audit_sync_ms applies
    strict = Runtime(store, env={"ACTIVITYSCHEMA_AUDIT_SYNC_MS": "0"}, max_staleness=5.0, background=False)
    try:
        rt.log_events([event("visited_page", "2026-01-01T00:00:00Z", n=1)], source="test", wait=True)
        assert not ops.context_in_memory(rt, "c1")  # not read yet: the first read loads it in a worker

        async def body(c):
            first = data_of(await c.call_tool("get_context", {"customer": "c1"}))
            assert ops.context_in_memory(rt, "c1")
            second = data_of(await c.call_tool("get_context", {"customer": "c1"}))
            return first, second

        first, second = session(rt, body)
        assert first["context"] == second["context"] and first["version"] == second["version"]
        strict.contexts.get("c1")
        assert not ops.context_in_memory(strict, "c1")  # a sync before each answer: never on the loop
        rt.flush_audit()
        assert store.fetchone("SELECT count(*) FROM audit_log WHERE action = 'get_context'")[0] == 2
    finally:
        strict.close()
        rt.close()
