"""Dataset requests: clear errors for every malformed part, and injection attempts are refused or harmless."""

from __future__ import annotations

import pytest

from activityschema.analytics.dataset import build_dataset, build_dataset_sql, parse_request
from activityschema.errors import NotFoundError, ValidationError
from activityschema.ingest.importer import ingest_records
from tests.conftest import NOW, event

BASE = {"cohort": {"activity": "user_signed_up"}}


def with_append(**spec):
    return {**BASE, "append": [{"relationship": "first_after", "activity": "order_completed", **spec}]}


@pytest.fixture
def shop(store):
    ingest_records(store, [
        event("user_signed_up", "2026-01-01T00:00:00Z", "c1", 1, feature_json={"plan": "pro"}),
        event("order_completed", "2026-01-02T00:00:00Z", "c1", 2, revenue_impact=5),
        event("order_completed", "2026-01-03T00:00:00Z", "c2", 3),
    ], now=NOW)
    return store


@pytest.mark.parametrize(("request_", "message"), [
    ({"cohort": {"activity": "user_signed_up"}, "extra": 1}, "extra: Extra inputs are not permitted"),
    ({"cohort": {"activity": "user_signed_up", "colums": ["ts"]}}, "cohort.colums: Extra inputs"),
    ({}, "cohort: Field required"),
    ({"cohort": {"activity": "User Signed Up"}}, "not a valid activity name"),
    ({"cohort": {"activity": "user_signed_up", "select": "frist_ever"}}, "Did you mean 'first_ever'"),
    ({"cohort": {"activity": "user_signed_up", "select": "nth_ever"}}, "needs \"n\""),
    ({"cohort": {"activity": "user_signed_up", "n": 2}}, "\"n\" is only allowed"),
    ({"cohort": {"activity": "user_signed_up", "columns": ["tss"]}}, "unknown column 'tss'"),
    ({"cohort": {"activity": "user_signed_up", "columns": []}}, "at least 1 item"),
    ({"cohort": {"activity": "user_signed_up", "filters": [{"column": "ts", "value": "yesterday"}]}}, "ISO 8601"),
    ({"cohort": {"activity": "user_signed_up", "filters": [{"column": "revenue_impact", "value": "5"}]}}, "must be a number"),
    ({"cohort": {"activity": "user_signed_up", "filters": [{"column": "customer", "op": "like", "value": "x"}]}}, "op 'like' is not one of"),
    ({"cohort": {"activity": "user_signed_up", "filters": [{"column": "customer", "op": "in", "value": []}]}}, "needs a list"),
    ({"cohort": {"activity": "user_signed_up", "filters": [{"column": "customer", "op": "is_null", "value": "x"}]}}, "takes no value"),
    ({"cohort": {"activity": "user_signed_up", "filters": [{"column": "feature_json", "value": "x"}]}}, "cannot be filtered"),
    (with_append(relationship="frist_after"), "Did you mean 'first_after'"),
    (with_append(relationship="nth_after"), "needs \"n\": a whole number"),
    (with_append(relationship="nth_after", n=0), "from 1 to"),
    (with_append(n=2), "\"n\" is only allowed"),
    (with_append(aggregate="count"), "belong to aggregate_*"),
    (with_append(relationship="aggregate_after", columns=["ts"]), "not \"columns\""),
    (with_append(relationship="aggregate_after"), "needs \"aggregate\""),
    (with_append(relationship="aggregate_after", aggregate="median"), "aggregate 'median' is not one of"),
    (with_append(relationship="aggregate_after", aggregate="count", column="ts"), "takes no \"column\""),
    (with_append(relationship="aggregate_after", aggregate="sum"), "needs \"column\""),
    (with_append(relationship="aggregate_after", aggregate="sum", column="customer"), "needs a number"),
    (with_append(relationship="aggregate_ever", aggregate="count"), "Did you mean 'aggregate_all_ever'"),
    (with_append(within={"weeks": 1}), "within.weeks: Extra inputs"),
    (with_append(within={"days": 1, "hours": 2}), "exactly one of minutes, hours or days"),
    (with_append(within={"days": -1}), "between 0 and"),
    (with_append(within={"days": "7"}), "within.days"),
    (with_append(relationship="first_ever", at_least={"days": 1}), "at_least needs a direction"),
    (with_append(join=[{"cohort": "feature_json.plan"}]), "join.0.append: Field required"),
    (with_append(name="Bad Name"), "name 'Bad Name' must be"),
    ({**BASE, "append": [{"relationship": "first_after", "activity": "order_completed"}] * 2}, "output columns would repeat"),
])
def test_malformed_requests_say_what_is_allowed(request_, message):
    with pytest.raises(ValidationError) as info:
        parse_request(request_)
    assert message in info.value.message
    assert info.value.code == "invalid_params"


def test_unknown_activity_names_the_known_ones_and_the_closest(shop):
    with pytest.raises(NotFoundError) as info:
        build_dataset(shop, with_append(activity="order_complete"))
    assert info.value.message == ("activity 'order_complete' does not exist; known: order_completed, user_signed_up. "
                                  "Did you mean 'order_completed'?")
    assert info.value.code == "unknown_activity"


def test_defaults_are_canonical_so_equal_requests_hash_the_same(shop):
    short = build_dataset(shop, with_append())
    spelled = build_dataset(shop, {"cohort": {"activity": "user_signed_up", "select": "all_ever", "filters": [],
                                              "columns": ["activity_id", "customer", "ts"]},
                                   "append": [{"relationship": "first_after", "activity": "order_completed",
                                               "columns": ["ts", "activity_id"], "join": []}]})
    assert short.query_hash == spelled.query_hash
    assert short.rows() == spelled.rows()


INJECTIONS = ["x' OR '1'='1", "'; DROP TABLE activities; --", "\" OR 1=1 --", "$p0", "{p0}", "%s", "?"]


@pytest.mark.parametrize("evil", INJECTIONS)
def test_injection_in_values_is_harmless(shop, evil):
    request = {"cohort": {"activity": "user_signed_up", "filters": [
        {"column": "customer", "value": evil}, {"column": "feature_json.plan", "op": "in", "value": [evil, "x"]}]}}
    sql, bind = build_dataset_sql(parse_request(request))
    benign = build_dataset_sql(parse_request(
        {"cohort": {**request["cohort"], "filters": [{"column": "customer", "value": "c9"},
                                                     {"column": "feature_json.plan", "op": "in", "value": ["c9", "x"]}]}}))
    assert sql == benign[0] and evil in bind.values() and [evil, "x"] in bind.values()
    assert build_dataset(shop, request).rows() == []
    assert shop.fetchone("SELECT count(*) FROM activities")[0] == 3


@pytest.mark.parametrize("evil", INJECTIONS + ["a b", "plan\"", "plan)", "plan--", "plan;", "pl an", "1plan", ""])
def test_injection_in_identifiers_is_refused(evil):
    attempts = [
        {"cohort": {"activity": evil}},
        {"cohort": {"activity": "user_signed_up", "columns": [f"feature_json.{evil}"]}},
        {"cohort": {"activity": "user_signed_up", "columns": [evil]}},
        {"cohort": {"activity": "user_signed_up", "select": evil}},
        {"cohort": {"activity": "user_signed_up", "filters": [{"column": f"feature_json.{evil}", "value": 1}]}},
        {"cohort": {"activity": "user_signed_up", "filters": [{"column": "customer", "op": evil, "value": "x"}]}},
        with_append(relationship=evil),
        with_append(activity=evil),
        with_append(columns=[f"feature_json.{evil}"]),
        with_append(name=evil),
        with_append(relationship="aggregate_after", aggregate=evil),
        with_append(relationship="aggregate_after", aggregate="sum", column=f"feature_json.{evil}"),
        with_append(join=[{"cohort": f"feature_json.{evil}", "append": "customer"}]),
    ]
    for attempt in attempts:
        with pytest.raises(ValidationError):
            parse_request(attempt)


def test_feature_keys_reach_sql_only_as_bound_json_paths():
    request = with_append(columns=["feature_json.plan", "feature_json.parameters.file_path"])
    request["cohort"]["filters"] = [{"column": "feature_json.tier", "value": "gold"}]
    sql, bind = build_dataset_sql(parse_request(request))
    assert "$.plan" in bind.values() and "$.parameters.file_path" in bind.values() and "$.tier" in bind.values()
    assert "plan" not in sql.split("\nSELECT c.")[0] and "tier" not in sql
    assert '"first_after_order_completed_parameters_file_path"' in sql


def test_a_scoped_caller_sees_only_its_actors(shop):
    from activityschema.analytics.runner import Scope

    request = {"cohort": {"activity": "order_completed", "columns": ["customer"]},
               "append": [{"relationship": "aggregate_all_ever", "activity": "order_completed", "aggregate": "count"}]}
    assert [r["customer"] for r in build_dataset(shop, request).rows()] == ["c1", "c2"]
    scoped = build_dataset(shop, request, scope=Scope(frozenset({"c2"})))
    assert scoped.rows() == [{"customer": "c2", "aggregate_all_ever_order_completed_count": 1}]
