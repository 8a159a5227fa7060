"""The logger's line encoder: the fast path writes exactly what the full validator would, and every
line it writes passes the loader's SQL validation unchanged (an acknowledged event is never rejected)."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from activityschema.errors import ValidationError
from activityschema.ingest.encode import encode_records, fast_line, new_activity_id, slow_line
from tests.unit.test_validation_parity import records, sql_validate

NOW = datetime(2026, 6, 1)
LIMIT = NOW + timedelta(hours=24)

common = st.fixed_dictionaries(
    {"activity": st.from_regex(r"[a-z]{1,6}(_[a-z0-9]{1,4}){1,2}", fullmatch=True),
     "ts": st.one_of(
         st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2026, 5, 1)).map(lambda d: d.isoformat(timespec="seconds") + "Z"),
         st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2026, 5, 1)).map(lambda d: d.isoformat(timespec="milliseconds") + "+00:00"),
         st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2026, 5, 1)).map(lambda d: d.isoformat(timespec="microseconds")),
         st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2026, 5, 1)))},
    optional={"activity_id": st.uuids().map(str), "customer": st.text(min_size=1, max_size=5),
              "anonymous_customer_id": st.text(min_size=1, max_size=5),
              "feature_json": st.dictionaries(st.text(max_size=3), st.integers() | st.text(max_size=4) | st.floats(allow_nan=False, allow_infinity=False), max_size=3),
              "revenue_impact": st.integers(-10**6, 10**6) | st.floats(allow_nan=False, allow_infinity=False, width=32),
              "link": st.just("https://example.com/p?q=1")},
)


def without_id(line: bytes) -> dict:
    obj = json.loads(line)
    obj.pop("activity_id")
    return obj


@settings(max_examples=150, deadline=None)
@given(common)
def test_fast_path_takes_the_common_shape_and_writes_what_the_validator_would(rec):
    fast = fast_line(rec, LIMIT)
    slow, reasons = slow_line(rec, NOW, 24)
    assert fast is not None and not reasons
    if "activity_id" in rec:
        assert fast == slow
    else:
        assert without_id(fast) == without_id(slow)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(records | common, min_size=1, max_size=20))
def test_every_line_the_logger_writes_passes_sql_validation_unchanged(batch):
    lines = []
    for rec in batch:
        fast = fast_line(rec, LIMIT)
        slow, reasons = slow_line(rec, NOW, 24)
        assert (slow is None) == bool(reasons)
        if fast is not None:
            assert slow is not None, rec
            lines.append(fast)
        elif slow is not None:
            lines.append(slow)
    if not lines:
        return
    rows = sql_validate([line.decode() for line in lines])
    for line, row in zip(lines, rows, strict=True):
        obj = json.loads(line)
        assert row[1] == [], (obj, row)
        assert row[2] == obj["activity_id"]
        assert row[3] == datetime.fromisoformat(obj["ts"][:-1])


def test_generated_ids_are_canonical_uuid4_and_unique():
    ids = [new_activity_id() for _ in range(3000)]
    assert len(set(ids)) == 3000
    assert all(str(uuid.UUID(i)) == i and uuid.UUID(i).version == 4 and uuid.UUID(i).variant == uuid.RFC_4122 for i in ids)


def test_fast_path_declines_what_it_cannot_certify():
    base = {"activity": "visited_page", "ts": "2026-01-01T00:00:00Z"}
    for odd in [{"ts": "2026-01-01"}, {"ts": "2026-01-01T00:00:00+02:00"}, {"activity_id": "0F8FAD5B-D9CB-469F-A165-70867728950E"},
                {"revenue_impact": float("nan")}, {"revenue_impact": True}, {"feature_json": "[1]"}, {"colour": 1},
                {"ts": "2026-06-03T00:00:00Z"}, {"customer": ""}]:
        assert fast_line({**base, **odd}, LIMIT) is None, odd


def test_lone_surrogates_are_refused_not_written():
    rec = {"activity": "visited_page", "ts": "2026-01-01T00:00:00Z", "customer": "a\ud800"}
    with pytest.raises(ValidationError, match="lone surrogate") as caught:
        encode_records([rec], now=NOW)
    assert caught.value.code == "invalid_record"


@pytest.mark.parametrize("ts", [
    "2024-02-29T00:00:00Z", "2023-02-29T00:00:00Z", "2100-02-29T12:00:00Z", "2000-02-29T12:00:00Z",
    "2026-04-31T00:00:00Z", "2026-04-30T23:59:59.999999Z", "2026-01-31T00:00:00.000Z", "2026-13-01T00:00:00Z",
    "2026-00-10T00:00:00Z", "2026-01-00T00:00:00Z", "2026-01-01T24:00:00Z", "2026-01-01T23:60:00Z",
    "2026-01-01T23:00:60Z", "0000-01-01T00:00:00Z", "0001-01-01T00:00:00Z", "0999-12-31T23:59:59.5Z",
    "0999-12-31T23:59:59.500Z", "2026-06-02T00:00:00Z", "2026-06-02T00:00:00.000001Z", "2026-06-02T00:00:00.000+00:00",
    "2026-06-01T23:59:59.999Z", "2026-01-01T00:00:00.000000", "2026-01-01T00:00:00.120Z"])
def test_fast_timestamps_agree_with_the_validator_at_the_edges(ts):
    """Dates the pattern cannot judge alone (29th-31st, year 0) and the future limit: the fast path
    writes exactly what the full validator writes, or leaves the record to it."""
    rec = {"activity_id": "0f8fad5b-d9cb-469f-a165-70867728950e", "activity": "visited_page", "ts": ts}
    fast = fast_line(rec, LIMIT)
    slow, reasons = slow_line(rec, NOW, 24)
    assert fast is None or fast == slow, (ts, fast, slow, reasons)
    if slow is None:
        assert fast is None
