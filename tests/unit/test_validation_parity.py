"""The column-wise SQL validator and the single-record validator agree, record for record."""

from __future__ import annotations

import json
from datetime import datetime

import duckdb
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from activityschema.ingest.sources import stage_payloads
from activityschema.ingest.validate_sql import validate_table
from activityschema.schema.record import validate_record

NOW = datetime(2026, 6, 1)

text = st.text(max_size=8)
ids = st.one_of(st.none(), st.uuids().map(str), st.uuids().map(lambda u: str(u).upper()), st.uuids().map(lambda u: u.hex),
                text, st.integers())
ts_values = st.one_of(
    st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2030, 1, 1)).map(lambda d: d.isoformat()),
    st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2030, 1, 1)).map(lambda d: d.isoformat() + "Z"),
    st.sampled_from(["2026-01-15", "2026-01-15T10:00:00+05:30", "2026-01-15T10:00:00.5-0800", "2026-02-30", "2026-01-15T24:00",
                     "2026-06-02T13:00:00Z", "not a date", "", "2026-1-5", "2026-01-15T10:00:00+24:00", "0000-01-01"]),
    st.integers(), st.none())
activities = st.one_of(st.from_regex(r"[a-z][a-z0-9]{0,4}(_[a-z0-9]{1,4}){1,3}", fullmatch=True),
                       st.sampled_from(["User_signup", "signup", "a__b", "a_b_", "x" * 101, ""]), st.none(), st.integers())
actors = st.one_of(st.none(), st.text(min_size=0, max_size=3), st.just("x" * 256), st.integers())
features = st.one_of(st.none(), st.dictionaries(st.text(max_size=3), st.integers() | st.text(max_size=3), max_size=3),
                     st.just('{"a": [1, 2]}'), st.just("[1]"), st.just("{bad"), st.integers(), st.lists(st.integers(), max_size=2))
revenues = st.one_of(st.none(), st.integers(min_value=-10**9, max_value=10**9), st.floats(allow_nan=False, allow_infinity=False),
                     st.text(max_size=3), st.booleans())
links = st.one_of(st.none(), st.sampled_from(["https://x.io/a", "mailto:a@b", "no scheme", "ftp://h/p q", "x:" + "a" * 1999]), st.integers())

records = st.fixed_dictionaries(
    {},
    optional={"activity_id": ids, "ts": ts_values, "activity": activities, "customer": actors,
              "anonymous_customer_id": actors, "feature_json": features, "revenue_impact": revenues,
              "link": links, "unknown_key": st.integers()},
)


def sql_validate(payloads: list[str]) -> list[tuple]:
    con = duckdb.connect()
    stage_payloads(con, payloads, "src")
    validate_table(con, "src", "out", now_sql="TIMESTAMP '2026-06-01 00:00:00'")
    return con.execute(
        "SELECT _seq, [r.code FOR r IN reasons], activity_id, ts, activity, customer, anonymous_customer_id, "
        "CAST(feature_json AS VARCHAR), revenue_impact, link FROM out ORDER BY _seq").fetchall()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(records, min_size=1, max_size=25))
def test_sql_and_python_validators_agree(batch):
    payloads = [json.dumps(r) for r in batch]
    rows = sql_validate(payloads)
    for rec, row in zip(batch, rows, strict=True):
        py = validate_record(rec, now=NOW)
        assert sorted(r.code for r in py.reasons) == sorted(row[1]), (rec, row)
        if py.ok:
            out = py.record
            if "activity_id" in rec and rec["activity_id"] is not None:
                assert row[2] == out["activity_id"]
            assert row[3] == out["ts"]
            assert (row[4], row[5], row[6], row[9]) == (out["activity"], out["customer"], out["anonymous_customer_id"], out["link"])
            assert json.loads(row[7]) == json.loads(out["feature_json"])
            assert row[8] == out["revenue_impact"]


def test_sql_validator_keeps_malformed_lines_as_invalid_json():
    rows = sql_validate(["{oops", "[1]", '"text"', "null"])
    assert [r[1] for r in rows] == [["invalid_json"]] * 4


EDGE_CASES = [
    {"activity": "visited_page\n", "ts": "2026-01-01T00:00:00Z"},
    {"activity": "visited_page", "ts": "2026-01-01T00:00:00Z\n"},
    {"activity": "visited_page", "ts": " 2026-01-01T00:00:00Z "},
    {"activity": "visited_page", "ts": "\t2026-01-01"},
    {"activity": "visited_page", "ts": "\u0662\u0660\u0662\u0666-01-01"},
    {"activity": "visited_page", "ts": "2026-01-01T00:00:00Z", "link": "http://x\n"},
    {"activity": "visited_page", "ts": "2026-01-01T00:00:00Z", "activity_id": "0f8fad5b-d9cb-469f-a165-70867728950e\n"},
]


def test_validators_agree_on_trailing_newlines_spaces_and_unicode_digits():
    rows = sql_validate([json.dumps(r) for r in EDGE_CASES])
    for rec, row in zip(EDGE_CASES, rows, strict=True):
        assert sorted(r.code for r in validate_record(rec, now=NOW).reasons) == sorted(row[1]), (rec, row)
