"""Every insight runs as a named template: provenance is recorded, re-runs reproduce, the row scope
applies, and user values never reach the SQL text."""

from __future__ import annotations

from datetime import datetime

import pytest

from activityschema.analytics.funnels import run_funnel, run_funnel_simple
from activityschema.analytics.paths import run_journey, run_journey_transitions, run_paths
from activityschema.analytics.recent import run_recent
from activityschema.analytics.retention import run_cohort_simple, run_retention
from activityschema.analytics.runner import Scope, rerun
from activityschema.ingest.importer import ingest_records
from activityschema.provenance import chain
from activityschema.store.duckdb import DuckDBStore
from tests.conftest import NOW
from tests.golden.cases import records

EVENTS = {"c1": [["signup_started", "00:00", {"plan": "pro"}], ["email_verified", "00:05"], ["visited_page", "+7d 00:00"]],
          "c2": [["signup_started", "00:00"], ["visited_page", "00:01"]],
          "anon:a9": [["signup_started", "01:00"], ["email_verified", "01:02"]]}
LATER = datetime(2026, 6, 1)


@pytest.fixture(scope="module")
def shared():
    store = DuckDBStore(":memory:")
    ingest_records(store, records(EVENTS), now=NOW)
    yield store
    store.close()


RUNS = {
    "funnel": lambda s, **kw: run_funnel(s, {"steps": ["signup_started", "email_verified"]}, **kw),
    "retention": lambda s, **kw: run_retention(s, {"start": "signup_started", "return": "visited_page", "intervals": 2},
                                               now=LATER, **kw),
    "paths": lambda s, **kw: run_paths(s, {"collapse_repeats": True}, **kw),
    "actor_journey": lambda s, **kw: run_journey(s, {"actor": "c1"}, **kw),
    "recent_activity": lambda s, **kw: run_recent(s, {"window": {"days": 30}}, now=LATER, **kw),
}


@pytest.mark.parametrize("name", list(RUNS))
def test_runs_record_provenance_and_rerun_reproduces(shared, name):
    result = RUNS[name](shared)
    entry = chain.lookup(shared, result.query_hash)
    assert entry.template_name == name == result.template
    again = rerun(shared, result.query_hash)
    assert again.query_hash == result.query_hash
    assert again.sql == result.sql


@pytest.mark.parametrize("name", list(RUNS))
def test_scope_hides_other_actors(shared, name):
    scoped = RUNS[name](shared, scope=Scope(frozenset({"c2"})))
    text = scoped.model_dump_json(exclude={"query_hash", "sql", "params", "request", "actor"})
    assert '"c1"' not in text and '"a9"' not in text


def test_scoped_counts(shared):
    assert [s.count for s in run_funnel(shared, {"steps": ["signup_started", "email_verified"]},
                                        scope=Scope(frozenset({"c1", "c2"}))).steps] == [2, 1]
    assert [s.count for s in run_funnel(shared, {"steps": ["signup_started", "email_verified"]}).steps] == [3, 2]


def test_spec_templates(shared):
    simple = run_funnel_simple(shared, ["signup_started", "email_verified", "visited_page"])
    assert [(r["activity"], r["actors"], r["total_actors"]) for r in simple.rows()] == [
        ("signup_started", 3, 3), ("email_verified", 2, 3), ("visited_page", 2, 3)]
    cohorts = run_cohort_simple(shared, "signup_started", "week").rows()
    assert [(r["cohort_size"], r["active_users"]) for r in cohorts] == [(3, 1)]
    transitions = {(r["activity"], r["next_activity"]): r["frequency"] for r in run_journey_transitions(shared).rows()}
    assert transitions[("signup_started", "email_verified")] == 2 and transitions[("visited_page", None)] == 2


def test_values_are_bound_never_spliced(shared):
    sneaky = "x' OR '1'='1"
    result = run_funnel(shared, {"steps": [{"activity": "signup_started",
                                            "filters": [{"column": "feature_json.plan", "value": sneaky}]},
                                           "email_verified"], "breakdown": "feature_json.plan"})
    assert result.steps[0].count == 0
    assert sneaky not in result.sql and "plan" not in result.sql
    assert "c1" not in run_journey(shared, {"actor": "c1"}).sql
