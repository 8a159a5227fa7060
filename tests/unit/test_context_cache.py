"""The in-process context cache: served from memory, stale-while-revalidate within a bound, refreshed
when loads report touched customers."""

from __future__ import annotations

from datetime import timedelta

import pytest

from activityschema.analytics.runner import Scope
from activityschema.errors import NotFoundError, PermissionDenied
from activityschema.ingest.importer import ingest_records
from activityschema.memory import atoms, context
from activityschema.memory.cache import ContextCache
from activityschema.provenance import chain
from tests.conftest import NOW, event


class Clock:
    """A hand-advanced monotonic clock (the cache takes its clock as an argument)."""

    def __init__(self):
        self.t = 1000.0

    def __call__(self):
        return self.t


@pytest.fixture
def cache(store):
    clock = Clock()
    ingest_records(store, [event("visited_page", "2026-01-01T00:00:00Z", "c1", 1)], now=NOW)
    c = ContextCache(store, max_staleness=5.0, background=False, clock=clock)
    c.clock = clock
    yield c
    c.close()


def test_reads_come_from_memory(cache, store):
    first = cache.get("c1")
    assert first.version == 1 and not first.stale and first.context["event_count"] == 1
    store.execute("DELETE FROM context_cache")  # memory answers without the table
    assert cache.get("c1").context == first.context
    assert cache.stats["hits"] == 1


def test_stale_while_revalidate_is_bounded(cache, store):
    cache.get("c1")
    report = ingest_records(store, [event("visited_page", "2026-01-02T00:00:00Z", "c1", 2)], now=NOW)
    cache.invalidate(report.touched_actors)
    stale = cache.get("c1")
    assert stale.stale and stale.version == 1 and stale.context["event_count"] == 1
    cache.clock.t += 5.0  # still within max_staleness: the old value, at once
    assert cache.get("c1").stale
    cache.clock.t += 0.5  # past the bound: the read rebuilds before answering
    fresh = cache.get("c1")
    assert not fresh.stale and fresh.version == 2 and fresh.context["event_count"] == 2
    assert cache.pending == 0


def test_background_revalidation_refreshes_queued_customers(cache, store):
    cache.get("c1")
    report = ingest_records(store, [event("visited_page", "2026-01-02T00:00:00Z", "c1", 2)], now=NOW)
    cache.invalidate(report.touched_actors)
    assert cache.get("c1").stale
    assert cache.refresh_pending() == 1
    view = cache.get("c1")
    assert not view.stale and view.context["event_count"] == 2


def test_a_refresh_by_another_writer_updates_memory(cache, store):
    cache.get("c1")
    ingest_records(store, [event("visited_page", "2026-01-02T00:00:00Z", "c1", 2)], now=NOW)
    context.refresh_contexts(store, ["c1"])  # what the loader calls with the actors a batch touched
    view = cache.get("c1")
    assert view.version == 2 and not view.stale and view.context["event_count"] == 2


def test_expired_insights_vanish_from_cached_context(cache, store):
    digest, _ = chain.record(store, template_name="t", query_text="SELECT 1", params={}, created_by="t", now=NOW)
    atom = atoms.record_atom(store, customer_id="c1", subject="s", metric="m", value=1, provenance_query_hash=digest,
                             ttl=60)
    cache.invalidate(["c1"])
    cache.refresh_pending()
    assert [i["metric"] for i in cache.get("c1").context["insights"]] == ["m"]
    later = atom.ts + timedelta(seconds=61)
    assert cache.get("c1", now=later).context["insights"] == []


def test_truncation_unknown_customers_scope_and_eviction(store):
    ingest_records(store, [event("visited_page", f"2026-01-0{i}T00:00:00Z", f"c{i}", i,
                                 feature_json={"n": "y" * 500}) for i in range(1, 4)], now=NOW)
    cache = ContextCache(store, background=False, max_entries=2)
    try:
        view = cache.get("c1", max_bytes=300)
        assert view.truncated and view.bytes <= 300 and view.context["_truncated"] == {"recent_activities": 1}
        with pytest.raises(NotFoundError):
            cache.get("nobody")
        with pytest.raises(PermissionDenied):
            cache.get("c2", scope=Scope(frozenset({"c1"})))
        cache.get("c2")
        cache.get("c3")
        assert list(cache._entries) == ["c2", "c3"]  # least recently used left first
    finally:
        cache.close()
