"""The server runtime keeps memory fresh whoever loads the events."""

from __future__ import annotations

from activityschema.ingest.importer import ingest_records
from activityschema.interfaces.runtime import Runtime
from activityschema.memory.context import refresh_contexts
from tests.conftest import event


def test_loads_by_another_writer_mark_contexts_stale(store):
    ingest_records(store, [event("visited_page", "2026-01-01T00:00:00Z", "c1", 1)])
    rt = Runtime(store, env={}, max_staleness=60.0, background=False)
    try:
        assert rt.contexts.get("c1").context["event_count"] == 1
        # a writer that does not tell the runtime (an in-process loader): the poller notices its batch
        ingest_records(store, [event("visited_page", "2026-01-02T00:00:00Z", "c1", 2)])
        assert rt.poll_touched() == 1 and rt.poll_touched() == 0
        assert rt.contexts.get("c1").stale
        rt.contexts.refresh_pending()
        assert rt.contexts.get("c1").context["event_count"] == 2
    finally:
        rt.close()


def test_contexts_older_than_their_events_are_stale_at_start(store):
    ingest_records(store, [event("visited_page", "2026-01-01T00:00:00Z", "c1", 1)])
    refresh_contexts(store, ["c1"])
    ingest_records(store, [event("visited_page", "2026-01-02T00:00:00Z", "c1", 2)])  # while no server ran
    rt = Runtime(store, env={}, max_staleness=0.0, background=True)
    try:
        assert rt.contexts.get("c1").context["event_count"] == 2
    finally:
        rt.close()


def test_group_commit_sink_counts_and_notifies(store):
    rt = Runtime(store, env={}, background=False)
    try:
        report = rt.log_events([event("visited_page", "2026-01-01T00:00:00Z", "c1", 1), {"activity": "x"}],
                               source="test")
        assert (report.accepted, report.rejected) == (1, 1)
        assert rt.metrics.value("activityschema_events_ingested_total") == 1
        assert rt.metrics.value("activityschema_events_rejected_total") == 1
        assert rt.contexts.pending == 1  # c1's context is queued for a rebuild
    finally:
        rt.close()
