"""Cross-check with an independent engine: ordered-funnel level counts equal ClickHouse's windowFunnel.

Options that match (and are the only ones compared): ``order: ordered``; steps with pairwise different
activities (windowFunnel lets one row satisfy several conditions, our funnel never does); the window
in microseconds on microsecond timestamps (both inclusive); a date range applied to step 1 only (our
range bounds only the entry: in ClickHouse it is part of condition 1); step filters expressed in
both. windowFunnel's default mode (no 'strict_*' flags): it keeps, per level, the latest chain start,
which gives the same furthest level as our per-entry chains. Ties: ClickHouse orders equal
timestamps by condition, our rule lets any order count — the same thing for distinct activities.
"""

from __future__ import annotations

import random
from typing import Any

import pytest

from activityschema.analytics.funnels import run_funnel
from activityschema.ingest.importer import ingest_records
from tests.conftest import NOW
from tests.reference.streams import random_records

chdb = pytest.importorskip("chdb")

ACTIVITIES = ("step_a", "step_b", "step_c", "step_d", "other_x")
REQUESTS = 12
EXPORT_SQL = """
COPY (SELECT coalesce(customer, anonymous_customer_id) AS actor, epoch_us(ts) AS ts_us, activity,
             coalesce(json_extract_string(feature_json, '$.p'), '') AS p
      FROM activities WHERE coalesce(customer, anonymous_customer_id) IS NOT NULL)
TO '{path}' (FORMAT parquet)
"""


def _condition(step: dict[str, Any]) -> str:
    cond = f"activity = '{step['activity']}'"
    for f in step.get("filters", []):
        cond += f" AND p = '{f['value']}'"
    return cond


def window_funnel(path: str, request: dict[str, Any], window_us: int) -> list[int]:
    """Actors reaching at least step k, for k = 1..n, by ClickHouse's windowFunnel."""
    conds = [_condition(s) for s in request["steps"]]
    if "date_from" in request:
        conds[0] += f" AND ts_us >= toUnixTimestamp64Micro(toDateTime64('{request['date_from']}', 6, 'UTC'))"
    sql = (f"SELECT level, count() AS actors FROM (SELECT actor, windowFunnel({window_us})(toUInt64(ts_us), "
           f"{', '.join(conds)}) AS level FROM file('{path}', Parquet) GROUP BY actor) GROUP BY level")
    rows = [line.split(",") for line in str(chdb.query(sql, "CSV")).strip().splitlines()]
    per_level = {int(level): int(count) for level, count in rows}
    n = len(request["steps"])
    return [sum(c for level, c in per_level.items() if level >= k) for k in range(1, n + 1)]


def test_ordered_funnel_levels_equal_clickhouse_window_funnel(store, tmp_path):
    rng = random.Random(11)
    ingest_records(store, random_records(rng, actors=150, events=14, minutes=240, activities=ACTIVITIES), now=NOW)
    path = str(tmp_path / "events.parquet")
    store.fetch_arrow(EXPORT_SQL.format(path=path))
    for _ in range(REQUESTS):
        steps: list[dict[str, Any]] = [{"activity": a} for a in rng.sample(ACTIVITIES[:4], rng.randint(2, 4))]
        if rng.random() < 0.3:
            steps[1]["filters"] = [{"column": "feature_json.p", "value": rng.choice(["x", "y"])}]
        minutes = rng.choice([5, 30, 90, 600])
        request: dict[str, Any] = {"steps": steps, "window": {"minutes": minutes}}
        if rng.random() < 0.4:
            request["date_from"] = f"2026-03-02 0{rng.randint(0, 2)}:00:00"
        ours = [s.count for s in run_funnel(store, request).steps]
        assert ours == window_funnel(path, request, minutes * 60_000_000), request
        assert ours[0] > 0
