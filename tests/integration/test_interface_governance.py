"""Governance through the servers: scoped keys over real loopback HTTP and a real MCP client session,
role checks, admin erasure/export/disclosure, injection fuzzing of every template, and the audit
trail those calls leave (verified as a chain afterwards)."""

from __future__ import annotations

import json

import anyio
import pytest
from hypothesis import HealthCheck, given, settings
from mcp import Client

from activityschema.governance import audit
from activityschema.governance.access import Principal, create_key
from activityschema.ingest.importer import ingest_records
from activityschema.interfaces.mcp import build_mcp_server
from activityschema.interfaces.operations_analytics import ANALYSES
from activityschema.interfaces.runtime import Runtime
from activityschema.sql.templates import list_templates
from activityschema.store.duckdb import DuckDBStore
from tests.conftest import NOW
from tests.integration.test_http_api import call, serving
from tests.integration.test_scope_fuzz import IN_CUST, OUT_CUST, OUT_TOKENS, model_strategy, stream

BUILT_IN = ("customer_events", "customer_activity_counts", "activity_catalog", "top_customers_by_revenue")
FUZZ_EXAMPLES = 6


@pytest.fixture(scope="module")
def api(tmp_path_factory):
    store = DuckDBStore(tmp_path_factory.mktemp("gov_api") / "gov.duckdb")
    ingest_records(store, stream(), now=NOW)
    rt = Runtime(store, env={}, max_staleness=0.0)
    keys = {name: create_key(store, name, scopes, customers=customers)[1] for name, scopes, customers in [
        ("admin", ["admin"], None), ("query", ["query"], None), ("ingest", ["ingest"], None),
        ("scoped", ["query", "ingest"], [IN_CUST]), ("scoped_admin", ["admin"], [IN_CUST])]}
    with serving(rt) as client:
        yield rt, client, keys
    rt.close()
    store.close()


def refused(response, status, code):
    assert response.status_code == status, response.text
    assert response.json()["error"]["code"] == code, response.text


ECHOED = ("params", "request", "message", "details")  # the caller's own input, echoed back
# Result columns that repeat a parameter by design (funnel_simple lists the steps it was given).
ECHO_COLUMNS = {"funnel_simple": frozenset({"activity"})}


def _without_echo(value):
    if isinstance(value, dict):
        return {k: _without_echo(v) for k, v in value.items() if k not in ECHOED}
    if isinstance(value, list):
        return [_without_echo(v) for v in value]
    return value


def no_out_tokens(text: str, echo_columns: frozenset[str] = frozenset()) -> None:
    """No other customer's data in an answer (apart from the caller's own parameters echoed back)."""
    try:
        answer = _without_echo(json.loads(text))
        for row in (answer.get("data") or {}).get("rows") or [] if isinstance(answer, dict) else []:
            for column in echo_columns & set(row):
                row.pop(column)
        text = json.dumps(answer)
    except ValueError:
        pass
    for token in OUT_TOKENS:
        assert token not in text, token


def test_builtin_templates_are_present():
    names = {t.name for t in list_templates()}
    assert set(BUILT_IN) <= names


def test_scoped_key_reads_only_its_customers_over_http(api):
    rt, client, keys = api
    for name in BUILT_IN:
        params = {"customer": OUT_CUST} if name.startswith("customer_") else {}
        r = call(client, keys, "scoped", "POST", f"/v1/query/{name}", json={"params": params})
        assert r.status_code in (200, 403), r.text
        no_out_tokens(r.text)
    # the same aggregates unscoped do see the other customer (the oracle is not vacuous)
    r = call(client, keys, "admin", "POST", "/v1/query/top_customers_by_revenue", json={})
    assert OUT_CUST in r.text
    mine = call(client, keys, "scoped", "POST", "/v1/query/customer_events", json={"params": {"customer": IN_CUST}})
    assert mine.status_code == 200 and mine.json()["data"]["row_count"] > 0
    for path in (f"/v1/customers/{OUT_CUST}/context", f"/v1/customers/{OUT_CUST}/insights"):
        refused(call(client, keys, "scoped", "GET", path), 403, "out_of_scope")
    assert call(client, keys, "scoped", "GET", f"/v1/customers/{IN_CUST}/context").status_code == 200
    # provenance: a hash the admin ran about the other customer is invisible to the scoped key
    other = call(client, keys, "admin", "POST", "/v1/query/customer_events",
                 json={"params": {"customer": OUT_CUST, "limit": 7}})
    digest = other.json()["data"]["query_hash"]
    refused(call(client, keys, "scoped", "GET", f"/v1/provenance/{digest}"), 404, "unknown_query_hash")
    # a hash both ran: the scoped key sees only its own runs (not the admin's row count)
    call(client, keys, "admin", "POST", "/v1/query/customer_events", json={"params": {"customer": OUT_CUST}})
    shared = call(client, keys, "scoped", "POST", "/v1/query/customer_events", json={"params": {"customer": OUT_CUST}})
    seen = call(client, keys, "scoped", "GET", f"/v1/provenance/{shared.json()['data']['query_hash']}").json()["data"]
    assert seen["recent_runs"] and all(r["run_by"].startswith("scoped") and r["row_count"] == 0
                                       for r in seen["recent_runs"])
    catalog = call(client, keys, "scoped", "GET", "/v1/catalog/activities")
    assert catalog.status_code == 200
    no_out_tokens(catalog.text)
    for kind in ANALYSES:
        for request in ({}, {"customer": OUT_CUST}, {"activity": "page_viewed"}):
            r = call(client, keys, "scoped", "POST", f"/v1/analytics/{kind}", json=request)
            assert r.status_code < 500 or r.json()["error"]["code"] == "feature_unavailable", r.text
            no_out_tokens(r.text)
    ins = call(client, keys, "scoped", "POST", f"/v1/customers/{OUT_CUST}/insights",
               json={"subject": "s", "metric": "m", "value": 1, "provenance_query_hash": digest})
    refused(ins, 403, "out_of_scope")


def test_roles_are_enforced(api):
    _, client, keys = api
    refused(call(client, keys, "ingest", "POST", "/v1/query/activity_catalog", json={}), 403, "missing_scope")
    refused(call(client, keys, "ingest", "GET", f"/v1/customers/{IN_CUST}/context"), 403, "missing_scope")
    for who in ("query", "ingest", "scoped"):
        refused(call(client, keys, who, "DELETE", f"/v1/customers/{IN_CUST}"), 403, "missing_scope")
        refused(call(client, keys, who, "GET", f"/v1/customers/{IN_CUST}/export"), 403, "missing_scope")
        refused(call(client, keys, who, "GET", f"/v1/customers/{IN_CUST}/disclosure"), 403, "missing_scope")
        refused(call(client, keys, who, "POST", f"/v1/customers/{IN_CUST}/unsuppress", json={"reason": "x"}),
                403, "missing_scope")
    # an admin key with a row scope acts only on its own customers
    refused(call(client, keys, "scoped_admin", "DELETE", f"/v1/customers/{OUT_CUST}"), 403, "out_of_scope")
    refused(call(client, keys, "scoped_admin", "GET", f"/v1/customers/{OUT_CUST}/export"), 403, "out_of_scope")
    refused(call(client, keys, "scoped_admin", "POST", "/v1/keys", json={"name": "x", "scopes": ["query"]}),
            403, "out_of_scope")


@pytest.mark.parametrize("name", [t.name for t in list_templates()])
def test_injection_in_every_template_parameter_over_http(api, name):
    rt, client, keys = api
    template = next(t for t in list_templates() if t.name == name)
    before = rt.store.fetchone("SELECT count(*) FROM activities")

    @settings(max_examples=FUZZ_EXAMPLES, deadline=None, derandomize=True,
              suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
    @given(params=model_strategy(template.params))
    def check(params):
        for who in ("scoped", "admin"):
            r = call(client, keys, who, "POST", f"/v1/query/{name}", json={"params": params})
            assert r.status_code in (200, 400, 403, 404, 422), r.text
            assert "Traceback" not in r.text
            if r.status_code >= 400:
                assert r.json()["error"]["code"] not in ("internal_error", "store_error"), r.text
            if who == "scoped":
                no_out_tokens(r.text, ECHO_COLUMNS.get(name, frozenset()))

    check()
    assert rt.store.fetchone("SELECT count(*) FROM activities") == before


def test_admin_export_disclosure_and_forget_over_http(api):
    rt, client, keys = api
    exported = call(client, keys, "admin", "GET", f"/v1/customers/{IN_CUST}/export")
    assert exported.status_code == 200 and exported.headers["content-type"].startswith("application/json")
    doc = exported.json()
    assert doc["customer"] == IN_CUST and doc["activities"]
    no_out_tokens(exported.text)
    lines = call(client, keys, "scoped_admin", "GET", f"/v1/customers/{IN_CUST}/export?format=ndjson").text
    assert all(json.loads(line)["record_type"] for line in lines.splitlines())
    refused(call(client, keys, "admin", "GET", f"/v1/customers/{IN_CUST}/export?format=xml"), 400, "invalid_format")
    disclosure = call(client, keys, "admin", "GET", f"/v1/customers/{IN_CUST}/disclosure")
    assert disclosure.status_code == 200 and disclosure.json()["data"]["activities"]

    # the context is cached in the server before the erasure...
    assert call(client, keys, "admin", "GET", f"/v1/customers/{OUT_CUST}/context").status_code == 200
    assert OUT_CUST in rt.contexts._entries
    gone = call(client, keys, "admin", "DELETE", f"/v1/customers/{OUT_CUST}?reason=ticket-42")
    assert gone.status_code == 200, gone.text
    assert gone.json()["data"]["complete"] is True
    # ...and is dropped with it: nothing about the customer is served any more
    assert OUT_CUST not in rt.contexts._entries
    refused(call(client, keys, "admin", "GET", f"/v1/customers/{OUT_CUST}/context"), 404, "unknown_customer")
    replay = call(client, keys, "admin", "POST", "/v1/activities", json=[e for e in stream() if e.get("customer") == OUT_CUST][:1])
    assert replay.json()["data"]["rejected"] == 1 and "suppressed" in replay.json()["data"]["reasons"]
    lifted = call(client, keys, "admin", "POST", f"/v1/customers/{OUT_CUST}/unsuppress", json={"reason": "restored"})
    assert lifted.status_code == 200 and lifted.json()["data"]["lifted"] >= 1


def test_every_http_call_is_audited_and_the_chain_verifies(api):
    rt, client, keys = api
    call(client, keys, "query", "POST", "/v1/query/activity_catalog", json={})
    refused(call(client, keys, "ingest", "POST", "/v1/query/activity_catalog", json={}), 403, "missing_scope")
    rt.flush_audit()
    rows = rt.store.fetch_dicts("SELECT actor, action, template, query_hash, row_count, details FROM audit_log ORDER BY seq")
    http = [r for r in rows if r["details"] and json.loads(r["details"]).get("via") == "http"]
    actions = {r["action"] for r in http}
    assert {"query", "get_context", "get_insights", "explain_provenance", "analysis", "list_activities",
            "log_events"} <= actions
    assert {"forget", "export_customer", "disclosure_report", "unsuppress"} <= {r["action"] for r in rows}
    last_query = [r for r in http if r["action"] == "query" and r["actor"].startswith("key:query")][-1]
    assert last_query["template"] == "activity_catalog" and last_query["query_hash"] and last_query["row_count"] >= 1
    assert last_query["actor"].startswith("key:query [")
    denied = [r for r in http if r["actor"].startswith("key:ingest") and r["action"] == "query"][-1]
    assert json.loads(denied["details"])["refused"] == "missing_scope"
    assert not any(OUT_CUST in json.dumps(r, default=str) for r in rows)  # subjects are keyed hashes
    assert audit.verify(rt.store).ok


# -- MCP: a real client session (in-memory transport) -----------------------------------------------------------
@pytest.fixture
def mcp_rt(tmp_path):
    store = DuckDBStore(tmp_path / "mcp.duckdb")
    ingest_records(store, stream(), now=NOW)
    runtime = Runtime(store, env={}, max_staleness=0.0, background=False)
    yield runtime
    runtime.close()
    store.close()


def session(rt, principal, body):
    async def main():
        async with Client(build_mcp_server(rt, principal)) as client:
            return await body(client)

    return anyio.run(main)


SCOPED = Principal("kscoped", "scoped", frozenset({"query", "ingest"}), frozenset({IN_CUST}))
QUERY = Principal("kquery", "query", frozenset({"query"}))
ADMIN = Principal("kadmin", "admin", frozenset({"admin"}))


def text_of(result) -> str:
    return result.content[0].text


def test_scoped_key_over_mcp(mcp_rt):
    async def body(c):
        out = []
        for name in BUILT_IN:
            params = {"customer": OUT_CUST} if name.startswith("customer_") else {}
            ticket = await c.call_tool("submit_query", {"template": name, "params": params})
            if ticket.is_error:
                out.append(text_of(ticket))
                continue
            result = await c.call_tool("get_query_result", {"ticket": ticket.structured_content["ticket"],
                                                            "wait_seconds": 10})
            assert not result.is_error and result.structured_content["status"] == "done", text_of(result)
            out.append(text_of(result))
        for tool, args in [("get_context", {"customer": OUT_CUST}), ("get_insights", {"customer": OUT_CUST}),
                           ("list_activities", {}), ("forget_customer", {"customer": IN_CUST}),
                           ("export_customer", {"customer": IN_CUST})]:
            out.append(text_of(await c.call_tool(tool, args)))
        for kind in ANALYSES:
            out.append(text_of(await c.call_tool(kind, {"request": {"customer": OUT_CUST}})))
        return out

    texts = session(mcp_rt, SCOPED, body)
    for text in texts:
        no_out_tokens(text)
    assert '"missing_scope"' in texts[len(BUILT_IN) + 3] and '"missing_scope"' in texts[len(BUILT_IN) + 4]


def test_admin_tools_over_mcp_and_their_audit(mcp_rt):
    mcp_rt.contexts.get(OUT_CUST)
    assert OUT_CUST in mcp_rt.contexts._entries

    async def query_body(c):
        return await c.call_tool("forget_customer", {"customer": OUT_CUST})

    denied = session(mcp_rt, QUERY, query_body)
    assert denied.is_error and '"missing_scope"' in text_of(denied)

    async def admin_body(c):
        exported = await c.call_tool("export_customer", {"customer": IN_CUST})
        disclosed = await c.call_tool("customer_disclosure", {"customer": IN_CUST})
        forgotten = await c.call_tool("forget_customer", {"customer": OUT_CUST, "reason": "gdpr"})
        lifted = await c.call_tool("unsuppress_customer", {"customer": OUT_CUST, "reason": "restored"})
        return exported, disclosed, forgotten, lifted

    exported, disclosed, forgotten, lifted = session(mcp_rt, ADMIN, admin_body)
    for result in (exported, disclosed, forgotten, lifted):
        assert not result.is_error, text_of(result)
    assert exported.structured_content["document"]["customer"] == IN_CUST
    assert forgotten.structured_content["complete"] is True
    assert OUT_CUST not in mcp_rt.contexts._entries
    mcp_rt.flush_audit()  # calls journal their entries; the server chains them within a second
    rows = mcp_rt.store.fetch_dicts("SELECT actor, action, details FROM audit_log ORDER BY seq")
    via_mcp = {(r["actor"], r["action"]) for r in rows if r["details"] and '"via":"mcp"' in r["details"]}
    assert ("key:query [kquery]", "forget") in via_mcp  # the refusal
    assert {"forget", "export_customer", "disclosure_report", "unsuppress"} <= {r["action"] for r in rows
                                                                         if r["actor"] == "key:admin [kadmin]"}
    assert audit.verify(mcp_rt.store).ok
