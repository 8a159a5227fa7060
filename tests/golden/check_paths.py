"""Checks paths, journey and recent golden cases (fixtures or docs examples) against the engine."""

from __future__ import annotations

from typing import Any

import pytest

from activityschema.analytics.paths import run_journey, run_paths, run_paths_actors
from activityschema.analytics.recent import run_recent
from activityschema.errors import ActivitySchemaError
from tests.conftest import uid
from tests.golden.cases import load_store, now_of


def _check_paths(store: Any, request: dict[str, Any], expect: dict[str, Any]) -> None:
    result = run_paths(store, request)
    for key in ("paths_total", "actors_total"):
        if key in expect:
            assert getattr(result, key) == expect[key], key
    if "paths" in expect:
        assert [[p.path, p.count, p.actors] for p in result.top_paths] == expect["paths"]
    if "edges" in expect:
        got = [[e.step, e.source, e.target, e.count, e.median_seconds] for e in result.edges]
        assert got == [[*e[:4], pytest.approx(e[4])] for e in expect["edges"]]
    for spec, actors in expect.get("actors", {}).items():
        prefix = spec.endswith("*")
        path = spec.rstrip("*").split(">")
        listed = run_paths_actors(store, {**request, "drilldown": {"path": path, "prefix": prefix}})
        assert sorted(a.actor for a in listed.actors) == sorted(actors), spec


def _check_journey(store: Any, request: dict[str, Any], expect: dict[str, Any]) -> None:
    result = run_journey(store, request)
    for key in ("total_events", "sessions"):
        if key in expect:
            assert getattr(result, key) == expect[key], key
    got = [[e.activity, e.session, e.seconds_since_previous] for e in result.events]
    assert got == expect["events"]


def _check_recent(store: Any, request: dict[str, Any], expect: dict[str, Any], case: dict[str, Any]) -> None:
    result = run_recent(store, request, now=now_of(case))
    assert [e.activity_id for e in result.events] == [uid(n) for n in expect["ids"]]


def check_paths_case(case: dict[str, Any]) -> None:
    store = load_store(case)
    expect, request, kind = case["expect"], case["request"], case["kind"]
    if "error" in expect:
        with pytest.raises(ActivitySchemaError) as info:
            run_paths(store, request)
        assert info.value.code == expect["error"], info.value.message
        assert expect.get("message", "") in info.value.message
    elif kind == "paths":
        _check_paths(store, request, expect)
    elif kind == "journey":
        _check_journey(store, request, expect)
    else:
        _check_recent(store, request, expect, case)
    store.close()
