"""Shared helpers of the dataset tests: load events, read them back as stored, compare rows."""

from __future__ import annotations

import json
import math
from datetime import datetime
from typing import Any

from activityschema.ingest.importer import ingest_records
from activityschema.store.duckdb import DuckDBStore
from tests.conftest import NOW

STORED_SQL = """
SELECT activity_id, ts, activity, customer, anonymous_customer_id, CAST(feature_json AS VARCHAR),
       revenue_impact, link
FROM activities
"""


def load(store: DuckDBStore, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Ingest ``events`` (all must be accepted) and return them as the store holds them."""
    report = ingest_records(store, events, now=NOW)
    assert report.accepted == len(events), report.reasons
    rows = store.fetchall(STORED_SQL)
    keys = ("activity_id", "ts", "activity", "customer", "anonymous_customer_id", "feature_json", "revenue_impact", "link")
    out = []
    for row in rows:
        e = dict(zip(keys, row, strict=True))
        e["feature_json"] = json.loads(e["feature_json"]) if e["feature_json"] else {}
        out.append(e)
    return out


def same_value(a: Any, b: Any) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        if a is None or b is None:
            return a is b
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)
    return a == b


def assert_same_rows(actual: list[dict[str, Any]], expected: list[dict[str, Any]], context: Any = None) -> None:
    assert len(actual) == len(expected), (context, len(actual), len(expected))
    for i, (a, e) in enumerate(zip(actual, expected, strict=True)):
        assert list(a) == list(e), (context, list(a), list(e))
        bad = {k: (a[k], e[k]) for k in a if not same_value(a[k], e[k])}
        assert not bad, (context, i, bad, e)


def iso(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value
