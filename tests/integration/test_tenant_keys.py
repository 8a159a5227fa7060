"""API keys scoped to a tenant (``feature_json.tenant_id``), over real loopback HTTP and the CLI:
ingest only of the tenant's events, analytics filtered to them, per-customer memory and admin calls
refused, and older stores upgraded with the new column on open."""

from __future__ import annotations

import json
import subprocess
import sys

import duckdb
import pytest

from activityschema.errors import PermissionDenied, ValidationError
from activityschema.governance.access import authenticate, create_key, list_keys
from activityschema.ingest.importer import ingest_records
from activityschema.interfaces.runtime import Runtime
from activityschema.store.duckdb import DuckDBStore
from tests.conftest import NOW, event
from tests.integration.test_http_api import call, serving


@pytest.fixture(scope="module")
def api(tmp_path_factory):
    store = DuckDBStore(tmp_path_factory.mktemp("tenant") / "tenant.duckdb")
    ingest_records(store, [event("page_viewed", "2026-01-01T00:00:00Z", "c1", 1, feature_json={"tenant_id": "t1"}),
                           event("page_viewed", "2026-01-02T00:00:00Z", "c2", 2, feature_json={"tenant_id": "t2"}),
                           event("order_completed", "2026-01-03T00:00:00Z", "c1", 3, revenue_impact=5.0)], now=NOW)
    rt = Runtime(store, env={}, max_staleness=0.0)
    keys = {"t1": create_key(store, "t1-app", ["ingest", "query"], tenant="t1")[1],
            "t1_admin": create_key(store, "t1-admin", ["admin"], tenant="t1")[1],
            "admin": create_key(store, "root", ["admin"])[1]}
    with serving(rt) as client:
        yield store, client, keys
    rt.close()
    store.close()


def test_key_records_and_lists_its_tenant(api):
    store, _, keys = api
    principal = authenticate(store, keys["t1"])
    assert principal.tenant == "t1" and principal.scope.tenant == "t1" and principal.customers is None
    listed = {k["name"]: k for k in list_keys(store)}
    assert listed["t1-app"]["tenant"] == "t1" and listed["root"]["tenant"] is None


def test_ingest_only_events_tagged_with_the_tenant(api):
    _, client, keys = api
    records = [event("page_viewed", "2026-02-01T00:00:00Z", "c9", 10, feature_json={"tenant_id": "t1"}),
               event("page_viewed", "2026-02-01T00:00:01Z", "c9", 11, feature_json={"tenant_id": "t2"}),
               event("page_viewed", "2026-02-01T00:00:02Z", "c9", 12)]
    body = call(client, keys, "t1", "POST", "/v1/activities", params={"sync": "true"}, json=records).json()["data"]
    assert [r["status"] for r in body["results"]] == ["accepted", "rejected", "rejected"]
    assert body["results"][1]["reasons"][0]["code"] == "out_of_scope"
    assert body["accepted"] + body["duplicate"] + body["rejected"] == body["submitted"] == 3


def test_analytics_see_only_the_tenant(api):
    _, client, keys = api
    rows = call(client, keys, "t1", "POST", "/v1/query/activity_catalog", json={}).json()["data"]["rows"]
    assert {r["activity"] for r in rows} == {"page_viewed"}  # c1's untagged order is not the tenant's
    assert sum(r["events"] for r in rows) == 2  # the seed event and the one ingested above, both t1
    everything = call(client, keys, "admin", "POST", "/v1/query/activity_catalog", json={}).json()["data"]["rows"]
    assert {r["activity"] for r in everything} == {"page_viewed", "order_completed"}


@pytest.mark.parametrize("who, method, path", [
    ("t1", "GET", "/v1/customers/c1/context"),
    ("t1", "GET", "/v1/customers/c1/insights"),
    ("t1_admin", "GET", "/v1/customers/c1/disclosure"),
])
def test_per_customer_memory_and_admin_refused(api, who, method, path):
    _, client, keys = api
    response = call(client, keys, who, method, path)
    assert response.status_code == 403, response.text
    assert response.json()["error"]["code"] == "tenant_scope"


def test_tenant_admin_creates_keys_only_for_its_tenant(api):
    _, client, keys = api
    other = call(client, keys, "t1_admin", "POST", "/v1/keys", json={"name": "x", "scopes": ["query"], "tenant": "t2"})
    assert other.status_code == 403 and other.json()["error"]["code"] == "out_of_scope"
    same = call(client, keys, "t1_admin", "POST", "/v1/keys", json={"name": "y", "scopes": ["query"], "tenant": "t1"})
    assert same.status_code == 201 and same.json()["data"]["tenant"] == "t1"


def test_invalid_tenant_refused(tmp_path):
    with DuckDBStore(tmp_path / "k.duckdb") as store:
        for bad in ("", "  ", "x" * 256, 5):
            with pytest.raises(ValidationError) as err:
                create_key(store, "k", ["query"], tenant=bad)  # type: ignore[arg-type]
            assert err.value.code == "invalid_tenant"


def test_memory_scope_refuses_tenant_keys_in_process(tmp_path):
    from activityschema.analytics.runner import Scope
    from activityschema.memory.scope import ensure_in_scope

    with pytest.raises(PermissionDenied) as err:
        ensure_in_scope(Scope(tenant="t1"), "c1")
    assert err.value.code == "tenant_scope"


def test_store_from_before_tenant_keys_is_upgraded_on_open(tmp_path):
    path = tmp_path / "old.duckdb"
    DuckDBStore(path).close()
    con = duckdb.connect(str(path))
    con.execute("ALTER TABLE api_keys DROP COLUMN tenant")  # as a store created before the column existed
    con.close()
    with DuckDBStore(path) as store:
        _, key = create_key(store, "k", ["query"], tenant="t1")
        assert authenticate(store, key).tenant == "t1"


def test_cli_creates_and_lists_tenant_keys(tmp_path):
    db = str(tmp_path / "cli.duckdb")
    cli = [sys.executable, "-m", "activityschema", "keys"]
    made = subprocess.run([*cli, "create", "--name", "app", "--scope", "query", "--tenant", "t7", "--db", db, "--json"],
                          capture_output=True, text=True, check=True)
    assert json.loads(made.stdout)["tenant"] == "t7"
    listed = subprocess.run([*cli, "list", "--db", db], capture_output=True, text=True, check=True).stdout
    assert "t7" in listed
