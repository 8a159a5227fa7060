"""Checks a funnel golden case (fixture or docs example) against the engine."""

from __future__ import annotations

from typing import Any

import pytest

from activityschema.analytics.funnels import run_funnel, run_funnel_actors
from activityschema.errors import ActivitySchemaError
from tests.golden.cases import load_store

TOLERANCE = 1e-3


def _approx(values: list[float | None]) -> list[Any]:
    return [None if v is None else pytest.approx(v, abs=TOLERANCE) for v in values]


def _drilldown(spec: str) -> dict[str, Any]:
    """``reached:2`` / ``dropped:3`` / ``reached:1@value`` (a breakdown bucket)."""
    status, rest = spec.split(":")
    step, _, bucket = rest.partition("@")
    out: dict[str, Any] = {"status": status, "step": int(step), "limit": 1000}
    if bucket:
        out["breakdown_value"] = bucket
    return out


def check_funnel_case(case: dict[str, Any]) -> None:
    store = load_store(case)
    expect, request = case["expect"], case["request"]
    if "error" in expect:
        with pytest.raises(ActivitySchemaError) as info:
            run_funnel(store, request)
        assert info.value.code == expect["error"], info.value.message
        assert expect.get("message", "") in info.value.message
        return
    for spec, code in expect.get("actors_error", {}).items():
        with pytest.raises(ActivitySchemaError) as info:
            run_funnel_actors(store, {**request, "drilldown": _drilldown(spec)})
        assert info.value.code == code
    if "actors_error" in expect:
        return
    result = run_funnel(store, request)
    assert result.query_hash and len(result.query_hash) == 16
    steps = result.steps
    if "counts" in expect:
        assert [s.count for s in steps] == expect["counts"]
    for key, attr in (("median_seconds", "median_seconds_from_previous"), ("mean_seconds", "mean_seconds_from_previous"),
                      ("conversion_from_previous", "conversion_from_previous"),
                      ("conversion_from_first", "conversion_from_first")):
        if key in expect:
            assert [getattr(s, attr) for s in steps] == _approx(expect[key]), key
    if "time_to_convert" in expect:
        ttc = expect["time_to_convert"]
        assert result.time_to_convert.converted == ttc["converted"]
        assert result.time_to_convert.median_seconds == pytest.approx(ttc["median_seconds"])
        assert sum(b.count for b in result.time_to_convert.bins) == ttc["converted"]
    if "breakdown" in expect:
        got = {("null" if b.value is None else b.value): [s.count for s in b.steps] for b in result.breakdown}
        assert got == expect["breakdown"]
    for spec, actors in expect.get("actors", {}).items():
        listed = run_funnel_actors(store, {**request, "drilldown": _drilldown(spec)})
        assert sorted(r.actor for r in listed.actors) == sorted(actors), spec
        assert listed.total == len(actors)
    store.close()
