"""The merge's partition summary (activity_partitions) and its incremental numbering.

Appends in time order continue a partition's numbering without renumbering it; late events renumber
only the partition's tail. Whatever the mix, after every batch the helper columns equal a full
recompute and the summary equals one derived from the stored rows.

Every test runs on both backends (DuckDB, and Snowflake through the fakesnow emulator, one emulator
per module). The partition summary is the DuckDB merge's own (the Snowflake merge renumbers a touched
partition from its rows and leaves ``activity_partitions`` empty), so on Snowflake only the helper
columns are checked.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from activityschema.ingest.importer import ingest_records

from tests.backends import fresh_store
from tests.conftest import NOW
from tests.integration import test_helper_columns as hc

BASE = datetime(2026, 1, 1)

SUMMARY_FROM_ROWS = """
SELECT coalesce(customer, anonymous_customer_id), activity, count(*), max(ts),
       arg_max(activity_id, (ts, activity_id))
FROM activities WHERE coalesce(customer, anonymous_customer_id) IS NOT NULL GROUP BY ALL ORDER BY ALL
"""
SUMMARY = "SELECT actor, activity, max_occurrence, last_ts, last_activity_id FROM activity_partitions ORDER BY ALL"


def check(store) -> None:
    rows = store.fetchall("SELECT activity_id, ts, activity, customer, anonymous_customer_id FROM activities")
    got = {r[0]: (r[1], r[2]) for r in
           store.fetchall("SELECT activity_id, activity_occurrence, activity_repeated_at FROM activities")}
    assert got == hc.reference(rows)
    if store.dialect == "duckdb":  # only the DuckDB merge maintains activity_partitions
        assert store.fetchall(SUMMARY) == store.fetchall(SUMMARY_FROM_ROWS)


@pytest.fixture
def store(backend_store):
    return backend_store


event_st = st.tuples(
    st.integers(-30, 30),                     # minutes from the batch's clock: late and in-order events
    st.sampled_from(["visited_page", "order_completed"]),
    st.sampled_from(["c1", "c2", None]),
    st.sampled_from(["a1", "a2", "a3", None]),
)


# (batches, events per batch) bounds per backend: fewer and smaller on Snowflake, where loads are slow.
PROPERTY_SIZES = {"duckdb": (6, 10), "snowflake": (3, 6)}
PROPERTY_SETTINGS = {"duckdb": settings(hc.PROPERTY_SETTINGS["duckdb"], max_examples=30),
                     "snowflake": hc.PROPERTY_SETTINGS["snowflake"]}


def test_summary_and_helper_columns_stay_exact(request, backend, tmp_path_factory):
    max_batches, max_events = PROPERTY_SIZES[backend]

    @PROPERTY_SETTINGS[backend]
    @given(st.lists(st.lists(event_st, min_size=1, max_size=max_events), min_size=1, max_size=max_batches),
           st.randoms(use_true_random=False))
    def prop(batches, rnd):
        with fresh_store(request, backend, tmp_path_factory.mktemp("m") / "m.duckdb") as store:
            sent = []
            for k, batch in enumerate(batches):
                recs = []
                for minute, activity, customer, anon in batch:
                    recs.append({"activity_id": str(uuid.UUID(int=rnd.getrandbits(128), version=4)),
                                 "ts": (BASE + timedelta(minutes=20 * k + minute)).isoformat(), "activity": activity,
                                 "customer": customer, "anonymous_customer_id": anon})
                if sent:  # a re-sent record is a duplicate and changes nothing
                    recs.append(rnd.choice(sent))
                sent.extend(recs)
                assert ingest_records(store, recs, now=NOW).reconciles
                check(store)

    prop()


def test_appends_in_time_order_continue_the_numbering(store):
    for day in range(3):
        ingest_records(store, [{"ts": f"2026-01-0{day + 1}T10:00:00Z", "activity": "visited_page",
                                "customer": "c1"} for _ in range(2)], now=NOW)
    occ = store.fetchall("SELECT activity_occurrence, activity_repeated_at IS NULL FROM activities "
                         "ORDER BY ts, activity_id")
    assert [o for o, _ in occ] == [1, 2, 3, 4, 5, 6]
    assert [last for _, last in occ] == [False] * 5 + [True]
    check(store)


def test_summary_is_rebuilt_after_another_writer_changes_the_rows(store):
    ingest_records(store, [{"ts": f"2026-01-01T10:0{i}:00Z", "activity": "visited_page", "customer": "c1"}
                           for i in range(4)], now=NOW)
    # Another writer (retention, erasure, migration) deletes the last event without the merge.
    store.execute("DELETE FROM activities WHERE ts = TIMESTAMP '2026-01-01 10:03:00'")
    ingest_records(store, [{"ts": "2026-01-01T11:00:00Z", "activity": "visited_page", "customer": "c1"}],
                   now=NOW)
    assert store.fetchall("SELECT activity_occurrence FROM activities ORDER BY ts") == [(1,), (2,), (3,), (4,)]
