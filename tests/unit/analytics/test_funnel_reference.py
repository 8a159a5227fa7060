"""The funnel engine agrees with the brute-force reference on random streams with many ties."""

from __future__ import annotations

import random
from typing import Any

import pytest

from activityschema.analytics.funnels import run_funnel, run_funnel_actors
from activityschema.ingest.importer import ingest_records
from activityschema.store.duckdb import DuckDBStore
from tests.conftest import NOW
from tests.reference import funnels as ref
from tests.reference.streams import ACTIVITIES, VALUES, random_records

# (actors, events per actor, minutes, activities): the later streams pack events on few instants (many ties);
# the last is many tiny actors, so one request checks many tie patterns at once.
STREAMS = [(6, 18, 40, ACTIVITIES), (8, 20, 12, ACTIVITIES), (6, 24, 6, ACTIVITIES), (40, 5, 2, ACTIVITIES[:2])]
REQUESTS_PER_STREAM = 16


def _step(rng: random.Random, activities: tuple[str, ...]) -> dict[str, Any]:
    step: dict[str, Any] = {"activity": rng.choice(activities)}
    if rng.random() < 0.5:
        step["filters"] = [{"column": "feature_json.p", "value": rng.choice(VALUES)}]
    return step


def random_request(rng: random.Random, activities: tuple[str, ...] = ACTIVITIES) -> dict[str, Any]:
    order = rng.choice(["ordered", "ordered", "strict", "unordered"])
    n = rng.randint(2, 4)
    if order == "unordered":
        steps = [_step(rng, (a,)) for a in rng.sample(activities, min(n, len(activities)))]
    else:
        pool = activities[:rng.choice([1, 2, 3])]  # few activities: steps often share one
        steps = [_step(rng, pool) for _ in range(n)]
    req: dict[str, Any] = {"steps": steps, "order": order, "window": {"minutes": rng.choice([3, 10, 25, 60])}}
    if rng.random() < 0.4:
        req["date_from"] = f"2026-03-02T00:{rng.randint(0, 20):02d}:00"
    if rng.random() < 0.3:
        req["date_to"] = f"2026-03-02T00:{rng.randint(20, 40):02d}:00"
    if order == "ordered" and rng.random() < 0.4:
        req["exclusions"] = [{"activity": rng.choice(activities), "from_step": 1, "to_step": rng.randint(2, len(steps))}]
    if rng.random() < 0.4:
        req["breakdown"] = "feature_json.p"
        req["breakdown_limit"] = rng.choice([1, 5])
    return req


def _crossing(request: dict[str, Any]) -> bool:
    """Two steps of one activity whose filters select different values: not nested, so the
    documented tie rule, not the longest chain, decides (the reference follows the rule anyway)."""
    seen: dict[str, set[Any]] = {}
    for s in request["steps"]:
        vals = {f["value"] for f in s.get("filters", [])}
        seen.setdefault(s["activity"], set()).add(frozenset(vals))
    return any(len({v for v in group if v}) > 1 for group in seen.values())


def _close(a: float | None, b: float | None) -> bool:
    return (a is None and b is None) or (a is not None and b is not None and abs(a - b) < 1e-3)


def _compare_steps(got: list[Any], want: list[dict[str, Any]], context: Any) -> None:
    assert [s.count for s in got] == [w["count"] for w in want], context
    for s, w in zip(got, want, strict=True):
        assert _close(s.median_seconds_from_previous, None if w["median_us"] is None else w["median_us"] / 1e6), context
        assert _close(s.mean_seconds_from_previous, None if w["mean_us"] is None else w["mean_us"] / 1e6), context


@pytest.mark.parametrize("seed", range(len(STREAMS)))
def test_funnel_matches_reference_on_random_streams(seed):
    store = DuckDBStore(":memory:")  # in-process DuckDB: the many provenance commits need no fsync
    rng = random.Random(seed)
    actors, events_per_actor, minutes, activities = STREAMS[seed]
    records = random_records(rng, actors=actors, events=events_per_actor, minutes=minutes, activities=activities)
    ingest_records(store, records, now=NOW)
    events = ref.from_records(records)
    for _ in range(REQUESTS_PER_STREAM):
        request = random_request(rng, activities)
        got = run_funnel(store, request)
        want = ref.funnel(events, request)
        _compare_steps(got.steps, want["steps"], request)
        assert got.time_to_convert.converted == len(want["converted_us"]), request
        if want["converted_us"]:
            assert _close(got.time_to_convert.median_seconds, ref.statistics.median(want["converted_us"]) / 1e6)
        if "breakdown" in want:
            got_buckets = {b.value: b.steps for b in got.breakdown}
            assert set(got_buckets) == set(want["breakdown"]), request
            for value, steps in want["breakdown"].items():
                _compare_steps(got_buckets[value], steps, (request, value))
        if request["order"] == "ordered" and not request.get("exclusions") and not _crossing(request):
            _check_longest_chain(events, request, want)
        _check_drilldown(store, events, request)


def _check_longest_chain(events, request, want) -> None:
    """Without crossing filters, the engine's chain is the longest chain (exhaustive search)."""
    chosen = ref.counted(events, request)
    by_actor: dict[str, list[ref.Ev]] = {}
    for e in events:
        by_actor.setdefault(e.actor, []).append(e)
    for actor, (_e1, times) in chosen.items():
        best = max(ref.max_chain_level(by_actor[actor], request["steps"], e, ref.window_of(request))
                   for e, _ in ref.entries_of(by_actor[actor], request))
        assert len(times) == best, (request, actor)


def _check_drilldown(store, events, request) -> None:
    n = len(request["steps"])
    chosen = ref.counted(events, request)
    pick = random.Random(str(request))
    step = pick.randint(2, n)
    for status in [pick.choice(["reached", "dropped"])]:
        got = run_funnel_actors(store, {**request, "drilldown": {"step": step, "status": status, "limit": 1000}})
        want = {a for a, (_, t) in chosen.items() if (len(t) >= step if status == "reached" else len(t) == step - 1)}
        assert {r.actor for r in got.actors} == want, (request, status)
        assert got.total == len(want)
