"""Every rule of SEMANTICS §1, passing and failing, on the single-record validator."""

from __future__ import annotations

from datetime import datetime, timezone, timedelta

import pytest

from activityschema.schema.record import derive_activity_id, parse_json_record, validate_record

NOW = datetime(2026, 6, 1)
BASE = {"activity": "user_signup", "ts": "2026-01-15T14:30:00.000Z"}


def codes(rec, **kw):
    return [r.code for r in validate_record(rec, now=NOW, **kw).reasons]


def test_minimal_record_is_valid_and_gets_a_uuid4():
    out = validate_record(dict(BASE), now=NOW)
    assert out.ok
    assert out.record["activity_id"][14] == "4"
    assert out.record["feature_json"] == "{}"


@pytest.mark.parametrize("value,expected", [
    ("0F8FAD5B-D9CB-469F-A165-70867728950E", "0f8fad5b-d9cb-469f-a165-70867728950e"),
    ("{0f8fad5b-d9cb-469f-a165-70867728950e}", "0f8fad5b-d9cb-469f-a165-70867728950e"),
    ("0f8fad5bd9cb469fa16570867728950e", "0f8fad5b-d9cb-469f-a165-70867728950e"),
    ("c4ca4238-a0b9-3382-8dcc-509a6f75849b", "c4ca4238-a0b9-3382-8dcc-509a6f75849b"),  # v3/MD5-style accepted
])
def test_activity_id_is_stored_canonical(value, expected):
    assert validate_record({**BASE, "activity_id": value}, now=NOW).record["activity_id"] == expected


@pytest.mark.parametrize("value", ["abc", "", 12, "0f8fad5b-d9cb-469f-a165-70867728950", ["x"]])
def test_bad_activity_id_is_rejected(value):
    assert codes({**BASE, "activity_id": value}) == ["invalid_activity_id"]


def test_derived_ids_are_stable_uuid5():
    a = validate_record({**BASE, "activity_id": "order-17"}, now=NOW, derive_ids=True).record["activity_id"]
    assert a == derive_activity_id("order-17") and a[14] == "5"


@pytest.mark.parametrize("value,expected", [
    ("2026-01-15T14:30:00Z", datetime(2026, 1, 15, 14, 30)),
    ("2026-01-15T16:30:00+02:00", datetime(2026, 1, 15, 14, 30)),
    ("2026-01-15T14:30:00.123456789-0130", datetime(2026, 1, 15, 16, 0, 0, 123456)),
    ("2026-01-15 14:30", datetime(2026, 1, 15, 14, 30)),
    ("2026-01-15", datetime(2026, 1, 15)),
    (datetime(2026, 1, 15, 16, 30, tzinfo=timezone(timedelta(hours=2))), datetime(2026, 1, 15, 14, 30)),
])
def test_ts_is_normalized_to_utc(value, expected):
    assert validate_record({**BASE, "ts": value}, now=NOW).record["ts"] == expected


@pytest.mark.parametrize("value", ["yesterday", "2026-02-30", "2026-01-15T25:00", 1700000000, None, "2026-01-15T10:00+24:00"])
def test_bad_ts_is_rejected(value):
    rec = {**BASE, "ts": value}
    assert codes(rec) == ["invalid_ts"]


def test_ts_too_far_in_future():
    assert codes({**BASE, "ts": "2026-06-02T12:00:01Z"}) == ["ts_in_future"]
    assert codes({**BASE, "ts": "2026-06-01T23:00:00Z"}) == []
    assert codes({**BASE, "ts": "2026-06-03T00:00:00Z"}, max_future_hours=48) == []


@pytest.mark.parametrize("name", ["user_signup", "claude_tool_call", "a1_b2", "payment_process_failed"])
def test_good_activity_names(name):
    assert codes({**BASE, "activity": name}) == []


@pytest.mark.parametrize("name", ["signup", "User_Signup", "user__signup", "_user_signup", "user-signup", "1user_signup", "a_" + "b" * 99, None, 5])
def test_bad_activity_names(name):
    assert codes({**BASE, "activity": name}) == ["invalid_activity"]


@pytest.mark.parametrize("field,code", [("customer", "invalid_customer"), ("anonymous_customer_id", "invalid_anonymous_customer_id")])
def test_actor_ids(field, code):
    assert codes({**BASE, field: "x" * 255}) == []
    assert codes({**BASE, field: None}) == []
    assert codes({**BASE, field: "x" * 256}) == [code]
    assert codes({**BASE, field: ""}) == [code]
    assert codes({**BASE, field: 42}) == [code]


def test_feature_json_forms():
    assert validate_record({**BASE, "feature_json": '{"a": 1}'}, now=NOW).record["feature_json"] == '{"a":1}'
    assert codes({**BASE, "feature_json": "[1]"}) == ["invalid_feature_json"]
    assert codes({**BASE, "feature_json": "{bad"}) == ["invalid_feature_json"]
    assert codes({**BASE, "feature_json": 3}) == ["invalid_feature_json"]
    assert codes({**BASE, "feature_json": {"x": "y" * (16 * 1024 * 1024)}}) == ["feature_json_too_large"]


@pytest.mark.parametrize("value,ok", [(12.5, True), (-3, True), (0, True), (None, True), (float("nan"), False),
                                      (float("inf"), False), ("12", False), (True, False)])
def test_revenue_impact(value, ok):
    assert (codes({**BASE, "revenue_impact": value}) == []) is ok


@pytest.mark.parametrize("value,ok", [("https://example.com/a?b=1", True), ("mailto:a@b.c", True), (None, True),
                                      ("example.com/x", False), ("https://a b", False), ("https://x/" + "a" * 2000, False), (3, False)])
def test_link(value, ok):
    assert (codes({**BASE, "link": value}) == []) is ok


def test_unknown_fields_are_named():
    out = validate_record({**BASE, "colour": 1, "size": 2}, now=NOW)
    assert [r.code for r in out.reasons] == ["unknown_field"]
    assert "colour, size" in out.reasons[0].message


def test_helper_columns_in_input_are_ignored():
    assert codes({**BASE, "activity_occurrence": 9, "activity_repeated_at": "x"}) == []


def test_a_record_reports_every_broken_rule():
    bad = {"activity_id": "nope", "ts": "soon", "activity": "X", "customer": "", "revenue_impact": "1", "link": "x", "extra": 1}
    assert codes(bad) == ["invalid_activity_id", "invalid_ts", "invalid_activity", "invalid_customer",
                          "invalid_revenue_impact", "invalid_link", "unknown_field"]


def test_non_object_json():
    assert [r.code for r in parse_json_record("[1, 2]").reasons] == ["invalid_json"]
    assert [r.code for r in parse_json_record("{oops").reasons] == ["invalid_json"]


def test_huge_integer_revenue_is_rejected_not_crashing():
    assert codes({**BASE, "revenue_impact": 10**400}) == ["invalid_revenue_impact"]
