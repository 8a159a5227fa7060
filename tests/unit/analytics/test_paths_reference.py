"""Paths agree with the brute-force reference on random streams (sessions, collapse, anchors)."""

from __future__ import annotations

import random
from typing import Any

import pytest

from activityschema.analytics.paths import run_paths, run_paths_actors
from activityschema.ingest.importer import ingest_records
from activityschema.store.duckdb import DuckDBStore
from tests.conftest import NOW
from tests.reference import funnels as ref_funnels
from tests.reference import paths as ref
from tests.reference.streams import ACTIVITIES, random_records

EVERYTHING = 1000


def random_request(rng: random.Random) -> dict[str, Any]:
    req: dict[str, Any] = {"step_limit": rng.randint(2, 5), "collapse_repeats": rng.random() < 0.5,
                           "session_gap": rng.choice([None, {"minutes": 3}, {"minutes": 10}]),
                           "top_paths": EVERYTHING, "edge_limit": EVERYTHING}
    anchor = rng.random()
    if anchor < 0.3:
        req["start_activity"] = rng.choice(ACTIVITIES)
    elif anchor < 0.55:
        req["end_activity"] = rng.choice(ACTIVITIES)
    elif anchor < 0.75:
        req["start_activity"], req["end_activity"] = rng.choice(ACTIVITIES), rng.choice(ACTIVITIES)
    if rng.random() < 0.2:
        req["exclude_activities"] = [a for a in ["other_x"] if a not in (req.get("start_activity"), req.get("end_activity"))]
    if rng.random() < 0.3:
        req["date_from"] = "2026-03-02T00:10:00"
    return req


def _us(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1e6, 1)


@pytest.mark.parametrize("seed", range(2))
def test_paths_match_reference(seed):
    store = DuckDBStore(":memory:")  # in-process DuckDB: the many provenance commits need no fsync
    rng = random.Random(seed)
    records = random_records(rng, actors=12, events=25, minutes=90)
    ingest_records(store, records, now=NOW)
    events = ref_funnels.from_records(records)
    for _ in range(14):
        request = random_request(rng)
        got = run_paths(store, request)
        want = ref.paths(events, request)
        assert (got.paths_total, got.actors_total) == (want["paths_total"], want["actors_total"]), request
        assert {(e.step, e.source, e.target): (e.count, _us(e.median_seconds)) for e in got.edges} == \
            {k: (n, round(m, 1)) for k, (n, m) in want["edges"].items()}, request
        assert {tuple(p.path): (p.count, p.actors, _us(p.median_seconds)) for p in got.top_paths} == \
            {k: (n, a, round(m, 1)) for k, (n, a, m) in want["paths"].items()}, request
        if want["paths"]:
            path = list(sorted(want["paths"])[0])
            listed = run_paths_actors(store, {**request, "drilldown": {"path": path, "limit": 1000}})
            assert listed.total == want["paths"][tuple(path)][1]
