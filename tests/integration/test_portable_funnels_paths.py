"""The Snowflake forms of funnels and paths (``funnels/portable_sql.py``, ``paths/portable_sql.py``).

They are written in the portable dialect, so they also run on DuckDB: here both forms run on the
same DuckDB data — every golden case, drill-downs, and random streams full of ties — and must give
identical results (same rows, same query hash). ``test_analytics_parity.py`` runs them on the
fakesnow emulator; the last tests check the rendered text parses as Snowflake SQL.
"""

from __future__ import annotations

import random
from types import SimpleNamespace
from typing import Any

import pytest
import sqlglot

from activityschema.analytics.funnels import portable_sql as funnel_forms
from activityschema.analytics.funnels import run_funnel, run_funnel_actors
from activityschema.analytics.funnels.query import FunnelActorsRequest, FunnelRequest
from activityschema.analytics.paths import portable_sql as path_forms
from activityschema.analytics.paths import run_paths, run_paths_actors
from activityschema.analytics.paths.query import PathsActorsRequest, PathsRequest
from activityschema.analytics.runner import DUCKDB_ONLY_TEMPLATES, check_backend, dialect_build
from activityschema.errors import UnsupportedFeature
from activityschema.ingest.importer import ingest_records
from activityschema.sql.dialect import get_dialect
from activityschema.sql.templates import get_template
from activityschema.store.duckdb import DuckDBStore
from tests.conftest import NOW
from tests.golden.cases import golden_cases, records
from tests.reference.streams import random_records
from tests.unit.analytics import test_funnel_reference as funnel_ref
from tests.unit.analytics import test_paths_reference as paths_ref


class PortableDuckDB(DuckDBStore):
    """A DuckDB store that asks the runner for the Snowflake forms (they are portable SQL)."""

    dialect = "snowflake"
    config = SimpleNamespace(schema="main")  # where a row scope reads the shadowed tables


def _pair(recs: list[dict[str, Any]]) -> tuple[DuckDBStore, DuckDBStore]:
    stores = DuckDBStore(":memory:"), PortableDuckDB(":memory:")
    for store in stores:
        ingest_records(store, recs, now=NOW)
    return stores


def _answer(run: Any, store: DuckDBStore, *args: Any) -> Any:
    try:
        return run(store, *args).model_dump(mode="json")
    except Exception as exc:  # the same refusal on both is the same answer
        return (type(exc).__name__, getattr(exc, "code", None))


def _same(stores: tuple[DuckDBStore, DuckDBStore], run: Any, *args: Any) -> Any:
    duck, portable = (_answer(run, s, *args) for s in stores)
    assert portable == duck, args
    return duck


def test_the_snowflake_forms_are_registered():
    assert dialect_build("funnel", "snowflake") is funnel_forms.summary_sql
    assert dialect_build("funnel_actors", "snowflake") is funnel_forms.actors_sql
    assert dialect_build("paths", "snowflake") is path_forms.summary_sql
    assert dialect_build("paths_actors", "snowflake") is path_forms.actors_sql


def test_a_dialect_without_its_own_form_still_refuses_loudly():
    store = SimpleNamespace(dialect="otherdb")
    for name in DUCKDB_ONLY_TEMPLATES:
        with pytest.raises(UnsupportedFeature, match="otherdb backend does not support"):
            check_backend(store, get_template(name))


FUNNEL_CASES = [(d, c) for d, c in golden_cases("funnels") if "request" in c]


@pytest.mark.parametrize("case", [c for _, c in FUNNEL_CASES], ids=[d[:60] for d, _ in FUNNEL_CASES])
def test_funnel_forms_agree_on_golden_cases(case):
    stores = _pair(records(case["events"]))
    request = case["request"]
    _same(stores, run_funnel, request)
    _same(stores, run_funnel_actors, {**request, "drilldown": {"status": "dropped", "step": 2, "limit": 1000}})


@pytest.mark.parametrize("stream", range(len(funnel_ref.STREAMS)))
def test_funnel_forms_agree_on_random_streams(stream):
    actors, events, minutes, activities = funnel_ref.STREAMS[stream]
    rng = random.Random(500 + stream)
    stores = _pair(random_records(rng, actors=actors, events=events, minutes=minutes, activities=activities))
    for _ in range(8):
        request = funnel_ref.random_request(rng, activities)
        _same(stores, run_funnel, request)
        _same(stores, run_funnel_actors, {**request, "drilldown": {"status": "dropped", "step": 2, "limit": 1000}})


PATH_CASES = [(d, c) for d, c in golden_cases("paths") if c.get("kind") == "paths"]


def _path_drilldowns(stores: tuple[DuckDBStore, DuckDBStore], request: dict[str, Any], answer: Any) -> None:
    if not isinstance(answer, dict):
        return
    for row in answer["top_paths"][:1]:
        _same(stores, run_paths_actors, {**request, "drilldown": {"path": row["path"], "limit": 1000}})
        _same(stores, run_paths_actors, {**request, "drilldown": {"path": row["path"][:1], "prefix": True}})


@pytest.mark.parametrize("case", [c for _, c in PATH_CASES], ids=[d[:60] for d, _ in PATH_CASES])
def test_paths_forms_agree_on_golden_cases(case):
    stores = _pair(records(case["events"]))
    _path_drilldowns(stores, case["request"], _same(stores, run_paths, case["request"]))


@pytest.mark.parametrize("seed", range(2))
def test_paths_forms_agree_on_random_streams(seed):
    rng = random.Random(900 + seed)
    stores = _pair(random_records(rng, actors=8, events=20, minutes=30))
    for _ in range(10):
        request = paths_ref.random_request(rng)
        _path_drilldowns(stores, request, _same(stores, run_paths, request))


SNOWFLAKE_TEXT = [
    (funnel_forms.summary_sql, FunnelRequest, {"steps": ["a_b", "c_d", "e_f"], "exclusions": [{"activity": "x_y"}],
                                               "breakdown": "feature_json.plan", "date_to": "2026-03-01"}),
    (funnel_forms.summary_sql, FunnelRequest, {"steps": ["a_b", "a_b"], "order": "strict"}),
    (funnel_forms.summary_sql, FunnelRequest, {"steps": ["a_b", "c_d"], "order": "unordered"}),
    (funnel_forms.actors_sql, FunnelActorsRequest, {"steps": ["a_b", "c_d"], "breakdown": "customer",
                                                    "drilldown": {"step": 2, "breakdown_value": "c1"}}),
    (path_forms.summary_sql, PathsRequest, {"start_activity": "a_b", "end_activity": "c_d",
                                            "exclude_activities": ["x_y"], "session_gap": {"minutes": 30}}),
    (path_forms.summary_sql, PathsRequest, {"end_activity": "c_d", "collapse_repeats": True}),
    (path_forms.actors_sql, PathsActorsRequest, {"drilldown": {"path": ["a_b", "c_d"], "prefix": True}}),
]


@pytest.mark.parametrize(("build", "model", "raw"), SNOWFLAKE_TEXT)
def test_the_rendered_snowflake_text_parses_as_snowflake(build, model, raw):
    sql, bind = build(model.model_validate(raw))
    lists = frozenset(k for k, v in bind.items() if isinstance(v, list | tuple))
    text, names = get_dialect("snowflake").transpile_named(sql, lists=lists)
    assert set(names) == set(bind)
    tree = sqlglot.parse_one(text, read="snowflake")
    assert tree is not None and "list_" not in text.lower() and "to_microseconds" not in text.lower()


def test_a_path_step_that_is_no_activity_name_matches_nothing():
    """Path keys join activities with a space; a requested step holding one must not match two steps."""
    _, bind = path_forms.actors_sql(PathsActorsRequest.model_validate(
        {"drilldown": {"path": ["a_b c_d"], "prefix": True}}))
    assert bind["want_key"] is None and bind["want_prefix"] is None
    _, bind = path_forms.actors_sql(PathsActorsRequest.model_validate({"drilldown": {"path": ["a_b", "c_d"]}}))
    assert bind["want_key"] == "a_b c_d"
