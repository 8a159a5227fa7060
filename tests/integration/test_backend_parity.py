"""The ingestion suite on both backends: DuckDB and Snowflake (fakesnow) give identical results.

Each ``any_store`` test runs once per backend with the same assertions; the cross-backend tests
load the same batches into both stores and compare every stored column. The rest of the ingestion
suite runs on both backends in its own modules (test_import.py, test_helper_columns.py,
test_merge_incremental.py), so conflicts, in-batch duplicates, hostile values, stitching, late events,
ties and the full-recompute property are not repeated here.
"""

from __future__ import annotations

import json
from datetime import datetime

from activityschema.ingest.importer import import_file, ingest_records
from tests.backends import as_list, open_test_store
from tests.conftest import NOW, event, uid

ROWS_SQL = """
SELECT activity_id, ts, activity, customer, anonymous_customer_id, feature_json, revenue_impact, link,
       activity_occurrence, activity_repeated_at, _content_hash
FROM activities ORDER BY activity_id
"""
GOOD = [event("visited_page", f"2026-01-0{d}T10:00:00Z", "c1", d) for d in range(1, 6)]


def count(store, sql="SELECT count(*) FROM activities"):
    return store.fetchone(sql)[0]


def rows(store):
    return [(*r[:5], json.loads(r[5]) if r[5] else None, *r[6:]) for r in store.fetchall(ROWS_SQL)]


def test_counts_reconcile_and_rejects_keep_reasons(any_store):
    report = ingest_records(any_store, GOOD + [{"activity": "Bad Name", "ts": "x"}, "{not json", "[1,2]"], now=NOW)
    assert (report.submitted, report.accepted, report.duplicate, report.rejected) == (8, 5, 0, 3)
    assert report.reconciles and report.reasons["invalid_json"] == 2
    codes = sorted(tuple(as_list(r[0])) for r in any_store.fetchall("SELECT reason_codes FROM rejected_activities"))
    assert codes == [("invalid_json",), ("invalid_json",), ("invalid_ts", "invalid_activity")]


def test_reload_is_idempotent_including_rejects(any_store):
    ingest_records(any_store, GOOD + ["{not json"], now=NOW)
    before = rows(any_store)
    again = ingest_records(any_store, GOOD + ["{not json"], now=NOW)
    assert (again.accepted, again.duplicate, again.rejected) == (0, 5, 1)
    assert rows(any_store) == before
    assert count(any_store, "SELECT count(*) FROM rejected_activities") == 1


def test_named_parameters_work_on_both_backends(any_store):
    ingest_records(any_store, GOOD, now=NOW)
    sql = "SELECT count(*) FROM activities WHERE activity = $activity AND ts >= $since AND customer = $customer"
    params = {"activity": "visited_page", "since": datetime(2026, 1, 3), "customer": "c1"}
    assert any_store.fetchone(sql, params) == (3,)


def test_file_import_with_derived_ids_is_idempotent(any_store, tmp_path):
    recs = [{"activity_id": f"src-{i}", "ts": "2026-01-01T00:00:00Z", "activity": "user_signup", "customer": f"c{i}"}
            for i in range(3)]
    path = tmp_path / "e.ndjson"
    path.write_text("".join(json.dumps(r) + "\n" for r in recs) + "{broken\n")
    assert import_file(any_store, path, now=NOW).rejected == 4
    first = import_file(any_store, path, now=NOW, derive_ids=True)
    second = import_file(any_store, path, now=NOW, derive_ids=True)
    assert (first.accepted, first.rejected, second.accepted, second.duplicate) == (3, 1, 0, 3)
    assert count(any_store, "SELECT count(*) FROM rejected_activities") == 4


def test_csv_import_applies_the_same_rules(any_store, tmp_path):
    csv = tmp_path / "e.csv"
    csv.write_text(
        "activity_id,ts,activity,customer,revenue_impact,feature_json\n"
        f"{uid(1)},2026-01-01T00:00:00Z,order_completed,c1,12.5,\"{{\"\"plan\"\": \"\"pro\"\"}}\"\n"
        f"{uid(2)},2026-01-02T00:00:00Z,order_completed,c1,abc,\n"
    )
    report = import_file(any_store, csv, now=NOW)
    assert (report.accepted, report.rejected) == (1, 1)
    assert any_store.fetchone("SELECT revenue_impact, feature_json->>'plan' FROM activities") == (12.5, "pro")


BATCHES = [
    [event("visited_page", "2026-01-01T00:00:00Z", None, 1, anonymous_customer_id="a1", feature_json={"p": "/"}),
     event("visited_page", "2026-01-02T00:00:00Z", None, 2, anonymous_customer_id="a1"),
     event("order_completed", "2026-01-02T12:00:00Z", "c1", 3, revenue_impact=-4.5, link="https://x.example/o/1"),
     {"activity": "Bad", "ts": "x"}],
    [event("signed_up", "2026-01-03T00:00:00Z", "c1", 4, anonymous_customer_id="a1"),
     event("order_completed", "2026-01-01T00:00:00Z", "c1", 5, revenue_impact=3),
     {**event("order_completed", "2026-01-02T12:00:00Z", "c1", 3), "revenue_impact": 1}],
    [event("visited_page", "2026-01-04T00:00:00Z", None, 6, anonymous_customer_id="a1"),
     event("visited_page", "2026-01-04T00:00:00Z", None, 7, anonymous_customer_id="a2"),
     event("visited_page", "2026-01-04T00:00:00Z", None, 8)],
]


def test_same_batches_store_identical_rows_on_both_backends(tmp_path):
    with open_test_store("duckdb", tmp_path) as duck, open_test_store("snowflake", tmp_path) as snow:
        for batch in BATCHES:
            a = ingest_records(duck, batch, now=NOW, per_record=True)
            b = ingest_records(snow, batch, now=NOW, per_record=True)
            assert a.to_dict() | {"batch_id": None} == b.to_dict() | {"batch_id": None} | {
                "results": _with_ids(b.results, a.results)}
            assert sorted(a.touched_actors) == sorted(b.touched_actors)
        assert rows(duck) == rows(snow)
        for sql in ("SELECT anonymous_customer_id, customer, linked_at, first_seen_ts, activity_id FROM identity_map",
                    "SELECT payload, payload_hash, reasons, source, received_at, status FROM rejected_activities ORDER BY payload_hash",
                    "SELECT source, submitted, accepted, duplicate, rejected, started_at FROM load_batches ORDER BY accepted, submitted",
                    "SELECT actor, touched_at FROM touched_actors ORDER BY actor"):
            assert duck.fetchall(sql) == snow.fetchall(sql), sql


def _with_ids(results, reference_results):
    # Rejected records without an id get a fresh random UUID on each backend; compare the rest.
    return [{**r, "activity_id": ref["activity_id"]} if r["status"] == "rejected" and r["activity_id"] != ref["activity_id"]
            else r for r, ref in zip(results, reference_results, strict=True)]
