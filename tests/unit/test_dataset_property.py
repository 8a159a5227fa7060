"""The dataset builder agrees with the brute-force reference on random streams and requests."""

from __future__ import annotations

from datetime import datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from activityschema.analytics.dataset import build_dataset
from activityschema.store.duckdb import DuckDBStore
from tests.conftest import uid
from tests.dataset_helpers import assert_same_rows, load
from tests.dataset_reference import build

BASE = datetime(2026, 1, 1)
ACTIVITIES = ("page_viewed", "order_completed", "user_signed_up")
PLANS = ("a", "b", 1, 2, True, None)
COLUMNS = ("ts", "activity_id", "customer", "revenue_impact", "feature_json.plan", "link")

identities = st.sampled_from([("c1", None), ("c1", None), ("c2", None), (None, "a1"), (None, "a2"),
                              ("c1", "a1"), (None, None)])


@st.composite
def events(draw):
    n = draw(st.integers(8, 30))
    out = []
    for i in range(1, n + 1):
        customer, anon = draw(identities)
        micros = draw(st.sampled_from([0, 0, 0, 1, 500_000]))
        ev = {"activity_id": uid(i), "activity": draw(st.sampled_from(ACTIVITIES)),
              "ts": (BASE + timedelta(minutes=draw(st.integers(0, 6)), microseconds=micros)).isoformat() + "Z"}
        if customer:
            ev["customer"] = customer
        if anon:
            ev["anonymous_customer_id"] = anon
        plan = draw(st.sampled_from(PLANS + ("missing",)))
        if plan != "missing":
            ev["feature_json"] = {"plan": plan}
        ev["revenue_impact"] = draw(st.sampled_from([None, 1.5, 2, -1, 0]))
        out.append(ev)
    # one event of every activity for an actor of its own, so every request can run
    out += [{"activity_id": uid(100 + i), "activity": a, "ts": "2026-01-01T00:30:00Z", "customer": "c9"}
            for i, a in enumerate(ACTIVITIES)]
    return out


limits = st.one_of(st.none(), st.builds(lambda u, a: {u: a}, st.sampled_from(["minutes", "hours"]),
                                        st.sampled_from([0, 1, 2, 5, 0.5])))


@st.composite
def appends(draw):
    kind = draw(st.sampled_from(["pick", "pick", "aggregate"]))
    spec = {"activity": draw(st.sampled_from(ACTIVITIES))}
    if kind == "pick":
        pick = draw(st.sampled_from(["first", "last", "nth"]))
        window = draw(st.sampled_from(["ever", "before", "after", "in_between"]))
        spec["relationship"] = f"{pick}_{window}"
        if pick == "nth":
            spec["n"] = draw(st.integers(1, 3))
        spec["columns"] = draw(st.lists(st.sampled_from(COLUMNS), min_size=1, max_size=3, unique=True))
    else:
        window = draw(st.sampled_from(["before", "after", "in_between", "all_ever"]))
        spec["relationship"] = f"aggregate_{window}"
        spec["aggregate"] = draw(st.sampled_from(["count", "count_distinct", "sum", "avg", "min", "max"]))
        if spec["aggregate"] != "count":
            choices = ["revenue_impact", "feature_json.plan"] + (["customer", "ts"] if spec["aggregate"] in ("count_distinct", "min", "max") else [])
            spec["column"] = draw(st.sampled_from(choices))
    within = draw(limits)
    if within:
        spec["within"] = within
    if window not in ("ever", "all_ever"):
        at_least = draw(limits)
        if at_least:
            spec["at_least"] = at_least
    if draw(st.integers(0, 4)) == 0:
        spec["join"] = [draw(st.sampled_from([{"cohort": "feature_json.plan", "append": "feature_json.plan"},
                                              {"cohort": "revenue_impact", "append": "revenue_impact"},
                                              {"cohort": "customer", "append": "feature_json.plan"},
                                              {"cohort": "revenue_impact", "append": "feature_json.plan"}]))]
    return spec


filters = st.sampled_from([
    {"column": "feature_json.plan", "op": "=", "value": "a"},
    {"column": "feature_json.plan", "op": "in", "value": ["a", "b"]},
    {"column": "feature_json.plan", "op": ">=", "value": 2},
    {"column": "feature_json.plan", "op": "=", "value": True},
    {"column": "feature_json.plan", "op": "is_null"},
    {"column": "revenue_impact", "op": ">", "value": 0},
    {"column": "revenue_impact", "op": "is_not_null"},
    {"column": "ts", "op": "<", "value": "2026-01-01T00:06:00Z"},
    {"column": "customer", "op": "!=", "value": "c2"},
])


@st.composite
def requests(draw):
    select = draw(st.sampled_from(["all_ever", "first_ever", "last_ever", "nth_ever"]))
    cohort = {"activity": draw(st.sampled_from(ACTIVITIES)), "select": select,
              "columns": ["activity_id", "ts", "customer", "feature_json.plan"]}
    if select == "nth_ever":
        cohort["n"] = draw(st.integers(1, 3))
    cohort["filters"] = draw(st.lists(filters, max_size=2))
    specs = draw(st.lists(appends(), min_size=1, max_size=4))
    for i, spec in enumerate(specs):
        spec["name"] = f"a{i}"
    return {"cohort": cohort, "append": specs}


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(stream=events(), reqs=st.lists(requests(), min_size=2, max_size=4))
def test_builder_agrees_with_brute_force_reference(stream, reqs):
    store = DuckDBStore()
    try:
        stored = load(store, stream)
        for req in reqs:
            assert_same_rows(build_dataset(store, req).rows(), build(stored, req), req)
    finally:
        store.close()
