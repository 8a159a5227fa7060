"""Bulk import: formats, rejects with reasons, dedup, conflicts, idempotency, reconciliation.

Every test runs on both backends (DuckDB, and Snowflake through the fakesnow emulator, one emulator
per module) with the same expected results: ``store`` here is ``backend_store`` (tests/backends.py).
"""

from __future__ import annotations

import json

import duckdb
import pytest

from activityschema.errors import ValidationError
from activityschema.ingest.importer import import_file, ingest_records
from activityschema.ingest.rejects import export_rejects, list_rejects, resubmit_rejects
from tests.conftest import NOW, event, uid


@pytest.fixture
def store(backend_store):
    return backend_store


def write_ndjson(path, records, extra_lines=()):
    with open(path, "w") as fh:
        for r in records:
            fh.write(json.dumps(r) + "\n")
        for line in extra_lines:
            fh.write(line + "\n")
    return path


def count(store, sql="SELECT count(*) FROM activities"):
    return store.fetchone(sql)[0]


GOOD = [event("visited_page", f"2026-01-0{d}T10:00:00Z", "c1", d) for d in range(1, 6)]


def test_ndjson_import_counts_reconcile_and_rejects_keep_reasons(store, tmp_path):
    path = write_ndjson(tmp_path / "e.ndjson", GOOD + [{"activity": "Bad Name", "ts": "x"}], ["{not json", "", "[1,2]"])
    report = import_file(store, path, now=NOW)
    assert (report.submitted, report.accepted, report.duplicate, report.rejected) == (8, 5, 0, 3)
    assert report.reconciles
    rejects = {tuple(r["reason_codes"]) for r in list_rejects(store)}
    assert rejects == {("invalid_ts", "invalid_activity"), ("invalid_json",)}
    assert report.reasons["invalid_json"] == 2


def test_reimport_is_idempotent_including_rejects(store, tmp_path):
    path = write_ndjson(tmp_path / "e.ndjson", GOOD, ["{not json"])
    import_file(store, path, now=NOW)
    before = store.fetchall("SELECT * EXCLUDE (_loaded_at) FROM activities ORDER BY activity_id")
    again = import_file(store, path, now=NOW)
    assert (again.accepted, again.duplicate, again.rejected) == (0, 5, 1)
    assert store.fetchall("SELECT * EXCLUDE (_loaded_at) FROM activities ORDER BY activity_id") == before
    assert count(store, "SELECT count(*) FROM rejected_activities") == 1


def test_conflict_never_overwrites_the_first_write(store):
    first = event("order_completed", "2026-01-01T00:00:00Z", "c1", 1, revenue_impact=10)
    second = {**first, "revenue_impact": 99}
    ingest_records(store, [first], now=NOW)
    report = ingest_records(store, [second, first], now=NOW, per_record=True)
    assert [r["status"] for r in report.results] == ["rejected", "duplicate"]
    assert report.results[0]["reasons"][0]["code"] == "conflict"
    assert store.fetchone("SELECT revenue_impact FROM activities")[0] == 10
    assert count(store, "SELECT count(*) FROM rejected_activities WHERE status = 'open'") == 1


def test_in_batch_duplicates_and_conflicts(store):
    a = event("order_completed", "2026-01-01T00:00:00Z", "c1", 1, revenue_impact=10)
    report = ingest_records(store, [a, dict(a), {**a, "revenue_impact": 5}], now=NOW, per_record=True)
    assert [r["status"] for r in report.results] == ["accepted", "duplicate", "rejected"]
    assert count(store) == 1


def test_csv_and_parquet_are_held_to_the_same_rules(store, tmp_path):
    csv = tmp_path / "e.csv"
    csv.write_text(
        "activity_id,ts,activity,customer,revenue_impact,feature_json\n"
        f"{uid(1)},2026-01-01T00:00:00Z,order_completed,c1,12.5,\"{{\"\"plan\"\": \"\"pro\"\"}}\"\n"
        f"{uid(2)},2026-01-02T00:00:00Z,order_completed,c1,abc,\n"
        f"{uid(3)},not-a-date,order_completed,,,\n"
    )
    report = import_file(store, csv, now=NOW)
    assert (report.accepted, report.rejected) == (1, 2)
    assert store.fetchone("SELECT revenue_impact, feature_json->>'plan' FROM activities")[0:2] == (12.5, "pro")
    pq = tmp_path / "e.parquet"
    duckdb.sql(
        f"COPY (SELECT '{uid(4)}' AS activity_id, TIMESTAMP '2026-01-03 00:00:00' AS ts, 'order_completed' AS activity, "
        f"'c2' AS customer, 3 AS revenue_impact, {{'plan': 'free'}} AS feature_json) TO '{pq}' (FORMAT parquet)"
    )
    report = import_file(store, pq, now=NOW)
    assert report.accepted == 1
    assert store.fetchone(f"SELECT feature_json->>'plan' FROM activities WHERE activity_id = '{uid(4)}'")[0] == "free"


def test_csv_unknown_column_is_rejected_by_name(store, tmp_path):
    csv = tmp_path / "e.csv"
    csv.write_text("ts,activity,colour\n2026-01-01,user_signup,red\n")
    report = import_file(store, csv, now=NOW)
    assert report.rejected == 1 and report.reasons["unknown_field"] == 1


def test_derived_ids_make_reimport_idempotent(store, tmp_path):
    recs = [{"activity_id": f"src-{i}", "ts": "2026-01-01T00:00:00Z", "activity": "user_signup", "customer": f"c{i}"} for i in range(3)]
    recs.append({"ts": "2026-01-01T00:00:00Z", "activity": "user_signup", "customer": "noid"})
    path = write_ndjson(tmp_path / "e.ndjson", recs)
    assert import_file(store, path, now=NOW).rejected == 3  # non-UUID ids without --derive-ids
    first = import_file(store, path, now=NOW, derive_ids=True)
    second = import_file(store, path, now=NOW, derive_ids=True)
    assert (first.accepted, second.accepted, second.duplicate) == (4, 0, 4)


def test_unreadable_inputs_give_clear_errors(store, tmp_path):
    with pytest.raises(ValidationError, match="does not exist"):
        import_file(store, tmp_path / "missing.ndjson")
    with pytest.raises(ValidationError, match="Cannot tell the format"):
        import_file(store, tmp_path / "x.xlsx")
    bad = tmp_path / "bad.parquet"
    bad.write_bytes(b"not parquet")
    with pytest.raises(ValidationError, match="Cannot read"):
        import_file(store, bad)
    assert count(store) == 0


def test_rejects_export_fix_resubmit(store, tmp_path):
    ingest_records(store, [event("Order Completed", "2026-01-01T00:00:00Z", "c1", 1)], now=NOW)
    out = tmp_path / "rejects.ndjson"
    assert export_rejects(store, out) == 1
    item = json.loads(out.read_text())
    item["record"]["activity"] = "order_completed"
    out.write_text(json.dumps(item) + "\n")
    report = resubmit_rejects(store, out)
    assert report.accepted == 1
    assert list_rejects(store) == []
    assert list_rejects(store, status="resubmitted")[0]["reject_id"] == item["reject_id"]


def test_hostile_values_are_stored_as_data(store):
    evil = "c1'); DROP TABLE activities; --"
    report = ingest_records(store, [event("user_signup", "2026-01-01T00:00:00Z", evil, 1, feature_json={"q": "' OR 1=1 --"})], now=NOW)
    assert report.accepted == 1
    assert store.fetchone("SELECT customer, feature_json->>'q' FROM activities") == (evil, "' OR 1=1 --")


def test_stitching_moves_anonymous_history_to_the_customer(store):
    ingest_records(store, [
        event("visited_page", "2026-01-01T00:00:00Z", None, 1, anonymous_customer_id="anon1"),
        event("visited_page", "2026-01-02T00:00:00Z", None, 2, anonymous_customer_id="anon1"),
        event("visited_page", "2026-01-02T12:00:00Z", "c1", 3),
    ], now=NOW)
    report = ingest_records(store, [event("signup_started", "2026-01-03T00:00:00Z", "c1", 4, anonymous_customer_id="anon1")], now=NOW)
    assert report.touched_actors == ["c1"]
    rows = store.fetchall("SELECT activity_id, customer, activity_occurrence FROM activities WHERE activity = 'visited_page' ORDER BY ts")
    assert [(r[1], r[2]) for r in rows] == [("c1", 1), ("c1", 2), ("c1", 3)]
    assert store.fetchall("SELECT anonymous_customer_id, customer FROM identity_map") == [("anon1", "c1")]
    # later anonymous-only events of a linked id take the customer too
    ingest_records(store, [event("visited_page", "2026-01-04T00:00:00Z", None, 5, anonymous_customer_id="anon1")], now=NOW)
    assert store.fetchone(f"SELECT customer, activity_occurrence FROM activities WHERE activity_id = '{uid(5)}'") == ("c1", 4)


def test_first_identity_link_wins_by_time_with_subsecond_timestamps(store):
    # the later link (12:00:00.5) must not win over the earlier one (12:00:00) because of text order
    ingest_records(store, [
        event("signup_started", "2026-01-03T12:00:00.500Z", "late_customer", 2, anonymous_customer_id="anonX"),
        event("signup_started", "2026-01-03T12:00:00Z", "early_customer", 1, anonymous_customer_id="anonX"),
    ], now=NOW)
    assert store.fetchall("SELECT customer FROM identity_map WHERE anonymous_customer_id = 'anonX'") == [("early_customer",)]
