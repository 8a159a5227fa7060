"""Consent (opt-out, do-not-sell, disclosure) and retention policies."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from activityschema.errors import ValidationError
from activityschema.governance import consent, disclosure, export, policies, retention
from activityschema.ingest.importer import ingest_records
from activityschema.store.duckdb import DuckDBStore
from tests.conftest import NOW, event
from tests.governance_support import helper_columns_correct


def test_consent_state_is_the_latest_value_of_each_flag(store):
    ingest_records(store, [
        event("consent_updated", "2026-01-01T00:00:00Z", "c1", 1, feature_json={"tracking": True, "do_not_sell": True}),
        event("consent_updated", "2026-01-03T00:00:00Z", "c1", 2, feature_json={"marketing": "no"}),
        event("consent_updated", "2026-01-02T00:00:00Z", "c1", 3, feature_json={"do_not_sell": False, "odd": "maybe"}),
    ], now=NOW)
    state = consent.consent_state(store, "c1")
    assert {k: v["value"] for k, v in state.items()} == {"tracking": True, "do_not_sell": False, "marketing": False}
    assert state["do_not_sell"]["activity_id"].endswith("3")
    with pytest.raises(ValidationError, match="Allowed: true or false"):
        consent.record_consent(store, "c1", {"tracking": "perhaps"})


def test_opt_out_drops_with_redacted_rejects_and_counts_reconcile(store):
    ingest_records(store, [event("page_viewed", "2026-01-01T00:00:00Z", "opt-cust-1", 1, anonymous_customer_id="opt-anon-1")], now=NOW)
    consent.record_consent(store, "opt-cust-1", {"tracking": False}, now=NOW)
    batch = [event("page_viewed", "2026-01-02T00:00:00Z", "opt-cust-1", 2, feature_json={"secret": "s"}),
             event("page_viewed", "2026-01-02T00:00:00Z", None, 3, anonymous_customer_id="opt-anon-1"),   # linked to c1
             event("page_viewed", "2026-01-02T00:00:00Z", "opt-cust-2", 4),
             event("page_viewed", "bad", "opt-cust-1", 5)]
    report = ingest_records(store, batch, now=NOW)
    assert report.reconciles and report.accepted == 1 and report.reasons["opted_out"] == 3
    payloads = [r[0] for r in store.fetchall("SELECT payload FROM rejected_activities")]
    assert all("opt-cust-1" not in p and "opt-anon-1" not in p and "secret" not in p and json.loads(p)["redacted"] == "opted_out" for p in payloads)
    consent.record_consent(store, "opt-cust-1", {"tracking": True}, now=NOW + timedelta(minutes=1))  # opting back in passes
    assert ingest_records(store, batch[:1], now=NOW).accepted == 1


def test_opt_out_in_the_same_batch_and_anonymize_mode(store):
    policies.set_policy(store, "opt_out_mode", "anonymize")
    report = ingest_records(store, [
        event("consent_updated", "2026-01-01T00:00:00Z", "c1", 1, feature_json={"tracking": False}),
        event("page_viewed", "2026-01-02T00:00:00Z", "c1", 2, anonymous_customer_id="a9"),
    ], now=NOW)
    assert report.accepted == 2 and report.rejected == 0
    rows = store.fetchall("SELECT activity, customer, anonymous_customer_id FROM activities ORDER BY ts")
    assert rows == [("consent_updated", "c1", None), ("page_viewed", None, None)]
    assert helper_columns_correct(store)


def test_do_not_sell_is_honoured_by_shared_exports_and_disclosed(store, tmp_path):
    ingest_records(store, [event("order_completed", "2026-01-0%dT00:00:00Z" % i, c, i, revenue_impact=1.0)
                           for i, c in enumerate(["c1", "c2", "c3"], 1)], now=NOW)
    consent.record_consent(store, "c2", {"do_not_sell": True}, now=NOW)
    sale = export.share_activities(store, tmp_path / "sale.ndjson", recipient="broker", purpose="sale")
    lines = [json.loads(x) for x in (tmp_path / "sale.ndjson").read_text().splitlines()]
    assert sale["excluded_do_not_sell"] == 1 and {r["customer"] for r in lines} == {"c1", "c3"}
    processor = export.share_activities(store, tmp_path / "sp.ndjson", recipient="warehouse", purpose="service_provider")
    assert processor["actors"] == 3
    report = disclosure.disclosure_report(store, "c1")
    assert [r["recipient"] for r in report["recipients"]] == ["broker", "warehouse"]
    assert [r["recipient"] for r in disclosure.disclosure_report(store, "c2")["recipients"]] == ["warehouse"]
    held = {c["category"]: c["held"] for c in report["categories"]}
    assert held["commercial"] and held["activity"] and not held["links"]
    assert report["date_range"] == {"first": "2026-01-01T00:00:00", "last": "2026-01-01T00:00:00"}


def test_portability_export_holds_everything_in_one_file(store, tmp_path):
    ingest_records(store, [event("page_viewed", "2026-01-01T00:00:00Z", None, 1, anonymous_customer_id="a1"),
                           event("user_signed_up", "2026-01-02T00:00:00Z", "c1", 2, anonymous_customer_id="a1"),
                           event("page_viewed", "nope", "c1", 3), event("page_viewed", "2026-01-02T00:00:00Z", "c2", 4)], now=NOW)
    consent.record_consent(store, "c1", {"marketing": False}, now=NOW)
    summary = export.export_customer(store, "c1", tmp_path / "c1.json")
    doc = json.loads((tmp_path / "c1.json").read_text())
    assert summary["activities"] == 3 and len(doc["rejected_activities"]) == 1
    assert doc["identities"]["anonymous_customer_ids"] == ["a1"] and doc["consent"]["marketing"]["value"] is False
    assert {a["customer"] for a in doc["activities"]} == {"c1"} and doc["tables"]["identity_map"][0]["customer"] == "c1"
    export.export_customer(store, "c1", tmp_path / "c1.ndjson", fmt="ndjson")
    kinds = [json.loads(x)["record_type"] for x in (tmp_path / "c1.ndjson").read_text().splitlines()]
    assert kinds[0] == "header" and kinds.count("activity") == 3 and kinds.count("rejected_activity") == 1


def test_retention_dry_run_reports_exactly_what_apply_removes(store):
    now = datetime(2026, 6, 1)
    recs = [event("claude_tool_call", (now - timedelta(days=d)).isoformat(), "c1", d + 1) for d in (1, 89, 91, 200)]
    recs += [event("page_viewed", (now - timedelta(days=d)).isoformat(), "c1", 500 + d) for d in (1, 400)]
    ingest_records(store, recs, now=now)
    ingest_records(store, [event("claude_tool_call", "bad", "c1", 999)], now=now - timedelta(days=100))
    retention.set_policy(store, "claude_*", 90)
    retention.set_policy(store, "*", 365)
    dry = retention.apply(store, dry_run=True, now=now)
    assert (dry.events, dry.rejects) == (3, 1) and store.fetchone("SELECT count(*) FROM activities")[0] == 6
    done = retention.apply(store, now=now)
    assert (done.events, done.rejects) == (dry.events, dry.rejects) and done.by_activity == dry.by_activity
    left = sorted(r[0] for r in store.fetchall("SELECT activity_id FROM activities"))
    assert left == sorted([recs[0]["activity_id"], recs[1]["activity_id"], recs[4]["activity_id"]])
    assert helper_columns_correct(store)
    with pytest.raises(ValidationError, match="wildcards"):
        retention.set_policy(store, "Claude*; DROP", 3)


@settings(max_examples=10, deadline=None)
@given(ages=st.lists(st.tuples(st.sampled_from(["claude_a_b", "claude_c_d", "page_viewed"]), st.integers(0, 120),
                               st.sampled_from(["c1", "c2"])), min_size=1, max_size=25),
       claude_days=st.integers(1, 100), all_days=st.one_of(st.none(), st.integers(1, 100)))
def test_retention_removes_exactly_what_the_policy_says(ages, claude_days, all_days):
    now = datetime(2026, 6, 1)
    with DuckDBStore(":memory:") as s:
        recs = [event(a, (now - timedelta(days=d, hours=1)).isoformat(), c, i + 1) for i, (a, d, c) in enumerate(ages)]
        ingest_records(s, recs, now=now)
        retention.set_policy(s, "claude_*", claude_days)
        if all_days is not None:
            retention.set_policy(s, "*", all_days)

        def max_age(activity):
            limits = ([claude_days] if activity.startswith("claude_") else []) + ([all_days] if all_days else [])
            return min(limits) if limits else None

        keep = {r["activity_id"] for r, (a, d, _) in zip(recs, ages, strict=True)
                if max_age(a) is None or timedelta(days=d, hours=1) <= timedelta(days=max_age(a))}
        retention.apply(s, now=now)
        assert {r[0] for r in s.fetchall("SELECT activity_id FROM activities")} == keep
        assert helper_columns_correct(s)
