"""Right to erasure: after forget, no trace in any table or spool file, nothing comes back, others intact."""

from __future__ import annotations

import gzip
import json
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from activityschema.errors import NotFoundError
from activityschema.governance import audit, erasure, policies, suppression
from activityschema.ingest.importer import ingest_records
from activityschema.provenance import chain
from activityschema.store.duckdb import DuckDBStore
from tests.conftest import NOW, event
from tests.governance_support import MASTER_KEY, file_traces, helper_columns_correct, table_traces

TARGET, ANON, SHARED_ANON = "erase-me-7Q", "anon-erase-1Z", "anon-shared-2W"
KEEP_A, KEEP_B = "keep-a-3X", "keep-b-9K"
GONE = [TARGET, ANON]
LONGER_ID = TARGET + "x"  # another id that merely starts with the target's: not a mention


def scenario() -> list[dict]:
    """The target, its stitched anonymous id, an id linked to someone else, and two other customers."""
    return [
        event("page_viewed", "2026-01-01T00:00:00Z", None, 1, anonymous_customer_id=ANON),
        event("page_viewed", "2026-01-01T00:05:00Z", None, 2, anonymous_customer_id=ANON),
        event("user_signed_up", "2026-01-01T00:10:00Z", TARGET, 3, anonymous_customer_id=ANON,
              feature_json={"email": "target@example.com", "plan": "pro"}),
        event("page_viewed", "2026-01-02T00:00:00Z", TARGET, 4),
        event("order_completed", "2026-01-03T00:00:00Z", TARGET, 5, revenue_impact=42.0, link="https://shop.example/o/5"),
        event("page_viewed", "not-a-time", TARGET, 6),                                    # a reject of the target
        event("user_signed_up", "2026-01-01T00:00:00Z", KEEP_A, 7, anonymous_customer_id=SHARED_ANON,
              feature_json={"referred_by": TARGET, "email": "a@example.com"}),            # mentions the target
        event("page_viewed", "2026-01-04T00:00:00Z", TARGET, 8, anonymous_customer_id=SHARED_ANON),
        event("page_viewed", "2026-01-02T00:00:00Z", KEEP_A, 9),
        event("page_viewed", "2026-01-05T00:00:00Z", KEEP_A, 10),
        event("order_completed", "2026-01-06T00:00:00Z", KEEP_B, 11, revenue_impact=7.0),
        event("page_viewed", "later", KEEP_B, 12, feature_json={"note": f"met {TARGET} today"}),  # reject mentioning
        event("page_viewed", "2026-01-06T00:00:00Z", KEEP_B, 13, feature_json={"note": f"{LONGER_ID} is someone else"}),
    ]


def spool_setup(db_path) -> None:
    spool = db_path.parent / (db_path.name + ".spool")
    spool.mkdir()
    lines = [json.dumps(event("page_viewed", "2026-01-07T00:00:00Z", TARGET, 20)),
             json.dumps(event("page_viewed", "2026-01-07T00:00:00Z", KEEP_B, 21, feature_json={"friend": TARGET})),
             json.dumps(event("page_viewed", "2026-01-07T00:00:00Z", None, 22, anonymous_customer_id=ANON)),
             json.dumps(event("page_viewed", "2026-01-07T00:00:00Z", KEEP_A, 23))]
    (spool / "seg-000000000001-aaaaaaaaaaaa.ndjson").write_text("\n".join(lines) + "\n")
    (spool / "seg-000000000002-bbbbbbbbbbbb.ndjson").write_text(lines[0] + "\n" + lines[3][:20])  # last line torn
    archive = spool / "archive"
    archive.mkdir()
    (archive / "seg-000000000000-cccccccccccc.ndjson.gz").write_bytes(gzip.compress((lines[0] + "\n" + lines[3] + "\n").encode()))


def per_customer_tables(store: DuckDBStore) -> None:
    """Rows in the per-customer memory tables (insight atoms, context cache) for the target and others."""
    store.execute(
        "INSERT INTO insight_atoms (atom_id, customer_id, subject, metric, value, provenance_query_hash, ts) VALUES "
        f"('a1', '{TARGET}', 'orders', 'count', '3', 'h1', TIMESTAMP '2026-01-01'), "
        f"('a2', '{KEEP_A}', 'friend', 'name', '\"{TARGET}\"', 'h1', TIMESTAMP '2026-01-01')")
    store.execute("INSERT INTO context_cache (customer_id, context, updated_at, version) VALUES "
                  f"('{TARGET}', '{{\"plan\": \"pro\"}}', TIMESTAMP '2026-01-01', 1), "
                  f"('{KEEP_A}', '{{}}', TIMESTAMP '2026-01-01', 1)")


@pytest.fixture
def loaded(tmp_path, monkeypatch):
    monkeypatch.setenv("ACTIVITYSCHEMA_MASTER_KEY", MASTER_KEY)
    db = tmp_path / "gov.duckdb"
    store = DuckDBStore(db)
    policies.set_policy(store, "encrypt_keys", ["email"])
    report = ingest_records(store, scenario(), now=NOW)
    assert report.reconciles and report.rejected == 2
    chain.record(store, template_name="customer_events", query_text="SELECT 1", params={"customer": TARGET}, created_by="t", now=NOW)
    per_customer_tables(store)
    spool_setup(db)
    yield store, db
    store.close()


def others(store):
    return store.fetch_dicts("SELECT activity_id, ts, activity, customer, anonymous_customer_id, revenue_impact, link, "
                             "activity_occurrence, activity_repeated_at FROM activities ORDER BY activity_id")


def test_forget_leaves_no_trace_in_any_table_or_spool_file(loaded):
    store, db = loaded
    assert table_traces(store, GONE) and file_traces(db.parent / "gov.duckdb.spool", GONE)
    report = erasure.forget(store, TARGET, actor="test", reason="ticket-1")
    assert table_traces(store, GONE, ignore=(LONGER_ID,)) == []
    assert file_traces(db.parent / "gov.duckdb.spool", GONE) == []
    assert report.complete and report.anonymous_ids == 1
    assert report.deleted["activities"] == 6 and report.deleted["insight_atoms"] == 1 and report.deleted["context_cache"] == 1
    assert report.deleted["rejected_activities"] == 1 and report.deleted["identity_map"] == 1
    assert report.keys_destroyed == 1 and report.suppressed == 2
    assert report.spool["lines_blanked"] == 4 and report.spool["lines_masked"] == 1 and report.spool["pending_lines"] == 0
    assert audit.verify(store).ok


def test_forget_keeps_other_customers_and_their_helper_columns(loaded):
    store, _ = loaded
    before = [r for r in others(store) if r["customer"] in (KEEP_A, KEEP_B)]
    erasure.forget(store, TARGET)
    after = others(store)
    assert {r["customer"] for r in after} == {KEEP_A, KEEP_B}
    assert after == before
    assert helper_columns_correct(store)
    features = dict(store.fetchall("SELECT activity_id, CAST(feature_json AS VARCHAR) FROM activities"))
    assert json.loads(features[before[0]["activity_id"]])["referred_by"].startswith("hmac:")
    assert f"{LONGER_ID} is someone else" in "".join(features.values())                  # a longer id is not a mention
    assert store.fetchone("SELECT customer FROM identity_map WHERE anonymous_customer_id = ?", [SHARED_ANON])[0] == KEEP_A
    assert store.fetchone("SELECT count(*) FROM insight_atoms WHERE customer_id = ?", [KEEP_A])[0] == 1
    params = json.loads(store.fetchone("SELECT CAST(parameters AS VARCHAR) FROM provenance_chain")[0])
    assert params["customer"].startswith("hmac:")


def test_reingested_and_replayed_events_are_refused_as_suppressed(loaded):
    store, db = loaded
    erasure.forget(store, TARGET)
    count = store.fetchone("SELECT count(*) FROM activities")[0]
    mine = [e for e in scenario() if TARGET in (e.get("customer"), e.get("anonymous_customer_id")) or e.get("anonymous_customer_id") == ANON]
    report = ingest_records(store, mine, now=NOW, per_record=True)
    assert report.reconciles and report.accepted == 0 and report.reasons["suppressed"] == len(mine)
    new_event = event("page_viewed", "2026-02-01T00:00:00Z", None, 99, anonymous_customer_id=ANON)
    assert ingest_records(store, [new_event], now=NOW).reasons["suppressed"] == 1
    spooled = (db.parent / "gov.duckdb.spool" / "seg-000000000001-aaaaaaaaaaaa.ndjson").read_text().splitlines()
    replay = ingest_records(store, spooled, now=NOW)
    assert replay.accepted == 2 and replay.reasons["suppressed"] == 2
    assert store.fetchone("SELECT count(*) FROM activities")[0] == count + 2
    assert table_traces(store, GONE, ignore=(LONGER_ID,)) == []


def test_unsuppress_is_explicit_and_audited(loaded):
    store, _ = loaded
    erasure.forget(store, TARGET)
    with pytest.raises(NotFoundError):
        suppression.unsuppress(store, KEEP_A, actor="dpo", reason="mistake")
    assert suppression.unsuppress(store, TARGET, actor="dpo", reason="customer came back") == 2
    assert ingest_records(store, [event("page_viewed", "2026-03-01T00:00:00Z", TARGET, 100)], now=NOW).accepted == 1
    entries = audit.list_entries(store, action="unsuppress")
    assert entries[0]["actor"] == "dpo" and entries[0]["subject"].startswith("hmac:")
    assert audit.verify(store).ok


def test_forget_twice_and_unknown_customer_are_harmless(loaded):
    store, _ = loaded
    erasure.forget(store, TARGET)
    again = erasure.forget(store, TARGET)
    assert again.complete and not again.deleted
    unknown = erasure.forget(store, "never-seen-5")
    assert not unknown.found and unknown.complete
    assert suppression.suppression_of(store, "never-seen-5")["reason"] == "erased"


def test_compaction_removes_old_bytes_from_the_file(loaded):
    from activityschema.store.compact import compact_store
    store, db = loaded
    store.execute("CHECKPOINT")
    erasure.forget(store, TARGET)
    store.close()
    compact_store(db)
    assert re.search(re.escape(TARGET).encode() + b"(?!x)", db.read_bytes()) is None
    reopened = DuckDBStore(db)
    assert reopened.fetchone("SELECT count(*) FROM activities WHERE customer = ?", [KEEP_A])[0] == 3
    assert audit.verify(reopened).ok
    reopened.close()


ids = st.sampled_from(["cust-alpha", "cust-beta", "cust-gamma", "cust-delta"])
anons = st.sampled_from(["anon-one", "anon-two", "anon-three", None])


@st.composite
def streams(draw):
    n = draw(st.integers(3, 25))
    out = []
    for i in range(n):
        customer, anon = draw(st.one_of(ids, st.none())), draw(anons)
        if customer is None and anon is None:
            customer = "cust-alpha"
        out.append(event(draw(st.sampled_from(["page_viewed", "item_added"])),
                         f"2026-01-01T00:{draw(st.integers(0, 5)):02d}:00Z", customer, i + 1,
                         **({"anonymous_customer_id": anon} if anon else {})))
    return out


@settings(max_examples=8, deadline=None)
@given(stream=streams(), victim=ids)
def test_forget_on_random_streams(stream, victim):
    """Property: no trace of the erased ids, everyone else's rows unchanged, helper columns exact."""
    with DuckDBStore(":memory:") as store:
        ingest_records(store, stream, now=NOW)
        with store.write() as con:
            gone = erasure.linked_ids(con, victim)
        keep = [r for r in others(store) if r["customer"] not in gone and not (r["customer"] is None and r["anonymous_customer_id"] in gone)]
        erasure.forget(store, victim)
        assert table_traces(store, gone) == []
        after = others(store)
        assert [dict(r, anonymous_customer_id=None) for r in after] == [dict(r, anonymous_customer_id=None) for r in keep]
        assert all(r["anonymous_customer_id"] not in gone for r in after)
        assert helper_columns_correct(store)
