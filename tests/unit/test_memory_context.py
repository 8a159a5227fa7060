"""The customer context: its content, versions (optimistic concurrency) and byte-budget truncation."""

from __future__ import annotations

import json
import threading
from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from activityschema.errors import ConflictError, NotFoundError, ValidationError
from activityschema.ingest.importer import ingest_records
from activityschema.memory import atoms, context
from activityschema.memory.truncate import TRUNCATION_KEY, fit_context
from activityschema.provenance import chain
from activityschema.schema.jsonable import size_of
from tests.conftest import NOW, event


def test_context_summarises_activities_and_live_atoms(store):
    ingest_records(store, [
        event("visited_page", "2026-01-01T00:00:00Z", "c1", 1, revenue_impact=1.5),
        event("visited_page", "2026-01-03T00:00:00Z", "c1", 2, feature_json={"big": "x" * 5000}),
        event("bought_something", "2026-01-02T00:00:00Z", "c1", 3, revenue_impact=10),
        event("visited_page", "2026-01-05T00:00:00Z", "c2", 4),
    ], now=NOW)
    digest, _ = chain.record(store, template_name="t", query_text="SELECT 1", params={}, created_by="t", now=NOW)
    atoms.record_atom(store, customer_id="c1", subject="account", metric="ltv", value=11.5,
                      provenance_query_hash=digest, now=NOW)
    atoms.record_atom(store, customer_id="c1", subject="account", metric="gone", value=0,
                      provenance_query_hash=digest, ttl=1, now=NOW - timedelta(days=1))
    context.refresh_contexts(store, ["c1"], now=NOW)
    stored, ctx = context.read_context(store, "c1", now=NOW)
    assert stored.version == 1
    assert ctx["first_seen"] == "2026-01-01T00:00:00" and ctx["last_seen"] == "2026-01-03T00:00:00"
    assert ctx["event_count"] == 3 and ctx["revenue_total"] == 11.5
    assert ctx["activities"] == {"bought_something": {"count": 1, "last_ts": "2026-01-02T00:00:00"},
                                 "visited_page": {"count": 2, "last_ts": "2026-01-03T00:00:00"}}
    assert [r["activity_id"][-1] for r in ctx["recent_activities"]] == ["2", "3", "1"]
    assert ctx["recent_activities"][0]["feature_json"] == {"_omitted_bytes": size_of({"big": "x" * 5000})}
    assert [(i["metric"], i["value"]) for i in ctx["insights"]] == [("ltv", 11.5)]


def test_version_grows_only_on_change(store):
    ingest_records(store, [event("visited_page", "2026-01-01T00:00:00Z", "c1", 1)], now=NOW)
    context.refresh_contexts(store, ["c1"], now=NOW)
    assert context.refresh_contexts(store, ["c1"], now=NOW).unchanged == 1
    assert context.load_context(store, "c1").version == 1
    ingest_records(store, [event("visited_page", "2026-01-02T00:00:00Z", "c1", 2)], now=NOW)
    report = context.refresh_contexts(store, ["c1"], now=NOW)
    assert report.written == 1 and context.load_context(store, "c1").version == 2


def test_a_writer_holding_an_old_version_fails(store):
    ingest_records(store, [event("visited_page", "2026-01-01T00:00:00Z", "c1", 1)], now=NOW)
    first = context.write_context(store, "c1", {"note": "a"}, expected_version=None, now=NOW)
    assert first.version == 1
    assert context.write_context(store, "c1", {"note": "b"}, expected_version=1, now=NOW).version == 2
    with pytest.raises(ConflictError, match="at version 2, not 1") as err:
        context.write_context(store, "c1", {"note": "c"}, expected_version=1, now=NOW)
    assert err.value.status == 409 and err.value.details == {"expected_version": 1, "found_version": 2}
    with pytest.raises(ConflictError):
        context.write_context(store, "c1", {"note": "c"}, expected_version=None, now=NOW)


def test_concurrent_refreshes_never_lose_a_version(store):
    ingest_records(store, [event("visited_page", "2026-01-01T00:00:00Z", "c1", 1)], now=NOW)
    context.refresh_contexts(store, ["c1"], now=NOW)
    barrier = threading.Barrier(4)

    def writer(n):
        barrier.wait()
        for i in range(3):
            current = context.load_context(store, "c1")
            try:
                context.write_context(store, "c1", {"writer": n, "i": i}, expected_version=current.version)
            except ConflictError:
                pass

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # every successful write moved the version by exactly one; the stored text is the last winner's
    wins = store.fetchone("SELECT version FROM context_cache WHERE customer_id = 'c1'")[0] - 1
    assert 1 <= wins <= 12


def test_unknown_customer_is_not_found(store):
    with pytest.raises(NotFoundError, match="Unknown customer 'nobody'"):
        context.read_context(store, "nobody")


def _sample_context(n_recent, n_insights, n_activities, blob):
    return {
        "customer_id": "c1", "first_seen": "2026-01-01T00:00:00", "last_seen": "2026-01-02T00:00:00",
        "event_count": 5, "revenue_total": 1.0,
        "activities": {f"act_{i}_done": {"count": i, "last_ts": f"2026-01-{i % 28 + 1:02d}T00:00:00"}
                       for i in range(n_activities)},
        "recent_activities": [{"activity_id": str(i), "activity": "a_b", "ts": "2026-01-01T00:00:00",
                               "feature_json": {"note": "é" * (i % 7)}} for i in range(n_recent)],
        "insights": [{"metric": f"m{i}", "value": blob * (i + 1)} for i in range(n_insights)],
    }


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 12), st.integers(0, 6), st.integers(0, 30), st.text(max_size=40), st.integers(300, 6000))
def test_truncation_stays_valid_json_within_budget(n_recent, n_insights, n_activities, blob, budget):
    ctx = _sample_context(n_recent, n_insights, n_activities, blob)
    fitted, truncated, size = fit_context(ctx, budget)
    text = json.dumps(fitted, separators=(",", ":"), ensure_ascii=False)
    assert json.loads(text) == fitted and len(text.encode()) == size <= budget
    assert truncated == (size_of(ctx) > budget) == (TRUNCATION_KEY in fitted)
    if truncated:
        omitted = fitted[TRUNCATION_KEY]
        assert omitted.get("recent_activities", 0) == n_recent - len(fitted["recent_activities"])
        assert omitted.get("insights", 0) == n_insights - len(fitted["insights"])
        assert fitted["event_count"] == 5  # the summary always stays


def test_truncation_drops_oldest_recent_first_and_refuses_tiny_budgets():
    ctx = _sample_context(10, 0, 0, "")
    fitted, truncated, _ = fit_context(ctx, size_of(ctx) - 10)
    kept = [r["activity_id"] for r in fitted["recent_activities"]]
    assert truncated and 0 < len(kept) < 10 and kept == [str(i) for i in range(len(kept))]  # newest kept
    assert fitted[TRUNCATION_KEY] == {"recent_activities": 10 - len(kept)}
    with pytest.raises(ValidationError, match="too small"):
        fit_context({**ctx, "customer_id": "x" * 300}, 200)
    with pytest.raises(ValidationError, match="max_bytes must be"):
        fit_context(ctx, 10)
