"""The servers' audit journal: durable lines without readable customer ids, chained exactly once,
crash-safe absorbing, and appenders racing the absorber never lose a line."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from activityschema.governance import audit
from activityschema.governance.audit_trail import (
    ABSORBING_SUFFIX,
    AuditTrail,
    Entry,
    absorb_sidecar,
    has_pending,
    sidecar_path,
)
from activityschema.store.duckdb import DuckDBStore

CUSTOMER = "alice@example.com"


def entry(i: int) -> Entry:
    return Entry("key:test [k1]", "get_context", subject=CUSTOMER, details={"via": "mcp", "customer": CUSTOMER, "i": i})


def chained(store: DuckDBStore) -> int:
    return int(store.fetchone("SELECT count(*) FROM audit_log")[0])


@pytest.fixture
def store(tmp_path):
    with DuckDBStore(tmp_path / "j.duckdb") as s:
        yield s


def test_flush_is_durable_in_the_journal_without_readable_ids_and_absorb_chains_it(store):
    trail = AuditTrail(store)
    for i in range(3):
        trail.record(entry(i))
    assert trail.flush() == 3
    journal = sidecar_path(store.path)
    text = journal.read_text(encoding="utf-8")
    assert text.count("\n") == 3 and CUSTOMER not in text and "hmac:" in text
    assert chained(store) == 0  # not in the chain yet
    assert trail.absorb() == 3
    assert chained(store) == 3 and not has_pending(store.path)
    rows = str(store.fetchall("SELECT * FROM audit_log"))
    assert CUSTOMER not in rows and '"via":"mcp"' in rows
    assert audit.verify(store).ok


def test_a_deferred_sync_writes_before_returning_and_syncs_when_asked(store):
    """audit_sync_ms > 0: flush writes the lines (readable at once, e.g. after a crash of the server)
    and leaves the fdatasync to sync_pending; nothing is lost or chained twice either way."""
    trail = AuditTrail(store, sync_seconds=0.05)
    trail.record(entry(1))
    assert trail.flush() == 1
    assert sidecar_path(store.path).read_text(encoding="utf-8").count("\n") == 1
    assert trail._unsynced.is_set()
    trail.sync_pending()
    assert not trail._unsynced.is_set()
    trail.record(entry(2))
    trail.flush()
    assert trail.absorb() == 2
    trail.sync_pending()  # the journal was absorbed meanwhile: nothing left to sync, no error
    assert chained(store) == 2 and audit.verify(store).ok


def test_journal_entries_hash_exactly_like_direct_appends(tmp_path):
    """Scrubbing before the journal changes nothing in the chain: same subject and details as appended directly."""
    with DuckDBStore(tmp_path / "direct.duckdb") as direct:
        trail = AuditTrail(direct)
        trail.record(entry(7))
        trail.flush()
        trail.absorb()
        secret_subject = direct.fetchone("SELECT subject, details FROM audit_log")
        with direct.write() as con:
            e = entry(7)
            audit.append_entry(con, e.actor, e.action, template=e.template, query_hash=e.query_hash,
                               row_count=e.row_count, subject=e.subject, details=e.details, now=e.at)
        assert direct.fetchone("SELECT subject, details FROM audit_log WHERE seq = 2") == secret_subject


def test_a_leftover_already_committed_is_not_chained_twice(store):
    trail = AuditTrail(store)
    for i in range(4):
        trail.record(entry(i))
    trail.flush()
    with store.write() as con:  # the absorb commits ... and the process dies before removing the file
        assert absorb_sidecar(store, con) == 4
    assert Path(f"{sidecar_path(store.path)}{ABSORBING_SUFFIX}").exists()
    trail.record(entry(99))
    trail.flush()
    trail.absorb()  # removes the leftover without appending it again
    trail.absorb()  # then the new journal
    assert chained(store) == 5 and not has_pending(store.path)
    assert audit.verify(store).ok


def test_a_leftover_not_committed_is_chained_once(store):
    trail = AuditTrail(store)
    for i in range(4):
        trail.record(entry(i))
    trail.flush()
    with pytest.raises(RuntimeError), store.write() as con:  # the transaction fails after reading the journal
        absorb_sidecar(store, con)
        raise RuntimeError("crash before commit")
    assert chained(store) == 0
    assert trail.absorb() == 4
    assert chained(store) == 4 and not has_pending(store.path)


def test_appenders_racing_the_absorber_lose_nothing(store):
    trail = AuditTrail(store)
    writers, per_writer = 4, 60
    done = threading.Event()

    def write(w: int) -> None:
        for i in range(per_writer):
            trail.record(entry(w * 1000 + i))
            trail.flush()

    def absorb() -> None:
        while not done.is_set():
            trail.absorb()

    absorber = threading.Thread(target=absorb)
    absorber.start()
    threads = [threading.Thread(target=write, args=(w,)) for w in range(writers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    done.set()
    absorber.join()
    trail.absorb()
    assert chained(store) == writers * per_writer
    assert audit.verify(store).ok


def test_in_memory_store_has_no_journal_and_flush_appends_to_the_chain():
    with DuckDBStore(":memory:") as s:
        trail = AuditTrail(s)
        trail.record(entry(1))
        assert trail.flush() == 1
        assert chained(s) == 1
