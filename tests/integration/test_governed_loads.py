"""Governance at ingest on both backends: suppression, consent opt-outs and opt-ins, and the
rejects commands, give the same answers on DuckDB and on Snowflake (fakesnow).

On Snowflake the ingest checks run in the local validation DuckDB; ``ingest/snowflake_governance.py``
fills it from the warehouse first and writes back what the checks changed, which is what these
tests exercise: the second batch must see the opt-out the first one recorded, and an erasure
recorded in the warehouse must refuse a returning customer.
"""

from __future__ import annotations

import json
from datetime import datetime

import pytest

from activityschema.errors import UnsupportedFeature
from activityschema.governance import keys
from activityschema.ingest.importer import ingest_records
from activityschema.ingest.rejects import export_rejects, list_rejects, resubmit_rejects
from tests.conftest import NOW, event, uid

SECRET = bytes(range(32))  # a fixed keyed-hash secret, put into the store by the test


def _put_secret_and_erasure(store, customer: str) -> None:
    """What an erasure leaves behind: the store's secret and the customer's keyed hash, erased."""
    subject = keys.keyed_hash(SECRET, customer)
    if store.dialect == "duckdb":
        with store.write() as con:
            con.execute("INSERT INTO governance_secrets VALUES ('keyed_hash', ?, NULL, ?)", [SECRET, NOW])
            con.execute("INSERT INTO suppressions VALUES (?, ?, 'customer', 'erased', ?, 'test')", [subject, subject, NOW])
        return
    with store.write() as s:
        s.execute("INSERT INTO governance_secrets SELECT 'keyed_hash', TO_BINARY(?, 'HEX'), NULL, CAST(? AS TIMESTAMP_NTZ)",
                  [SECRET.hex(), NOW])
        s.execute("INSERT INTO suppressions SELECT ?, ?, 'customer', 'erased', CAST(? AS TIMESTAMP_NTZ), 'test'",
                  [subject, subject, NOW])


def test_an_erased_customer_is_refused_on_both_backends(any_store):
    _put_secret_and_erasure(any_store, "gone")
    batch = [event("page_viewed", "2026-05-01T00:00:00", "gone", 1), event("page_viewed", "2026-05-01T00:00:00", "c1", 2),
             event("page_viewed", "2026-05-01T00:01:00", None, 3, anonymous_customer_id="a1")]
    report = ingest_records(any_store, batch, now=NOW)
    assert (report.accepted, report.rejected, dict(report.reasons)) == (2, 1, {"suppressed": 1})
    payload = json.loads(any_store.fetchone("SELECT payload FROM rejected_activities")[0])
    assert payload == {"redacted": "suppressed", "activity_id": uid(1), "subject": keys.keyed_hash(SECRET, "gone")[:32]}
    # an anonymous id later linked to the erased customer is refused too
    link = ingest_records(any_store, [event("signed_up", "2026-05-01T00:02:00", "gone", 4, anonymous_customer_id="a1")],
                          now=NOW)
    assert link.reasons == {"suppressed": 1}


def test_consent_opt_out_and_opt_in_carry_across_batches(any_store):
    first = ingest_records(any_store, [
        event("consent_updated", "2026-05-01T00:00:00", "c2", 1, feature_json={"tracking": False}),
        event("page_viewed", "2026-05-01T00:01:00", "c2", 2), event("page_viewed", "2026-05-01T00:01:00", "c1", 3)],
        now=NOW)
    assert (first.accepted, dict(first.reasons)) == (2, {"opted_out": 1})
    assert any_store.fetchall("SELECT kind, reason FROM suppressions") == [("customer", "opted_out")]
    second = ingest_records(any_store, [event("page_viewed", "2026-05-02T00:00:00", "c2", 4),
                                        event("page_viewed", "2026-05-02T00:00:00", "c3", 5)], now=NOW)
    assert (second.accepted, dict(second.reasons)) == (1, {"opted_out": 1})  # the warehouse kept the opt-out
    back = ingest_records(any_store, [event("consent_updated", "2026-05-03T00:00:00", "c2", 6,
                                            feature_json={"tracking": True})], now=NOW)
    assert back.accepted == 1 and any_store.fetchall("SELECT count(*) FROM suppressions") == [(0,)]
    again = ingest_records(any_store, [event("page_viewed", "2026-05-04T00:00:00", "c2", 7)], now=NOW)
    assert again.accepted == 1


def test_encryption_at_ingest_is_refused_on_snowflake_not_stored_in_clear(any_store):
    if any_store.dialect == "duckdb":
        pytest.skip("DuckDB encrypts at ingest (tests/integration/test_field_encryption.py)")
    with any_store.write() as s:
        s.execute("INSERT INTO governance_policies SELECT 'encrypt_keys', '[\"email\"]', CAST(? AS TIMESTAMP_NTZ), 'test'",
                  [NOW])
    with pytest.raises(UnsupportedFeature, match="encrypt_keys"):
        ingest_records(any_store, [event("page_viewed", "2026-05-01T00:00:00", "c1", 1, feature_json={"email": "x"})],
                       now=NOW)
    assert any_store.fetchall("SELECT count(*) FROM activities") == [(0,)]


def test_rejects_list_export_and_resubmit_on_both_backends(any_store, tmp_path):
    ingest_records(any_store, [
        event("page_viewed", "2026-05-01T00:00:00", "c1", 1),
        {"activity": "Not An Activity", "ts": "2026-05-01T00:00:00", "customer": "c2", "activity_id": uid(2)},
        {"activity": "page_viewed", "ts": "not a time", "customer": "c3", "activity_id": uid(3)}], now=NOW)
    listed = list_rejects(any_store)
    assert sorted(r["reason_codes"][0] for r in listed) == ["invalid_activity", "invalid_ts"]
    assert [r["activity_id"] for r in list_rejects(any_store, reason="invalid_activity")] == [uid(2)]
    out = tmp_path / "rejects.ndjson"
    assert export_rejects(any_store, out, reason="invalid_activity") == 1
    line = json.loads(out.read_text())
    assert line["reasons"][0]["code"] == "invalid_activity"
    line["record"]["activity"] = "page_viewed"
    out.write_text(json.dumps(line) + "\n")
    report = resubmit_rejects(any_store, out)
    assert (report.accepted, report.rejected) == (1, 0)
    assert [r["reject_id"] for r in list_rejects(any_store, status="resubmitted")] == [line["reject_id"]]
    assert [r["activity_id"] for r in list_rejects(any_store)] == [uid(3)]


def test_rejects_list_has_the_same_columns_on_both_backends(any_store):
    ingest_records(any_store, ["{oops"], now=datetime(2026, 5, 1))
    (row,) = list_rejects(any_store)
    assert list(row) == ["reject_id", "received_at", "source", "reason_codes", "activity_id", "payload"]
    assert row["reason_codes"] == ["invalid_json"] and row["payload"] == "{oops"
