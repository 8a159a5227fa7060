"""Group commit: concurrent submissions share merges, and each caller gets exactly its own results."""

from __future__ import annotations

import threading

from activityschema.ingest.group_commit import GroupCommitter
from tests.conftest import event, uid


def test_concurrent_callers_get_their_own_reconciled_results(store):
    committer = GroupCommitter(store, max_batch=40)
    reports, barrier = {}, threading.Barrier(6)

    def submit(n):
        records = [event("visited_page", "2026-01-01T00:00:00Z", f"c{n}", n * 100 + i) for i in range(10)]
        records.append({"activity": "Not Valid"})
        records.append(event("visited_page", "2026-01-01T00:00:00Z", "shared", 999_999))  # same record for all
        barrier.wait()
        reports[n] = committer.submit(records, source="test")

    threads = [threading.Thread(target=submit, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for n, report in reports.items():
        assert report.submitted == 12 and report.reconciles
        assert [r["index"] for r in report.results] == list(range(12))
        assert [r["activity_id"] for r in report.results[:10]] == [uid(n * 100 + i) for i in range(10)]
        assert report.results[10]["status"] == "rejected" and report.reasons["invalid_activity"] == 1
    shared = [report.results[11]["status"] for report in reports.values()]
    assert shared.count("accepted") == 1 and shared.count("duplicate") == 5
    assert store.fetchone("SELECT count(*) FROM activities")[0] == 61


def test_failures_reach_every_waiter(store):
    committer = GroupCommitter(store)
    store.close()
    try:
        committer.submit([event("visited_page", "2026-01-01T00:00:00Z")], source="test")
    except Exception as exc:  # the closed connection's error, not a hang
        assert "closed" in str(exc).lower() or "connection" in str(exc).lower()
    else:
        raise AssertionError("expected the merge to fail")
