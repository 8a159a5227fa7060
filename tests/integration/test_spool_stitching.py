"""Identity stitching through logger → spool → loader (SEMANTICS §3)."""

from __future__ import annotations

from datetime import datetime

from activityschema.ingest.loader import Loader
from activityschema.ingest.logger import ActivityLogger
from tests.conftest import uid


def ev(n, activity, ts, customer=None, anon=None):
    rec = {"activity_id": uid(n), "activity": activity, "ts": ts}
    if customer:
        rec["customer"] = customer
    if anon:
        rec["anonymous_customer_id"] = anon
    return rec


def helper_rows(store, activity):
    return store.fetchall(
        "SELECT activity_id, customer, activity_occurrence, activity_repeated_at FROM activities "
        "WHERE activity = ? ORDER BY ts, activity_id", [activity])


def test_anonymous_history_joins_the_customer_when_identified_in_a_later_batch(tmp_path, store):
    spool_dir = tmp_path / "spool"
    with ActivityLogger(spool_dir) as logger:
        logger.log(ev(1, "visited_page", "2026-01-01T09:00:00Z", anon="anon-1"))
        logger.log(ev(2, "visited_page", "2026-01-01T10:00:00Z", anon="anon-1"))
        logger.log(ev(3, "visited_page", "2026-01-01T11:00:00Z", customer="cust-1"))
    Loader(store, spool_dir).run_once()
    assert [r[1:3] for r in helper_rows(store, "visited_page")] == [(None, 1), (None, 2), ("cust-1", 1)]
    with ActivityLogger(spool_dir) as logger:
        logger.log(ev(4, "signed_up", "2026-01-01T12:00:00Z", customer="cust-1", anon="anon-1"))
    Loader(store, spool_dir).run_once()
    rows = helper_rows(store, "visited_page")
    assert [r[1:3] for r in rows] == [("cust-1", 1), ("cust-1", 2), ("cust-1", 3)]
    assert [r[3] for r in rows] == [datetime(2026, 1, 1, 10), datetime(2026, 1, 1, 11), None]
    assert store.fetchall("SELECT anonymous_customer_id, customer, activity_id FROM identity_map") == [("anon-1", "cust-1", uid(4))]
    with ActivityLogger(spool_dir) as logger:  # later anonymous events of a linked id take the customer
        logger.log(ev(5, "visited_page", "2026-01-01T08:00:00Z", anon="anon-1"))
    Loader(store, spool_dir).run_once()
    assert [(r[0], r[1], r[2]) for r in helper_rows(store, "visited_page")][0] == (uid(5), "cust-1", 1)
    assert [r[2] for r in helper_rows(store, "visited_page")] == [1, 2, 3, 4]


def test_stitching_inside_one_batch_and_touched_actors_name_the_customer(tmp_path, store):
    spool_dir = tmp_path / "spool"
    with ActivityLogger(spool_dir) as logger:
        logger.log_many([ev(1, "visited_page", "2026-01-01T09:00:00Z", anon="anon-9"),
                         ev(2, "signed_up", "2026-01-01T10:00:00Z", customer="cust-9", anon="anon-9")])
    touched = []
    Loader(store, spool_dir, on_batch=lambda r: touched.extend(r.touched_actors)).run_once()
    assert "cust-9" in touched
    assert store.fetchone("SELECT customer FROM identity_map WHERE anonymous_customer_id = 'anon-9'") == ("cust-9",)
