"""The SafeSQL layer: registration refuses interpolation; runs record provenance; scope filters rows."""

from __future__ import annotations

import pytest

from activityschema.analytics.runner import Scope, rerun, run_template
from activityschema.errors import ConfigError, NotFoundError, ValidationError
from activityschema.ingest.importer import ingest_records
from activityschema.provenance import chain
from activityschema.sql.templates import Params, Template, register_template
from tests.conftest import NOW, event


class ByCustomer(Params):
    customer: str
    limit: int = 10


register_template(Template(
    name="test_by_customer", params=ByCustomer, description="events of one customer",
    sql="SELECT activity, ts FROM activities WHERE customer = $customer ORDER BY ts LIMIT $limit"))


class Nothing(Params):
    pass


def test_interpolating_templates_are_refused():
    for bad in ["SELECT * FROM activities WHERE customer = '{customer}'",
                "SELECT * FROM activities WHERE customer = %(customer)s",
                "SELECT * FROM activities WHERE customer = ?"]:
        with pytest.raises(ConfigError, match="interpolates"):
            register_template(Template(name="bad", params=Nothing, description="", sql=bad))
    with pytest.raises(ConfigError, match="unbound"):
        register_template(Template(name="bad", params=Nothing, description="", sql="SELECT $x"))
    with pytest.raises(ConfigError, match="never uses"):
        register_template(Template(name="bad", params=ByCustomer, description="", sql="SELECT $customer"))


def test_run_records_provenance_and_rerun_reproduces(store):
    ingest_records(store, [event("user_signup", "2026-01-01T00:00:00Z", "c1", 1), event("user_signup", "2026-01-02T00:00:00Z", "c2", 2)], now=NOW)
    result = run_template(store, "test_by_customer", {"customer": "c1"})
    assert [r["activity"] for r in result.rows()] == ["user_signup"]
    entry = chain.lookup(store, result.query_hash)
    assert entry.template_name == "test_by_customer" and entry.parameters == {"customer": "c1", "limit": 10}
    again = rerun(store, result.query_hash)
    assert again.query_hash == result.query_hash and again.rows() == result.rows()
    assert store.fetchone("SELECT count(*) FROM provenance_runs WHERE query_hash = ?", [result.query_hash])[0] == 2


def test_bad_params_are_clear_errors(store):
    with pytest.raises(ValidationError, match="limit"):
        run_template(store, "test_by_customer", {"customer": "c1", "limit": "many"})
    with pytest.raises(ValidationError, match="Allowed parameters: customer, limit"):
        run_template(store, "test_by_customer", {"customer": "c1", "evil": 1})
    with pytest.raises(NotFoundError, match="Did you mean 'test_by_customer'"):
        run_template(store, "test_by_custmer", {})


def test_injection_in_parameters_is_harmless(store):
    ingest_records(store, [event("user_signup", "2026-01-01T00:00:00Z", "c1", 1)], now=NOW)
    result = run_template(store, "test_by_customer", {"customer": "c1' OR '1'='1"})
    assert result.rows() == []
    assert store.fetchone("SELECT count(*) FROM activities")[0] == 1


def test_scope_hides_other_customers(store):
    ingest_records(store, [event("user_signup", "2026-01-01T00:00:00Z", "c1", 1), event("user_signup", "2026-01-02T00:00:00Z", "c2", 2)], now=NOW)
    assert run_template(store, "test_by_customer", {"customer": "c2"}, scope=Scope(frozenset({"c1"}))).rows() == []
    assert len(run_template(store, "test_by_customer", {"customer": "c1"}, scope=Scope(frozenset({"c1"}))).rows()) == 1


def test_collision_is_reported_not_merged(store):
    chain.record(store, template_name="t", query_text="SELECT 1", params={"a": 1}, created_by="x", now=NOW)
    digest, _ = chain.record(store, template_name="t", query_text="SELECT 1", params={"a": 1}, created_by="x", now=NOW)
    # forge a different entry under the same hash to simulate a collision
    store.execute("UPDATE provenance_chain SET parameters = '{\"a\": 2}' WHERE query_hash = ?", [digest])
    _, collided = chain.record(store, template_name="t", query_text="SELECT 1", params={"a": 1}, created_by="x", now=NOW)
    assert collided
    assert store.fetchone("SELECT count(*) FROM provenance_collisions")[0] == 1


def test_nested_params_are_flattened_so_nothing_drops_out_of_the_hash():
    from activityschema.provenance.hashing import query_hash
    a = chain.flatten_params({"steps": [{"activity": "a_b"}]})
    b = chain.flatten_params({"steps": [{"activity": "c_d"}]})
    assert query_hash("SELECT 1", a) != query_hash("SELECT 1", b)
