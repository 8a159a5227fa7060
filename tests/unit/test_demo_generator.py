"""The demo generator: determinism, exact counts, valid records, realism, planted anomalies."""

from __future__ import annotations

import json
import math
import random
import re
import statistics
import uuid
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from activityschema.demo import GENERATOR_VERSION, PLANTED, generate_events, write_ndjson
from activityschema.demo.generator import _uuid4
from activityschema.errors import ConfigError

SPEC_FIELDS = {
    "activity_id",
    "ts",
    "activity",
    "customer",
    "anonymous_customer_id",
    "feature_json",
    "revenue_impact",
    "link",
}
ACTIVITY_RE = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)+$")
TS_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
LINK_RE = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:[^\s]+$")
START = datetime(2026, 1, 5)
DAYS = 120
TOOL_KEYS = [
    "tool_name",
    "parameters",
    "result_type",
    "duration_ms",
    "tokens_used",
    "error_message",
]
UI_KEYS = ["interaction_type", "element_id", "page_url", "session_duration_ms", "device_type"]
SYSTEM_KEYS = [
    "event_type",
    "version",
    "environment",
    "deployment_id",
    "rollback",
    "duration_seconds",
]


def check_record(rec, start=START, days=DAYS):
    """The record rules of SEMANTICS §1, plus the generator's own promises (v4 ids, ts range)."""
    assert set(rec) == SPEC_FIELDS
    parsed = uuid.UUID(rec["activity_id"])
    assert str(parsed) == rec["activity_id"] and parsed.version == 4
    assert TS_RE.match(rec["ts"]), rec["ts"]
    ts = datetime.fromisoformat(rec["ts"]).replace(tzinfo=None)
    assert start < ts < start + timedelta(days=days)
    assert ACTIVITY_RE.match(rec["activity"]) and len(rec["activity"]) <= 100
    for key in ("customer", "anonymous_customer_id"):
        assert rec[key] is None or (isinstance(rec[key], str) and 1 <= len(rec[key]) <= 255)
    assert rec["customer"] is not None or rec["anonymous_customer_id"] is not None
    assert isinstance(rec["feature_json"], dict)
    assert len(json.dumps(rec["feature_json"]).encode()) <= 16 * 1024 * 1024
    revenue = rec["revenue_impact"]
    assert revenue is None or (type(revenue) is float and math.isfinite(revenue))
    link = rec["link"]
    assert link is None or (isinstance(link, str) and len(link) <= 2000 and LINK_RE.match(link))


def day_of(rec, start=START):
    return (datetime.fromisoformat(rec["ts"]).replace(tzinfo=None) - start).days


def actor(rec):
    return rec["customer"] or rec["anonymous_customer_id"]


@pytest.fixture(scope="module")
def plain():
    return list(generate_events(seed=11, customers=2500))


@pytest.fixture(scope="module")
def planted():
    return list(generate_events(seed=11, customers=2500, plant_anomalies=True))


def test_same_seed_gives_identical_bytes(tmp_path):
    a, b = tmp_path / "a.ndjson", tmp_path / "b.ndjson"
    assert write_ndjson(a, seed=5, events=4000) == write_ndjson(b, seed=5, events=4000) == 4000
    assert a.read_bytes() == b.read_bytes()
    assert list(generate_events(seed=5, customers=40)) == list(
        generate_events(seed=5, customers=40)
    )


def test_other_seed_gives_other_stream():
    a = list(generate_events(seed=1, events=500))
    b = list(generate_events(seed=2, events=500))
    assert {r["activity_id"] for r in a}.isdisjoint(r["activity_id"] for r in b)
    assert [r["ts"] for r in a] != [r["ts"] for r in b]


def test_ndjson_line_is_json_dumps_of_the_record(tmp_path):
    target = tmp_path / "out.ndjson"
    write_ndjson(target, seed=3, customers=60, plant_anomalies=True, days=100)
    lines = target.read_text(encoding="utf-8").splitlines()
    records = list(generate_events(seed=3, customers=60, plant_anomalies=True, days=100))
    assert len(lines) == len(records)
    for line, rec in zip(lines, records, strict=True):
        assert line == json.dumps(rec, separators=(",", ":"), ensure_ascii=False)


def test_write_ndjson_dash_writes_stdout(capsys):
    assert write_ndjson("-", seed=4, events=25) == 25
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 25 and json.loads(out[0])["activity_id"]


@pytest.mark.parametrize("count", [0, 1, 2, 37, 5000])
def test_events_gives_exactly_that_many_records(count):
    records = list(generate_events(seed=9, events=count))
    assert len(records) == count
    assert len({r["activity_id"] for r in records}) == count


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 2**32), count=st.integers(0, 400), days=st.integers(1, 150))
def test_any_seed_gives_exact_count_of_valid_records(seed, count, days):
    records = list(generate_events(seed=seed, events=count, days=days))
    assert len(records) == count
    for rec in records:
        check_record(rec, days=days)


def test_every_record_is_valid(plain, planted):
    for rec in plain + planted:
        check_record(rec)
    assert len({r["activity_id"] for r in plain}) == len(plain)


def test_aware_and_odd_start_keep_ts_inside_the_range():
    start = datetime(2025, 3, 30, 22, 15, 7, 500, tzinfo=timezone(timedelta(hours=2)))
    naive_utc = start.astimezone(UTC).replace(tzinfo=None)
    for rec in generate_events(seed=1, customers=80, start=start, days=3):
        check_record(rec, start=naive_utc, days=3)


def _people(records):
    links = {
        r["anonymous_customer_id"]: r["customer"]
        for r in records
        if r["customer"] and r["anonymous_customer_id"]
    }
    return [links.get(actor(r), actor(r)) for r in records]


def test_each_person_is_one_run_in_ts_order(plain):
    people = _people(plain)
    finished, previous = set(), None
    for person, rec in zip(people, plain, strict=True):
        if person != (previous and previous[0]):
            assert person not in finished
            if previous:
                finished.add(previous[0])
        else:
            assert previous[1] <= rec["ts"]
        previous = (person, rec["ts"])


def test_customers_counts_people_after_identity_stitching():
    records = list(generate_events(seed=2, customers=300))
    assert len(set(_people(records)) - {"system"}) == 300


def test_every_activity_family_is_present(plain):
    names = {r["activity"] for r in plain}
    assert names >= {
        "visited_page",
        "viewed_product",
        "session_started",
        "session_ended",
        "signup_started",
        "email_verified",
        "profile_completed",
        "order_completed",
        "order_refunded",
        "subscription_started",
        "subscription_renewed",
        "subscription_cancelled",
        "claude_session_start",
        "claude_tool_call",
        "claude_error_encountered",
        "button_clicked",
        "form_submitted",
        "deployment_completed",
        "consent_updated",
        "user_logged_in",
    }


def test_feature_json_follows_the_spec_patterns(plain):
    by_activity = defaultdict(list)
    for rec in plain:
        by_activity[rec["activity"]].append(rec)
    for rec in by_activity["claude_tool_call"]:
        f = rec["feature_json"]
        assert list(f) == TOOL_KEYS and set(f["parameters"]) == {"file_path"}
        assert f["result_type"] in {"success", "error"}
        assert (f["error_message"] is None) == (f["result_type"] == "success")
        assert isinstance(f["duration_ms"], int) and isinstance(f["tokens_used"], int)
    for name in ("button_clicked", "form_submitted"):
        for rec in by_activity[name]:
            assert list(rec["feature_json"]) == UI_KEYS
            assert rec["feature_json"]["page_url"].startswith("https://")
    for rec in by_activity["deployment_completed"]:
        assert list(rec["feature_json"]) == SYSTEM_KEYS and rec["customer"] == "system"
        assert isinstance(rec["feature_json"]["rollback"], bool)
    for rec in by_activity["consent_updated"]:
        assert sorted(rec["feature_json"]) == ["analytics", "do_not_sell", "marketing"]
        assert all(isinstance(v, bool) for v in rec["feature_json"].values())


def test_anonymous_visits_are_later_identified(plain):
    both = [r for r in plain if r["customer"] and r["anonymous_customer_id"]]
    assert both
    linked = {r["anonymous_customer_id"] for r in both if r["activity"] == "signup_started"}
    anon_only = {r["anonymous_customer_id"] for r in plain if r["customer"] is None}
    assert len(linked & anon_only) == len(linked)
    never = anon_only - {r["anonymous_customer_id"] for r in both}
    assert never, "some visitors never sign up"
    assert all(
        r["customer"] and r["anonymous_customer_id"]
        for r in plain
        if r["activity"] in {"signup_started", "user_logged_in"}
    )


def test_signup_funnel_drops_off(plain):
    actors = defaultdict(set)
    for rec in plain:
        actors[rec["activity"]].add(actor(rec))
    started = len(actors["signup_started"])
    verified = len(actors["email_verified"])
    completed = len(actors["profile_completed"])
    assert started > verified > completed
    assert 0.62 < verified / started < 0.78 and 0.37 < completed / started < 0.53
    per_actor = Counter(actor(r) for r in plain if r["activity"] == "signup_started")
    assert max(per_actor.values()) >= 2, "some people re-enter the funnel"


def test_weekly_retention_decays(plain):
    signup_week = {}
    active = defaultdict(set)
    for rec in plain:
        if rec["activity"] == "signup_started" and rec["customer"] not in signup_week:
            signup_week[rec["customer"]] = day_of(rec) // 7
    for rec in plain:
        if rec["customer"] in signup_week and rec["activity"] == "session_started":
            active[day_of(rec) // 7 - signup_week[rec["customer"]]].add(rec["customer"])
    early = [c for c, w in signup_week.items() if w <= 3]
    rate = [len(active[k] & set(early)) / len(early) for k in (1, 3, 6, 10)]
    assert rate == sorted(rate, reverse=True) and rate[0] > 2 * rate[-1] > 0


def test_revenue_positive_for_orders_negative_for_refunds(plain):
    orders = {r["link"]: r for r in plain if r["activity"] == "order_completed"}
    assert orders and all(r["revenue_impact"] > 0 for r in orders.values())
    refunds = [r for r in plain if r["activity"] == "order_refunded"]
    assert refunds
    for rec in refunds:
        order = orders[rec["link"]]
        assert -order["revenue_impact"] <= rec["revenue_impact"] < 0 and rec["ts"] > order["ts"]
    renewals = [r for r in plain if r["activity"] == "subscription_renewed"]
    assert renewals and all(r["revenue_impact"] > 0 for r in renewals)
    assert all(
        r["revenue_impact"] is None for r in plain if r["activity"] == "subscription_cancelled"
    )


def test_same_person_sometimes_has_equal_timestamps(plain):
    pairs = Counter((actor(r), r["ts"]) for r in plain)
    assert any(n > 1 for n in pairs.values())


def test_sessions_open_and_close_with_one_id(plain):
    started = {r["feature_json"]["session_id"] for r in plain if r["activity"] == "session_started"}
    ended = {r["feature_json"]["session_id"] for r in plain if r["activity"] == "session_ended"}
    assert ended <= started and len(ended) > 0.95 * len(started)


def test_planted_facts_describe_days_after_start():
    assert GENERATOR_VERSION
    assert PLANTED["volume_spike"]["activity"] == "button_clicked"
    assert PLANTED["activity_stopped"]["activity"] == "claude_tool_call"
    assert PLANTED["new_feature_key"]["key"] == "form_version"
    assert PLANTED["type_drift"]["key"] == "duration_ms"


def _clicks_per_day(records):
    return Counter(day_of(r) for r in records if r["activity"] == "button_clicked")


def test_click_spike_only_when_planted(plain, planted):
    day = PLANTED["volume_spike"]["day"]
    for records, planted_run in ((plain, False), (planted, True)):
        per_day = _clicks_per_day(records)
        typical = statistics.median(per_day[d] for d in range(day - 14, day + 14) if d != day)
        ratio = per_day[day] / typical
        assert (ratio > 3) if planted_run else (ratio < 2), ratio


def test_tool_calls_stop_only_when_planted(plain, planted):
    stop = PLANTED["activity_stopped"]["from_day"]
    late = [r for r in planted if r["activity"] == "claude_tool_call" and day_of(r) >= stop]
    assert late == []
    assert any(r["activity"] == "claude_tool_call" and day_of(r) >= stop for r in plain)
    assert any(r["activity"] == "claude_session_start" and day_of(r) >= stop for r in planted)


def test_schema_drift_only_when_planted(plain, planted):
    drift = PLANTED["new_feature_key"]["from_day"]
    forms = [r for r in planted if r["activity"] == "form_submitted"]
    assert all(("form_version" in r["feature_json"]) == (day_of(r) >= drift) for r in forms)
    assert any(day_of(r) >= drift for r in forms)
    calls = [r for r in planted if r["activity"] == "claude_tool_call"]
    as_text = [
        isinstance(r["feature_json"]["duration_ms"], str) for r in calls if day_of(r) >= drift
    ]
    assert 0.2 < sum(as_text) / len(as_text) < 0.4
    assert not any(
        isinstance(r["feature_json"]["duration_ms"], str) for r in calls if day_of(r) < drift
    )
    assert not any(
        "form_version" in r["feature_json"] or isinstance(r["feature_json"].get("duration_ms"), str)
        for r in plain
    )


def test_activity_ids_are_stdlib_uuid4_text():
    rng = random.Random(1)
    for _ in range(2000):
        bits = rng.getrandbits(128)
        assert _uuid4(bits) == str(uuid.UUID(int=bits, version=4))


@pytest.mark.parametrize("bad", [{"events": -1}, {"customers": -5}, {"days": 0}])
def test_bad_options_are_config_errors(bad):
    with pytest.raises(ConfigError, match="Generator option"):
        list(generate_events(**bad))
