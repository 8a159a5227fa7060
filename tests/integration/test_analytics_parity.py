"""The analytics on both backends: DuckDB and Snowflake (fakesnow) answer identically.

One small stream is loaded into a DuckDB file and into one fakesnow account (module scope, so the
emulator starts once); each analysis runs on both and the results — rows, query hash, provenance —
must be equal. Funnels and paths run their Snowflake forms there (window functions instead of
DuckDB lists); their query hash is still the one of the DuckDB form.
"""

from __future__ import annotations

import json
from datetime import datetime

import pytest

from activityschema.analytics.funnels import run_funnel, run_funnel_actors, run_funnel_simple
from activityschema.analytics.paths import run_journey, run_journey_transitions, run_paths, run_paths_actors
from activityschema.analytics.recent.runner import run_recent
from activityschema.analytics.retention import run_retention
from activityschema.analytics.retention.runner import run_cohort_simple
from activityschema.analytics.runner import Scope, rerun, run_template
from activityschema.ingest.importer import ingest_records
from activityschema.provenance import chain
from activityschema.store.snowflake import SnowflakeStore
from tests.backends import fake_snowflake, open_test_store, snowflake_config
from tests.conftest import timeline
from tests.integration.test_snowflake_store import RecordingConnection

NOW = datetime(2026, 4, 1)
STREAM = {
    "c1": [("signup_started", "2026-03-02T10:00:00Z"), ("email_verified", "2026-03-02T10:05:00Z"),
           ("profile_completed", "2026-03-03T09:00:00Z"), ("visited_page", "2026-03-10T12:00:00Z"),
           ("visited_page", "2026-03-10T12:00:00Z")],
    "c2": [("signup_started", "2026-03-03T11:00:00Z"), ("email_verified", "2026-03-20T10:00:00Z"),
           ("visited_page", "2026-03-04T08:00:00Z")],
    "c3": [("signup_started", "2026-03-09T09:00:00Z"), ("visited_page", "2026-03-16T09:00:00Z"),
           ("signup_started", "2026-03-23T09:00:00Z")],
}
SCOPE = Scope(actors=frozenset({"c1", "c3"}))


def _rows(result):
    return result.model_dump(mode="json") if hasattr(result, "model_dump") else (result.query_hash, result.rows())


CASES = {
    "recent": lambda s, **kw: run_recent(s, {"window": "5000d", "limit": 50}, now=NOW, **kw),
    "recent_filtered": lambda s, **kw: run_recent(s, {"window": "5000d", "activities": ["visited_page", "signup_started"],
                                                      "actor": "c1"}, now=NOW, **kw),
    "retention_week": lambda s, **kw: run_retention(s, {"start": {"activity": "signup_started"}, "period": "week",
                                                        "intervals": 4}, now=NOW, **kw),
    "retention_recurring_day": lambda s, **kw: run_retention(
        s, {"start": {"activity": "signup_started"}, "return": {"activity": "visited_page"}, "period": "day",
            "intervals": 10, "cohort": "recurring", "mode": "on_or_after"}, now=NOW, **kw),
    "journey": lambda s, **kw: run_journey(s, {"actor": "c1"}, now=NOW, **kw),
    "journey_gap": lambda s, **kw: run_journey(s, {"actor": "c2", "session_gap": {"days": 2}, "latest": True}, now=NOW, **kw),
    "journey_transitions": lambda s, **kw: run_journey_transitions(s, **kw),
    "funnel_simple": lambda s, **kw: run_funnel_simple(s, ["signup_started", "email_verified", "profile_completed",
                                                           "visited_page"], **kw),
    "cohort_simple": lambda s, **kw: run_cohort_simple(s, "signup_started", "week", now=NOW, **kw),
    "customer_events": lambda s, **kw: run_template(s, "customer_events", {"customer": "c1", "limit": 3}, **kw),
    "customer_events_one": lambda s, **kw: run_template(s, "customer_events", {"customer": "c1",
                                                                                "activity": "visited_page"}, **kw),
    "customer_activity_counts": lambda s, **kw: run_template(s, "customer_activity_counts", {"customer": "c2"}, **kw),
    "activity_catalog": lambda s, **kw: run_template(s, "activity_catalog", {}, **kw),
    "top_customers_by_revenue": lambda s, **kw: run_template(s, "top_customers_by_revenue", {}, **kw),
}
FUNNEL = {"steps": [{"activity": "signup_started"}, {"activity": "email_verified"}, {"activity": "profile_completed"}],
          "window": {"days": 2}}
CASES.update({
    # funnels and paths run their Snowflake forms there (funnels/portable_sql.py, paths/portable_sql.py)
    "funnel": lambda s, **kw: run_funnel(s, FUNNEL, now=NOW, **kw),
    "funnel_strict_breakdown": lambda s, **kw: run_funnel(
        s, {**FUNNEL, "order": "strict", "window": {"days": 30}, "breakdown": "customer"}, now=NOW, **kw),
    "funnel_unordered": lambda s, **kw: run_funnel(
        s, {"steps": ["visited_page", "signup_started"], "order": "unordered", "window": {"days": 10}}, now=NOW, **kw),
    "funnel_exclusion": lambda s, **kw: run_funnel(
        s, {"steps": ["signup_started", "visited_page"], "window": {"days": 30},
            "exclusions": [{"activity": "email_verified"}]}, now=NOW, **kw),
    "funnel_actors": lambda s, **kw: run_funnel_actors(
        s, {**FUNNEL, "drilldown": {"step": 2, "status": "dropped"}}, now=NOW, **kw),
    "paths": lambda s, **kw: run_paths(s, {"step_limit": 3}, now=NOW, **kw),
    "paths_anchored": lambda s, **kw: run_paths(
        s, {"start_activity": "signup_started", "end_activity": "visited_page", "collapse_repeats": True,
            "session_gap": {"days": 3}}, now=NOW, **kw),
    "paths_end": lambda s, **kw: run_paths(s, {"end_activity": "visited_page", "step_limit": 3}, now=NOW, **kw),
    "paths_actors": lambda s, **kw: run_paths_actors(
        s, {"step_limit": 3, "drilldown": {"path": ["signup_started"], "prefix": True}}, now=NOW, **kw),
})


@pytest.fixture(scope="module")
def stores(tmp_path_factory):
    path = tmp_path_factory.mktemp("parity")
    with open_test_store("duckdb", path) as duck, open_test_store("snowflake", path) as snow:
        for store in (duck, snow):
            ingest_records(store, timeline(STREAM), now=NOW)
        yield duck, snow


@pytest.mark.parametrize("name", sorted(CASES))
def test_analysis_is_identical_on_both_backends(stores, name):
    duck, snow = stores
    expected = _rows(CASES[name](duck))
    assert expected and _rows(CASES[name](snow)) == expected


@pytest.mark.parametrize("name", ["recent", "retention_week", "journey_transitions", "customer_activity_counts",
                                  "funnel_simple", "funnel", "paths"])
def test_row_scope_applies_on_both_backends(stores, name):
    duck, snow = stores
    expected = _rows(CASES[name](duck, scope=SCOPE))
    assert _rows(CASES[name](snow, scope=SCOPE)) == expected
    assert expected != _rows(CASES[name](duck))  # the scope removed something


def test_provenance_is_recorded_on_snowflake_and_reruns(stores):
    duck, snow = stores
    params = {"customer": "c3", "limit": 7}  # used by no other test: the first recorder is "tester"
    result = run_template(snow, "customer_events", params, created_by="tester", now=NOW)
    entry = chain.lookup(snow, result.query_hash)
    assert (entry.template_name, entry.created_by) == ("customer_events", "tester")
    assert entry == chain.lookup(duck, run_template(duck, "customer_events", params, created_by="tester", now=NOW).query_hash)
    runs = snow.fetchone("SELECT count(*) FROM provenance_runs WHERE query_hash = $h", {"h": result.query_hash})[0]
    assert runs >= 1
    again = rerun(snow, result.query_hash)
    assert (again.query_hash, again.rows()) == (result.query_hash, result.rows())


def test_an_analysis_tags_its_query_with_template_and_hash():
    log: list = []
    with fake_snowflake() as fs:
        store = SnowflakeStore(snowflake_config(), connect=lambda **kw: RecordingConnection(fs.connect(**kw), log))
        try:
            ingest_records(store, timeline(STREAM), now=NOW)
            log.clear()
            result = run_recent(store, {"window": "5000d", "limit": 5}, now=NOW)
        finally:
            store.close()
    tags = [json.loads(params["QUERY_TAG"]) for sql, params in log if sql.lstrip().upper().startswith("SELECT ACTIVITY_ID")]
    assert tags == [{"app": "activityschema", "template": "recent_activity", "query_hash": result.query_hash}]
