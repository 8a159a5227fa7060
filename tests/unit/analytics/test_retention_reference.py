"""Retention agrees with the brute-force reference on random streams spanning months."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Any

import pytest

from activityschema.analytics.retention import run_retention, run_retention_actors
from activityschema.ingest.importer import ingest_records
from activityschema.store.duckdb import DuckDBStore
from tests.conftest import NOW, uid
from tests.reference import funnels as ref_funnels
from tests.reference import retention as ref

BASE = datetime(2026, 1, 1)
ACTIVITIES = ("signup_started", "visited_page", "order_completed")
LATER = datetime(2030, 1, 1)  # every interval complete


def random_records(rng: random.Random, actors: int = 40) -> list[dict[str, Any]]:
    out, n = [], 1
    for a in range(actors):
        for _ in range(rng.randint(1, 12)):
            out.append({"activity_id": uid(n), "customer": f"c{a}", "activity": rng.choice(ACTIVITIES),
                        "ts": (BASE + timedelta(hours=rng.randint(0, 24 * 75))).isoformat(),
                        "feature_json": {"plan": rng.choice(["free", "pro"])}})
            n += 1
    return out


def random_request(rng: random.Random) -> dict[str, Any]:
    req: dict[str, Any] = {"start": rng.choice(["signup_started", "order_completed"]),
                           "cohort": rng.choice(["first_time", "recurring"]),
                           "period": rng.choice(["day", "week", "month"]),
                           "intervals": rng.randint(1, 6), "mode": rng.choice(["on", "on_or_after"])}
    if rng.random() < 0.5:
        req["return"] = rng.choice(ACTIVITIES)
    if rng.random() < 0.3:
        req["start"] = {"activity": req["start"], "filters": [{"column": "feature_json.plan", "value": "pro"}]}
    if rng.random() < 0.4:
        req["date_from"] = f"2026-01-{rng.randint(1, 28):02d}"
    if rng.random() < 0.3:
        req["date_to"] = f"2026-02-{rng.randint(1, 28):02d}"
    return req


@pytest.mark.parametrize("seed", range(2))
def test_retention_matches_reference(seed):
    store = DuckDBStore(":memory:")  # in-process DuckDB: the many provenance commits need no fsync
    rng = random.Random(seed)
    records = random_records(rng)
    ingest_records(store, records, now=NOW)
    events = ref_funnels.from_records(records)
    for _ in range(12):
        request = random_request(rng)
        got = run_retention(store, request, now=LATER)
        want = ref.retention(events, request)
        assert {c.cohort: (c.size, [x.count for x in c.cells]) for c in got.cohorts} == want, request
        if want:
            cohort = sorted(want)[rng.randrange(len(want))]
            k = rng.randrange(request["intervals"])
            retained = run_retention_actors(store, {**request, "drilldown": {"cohort": cohort.isoformat(), "interval": k, "limit": 1000}})
            lost = run_retention_actors(store, {**request, "drilldown": {"cohort": cohort.isoformat(), "interval": k,
                                                                         "status": "lost", "limit": 1000}})
            assert retained.total == want[cohort][1][k], request
            assert retained.total + lost.total == want[cohort][0]
            assert not {a.actor for a in retained.actors} & {a.actor for a in lost.actors}
