"""Checks a retention golden case (fixture or docs example) against the engine."""

from __future__ import annotations

from typing import Any

import pytest

from activityschema.analytics.retention import run_retention, run_retention_actors
from activityschema.errors import ActivitySchemaError
from tests.golden.cases import load_store, now_of


def _drilldown(spec: str) -> dict[str, Any]:
    """``2026-03-02/1`` (retained in interval 1) or ``2026-03-02/1:lost``."""
    cell, _, status = spec.partition(":")
    cohort, interval = cell.split("/")
    return {"cohort": cohort, "interval": int(interval), "status": status or "retained", "limit": 1000}


def check_retention_case(case: dict[str, Any]) -> None:
    store = load_store(case)
    expect, request, now = case["expect"], case["request"], now_of(case)
    if "error" in expect:
        with pytest.raises(ActivitySchemaError) as info:
            run_retention(store, request, now=now)
        assert info.value.code == expect["error"], info.value.message
        assert expect.get("message", "") in info.value.message
        return
    for spec, code in expect.get("actors_error", {}).items():
        with pytest.raises(ActivitySchemaError) as info:
            run_retention_actors(store, {**request, "drilldown": _drilldown(spec)})
        assert info.value.code == code
    if "actors_error" in expect:
        return
    result = run_retention(store, request, now=now)
    if "cohorts" in expect:
        got = {c.cohort.isoformat(): [c.size, [x.count for x in c.cells]] for c in result.cohorts}
        assert got == expect["cohorts"]
    if "cells" in expect:
        got_cells = {c.cohort.isoformat(): [[x.count, x.complete] for x in c.cells] for c in result.cohorts}
        assert got_cells == expect["cells"]
    if "average" in expect:
        want = [None if v is None else pytest.approx(v, abs=1e-3) for v in expect["average"]]
        assert [a.rate for a in result.average] == want
    for spec, actors in expect.get("actors", {}).items():
        listed = run_retention_actors(store, {**request, "drilldown": _drilldown(spec)})
        assert sorted(a.actor for a in listed.actors) == sorted(actors), spec
    store.close()
