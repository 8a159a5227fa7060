"""The spool and the loader: rotation, torn tails, committed offsets, retirement, one loader per spool."""

from __future__ import annotations

import json
import os
import time

import pytest

from activityschema.errors import IngestError
from activityschema.ingest.loader import Loader
from activityschema.ingest.logger import ActivityLogger
from activityschema.ingest.spool import Spool
from activityschema.ingest.spool_view import backlog, read_offsets, write_offsets
from activityschema.store.duckdb import DuckDBStore
from tests.conftest import uid


def rec(n, **extra):
    return {"activity_id": uid(n), "activity": "visited_page", "ts": f"2026-01-01T00:00:{n % 60:02d}Z",
            "customer": f"c{n % 3}", **extra}


def segments(spool_dir):
    return sorted(p.name for p in spool_dir.glob("seg-*.ndjson"))


def stored(store):
    return store.fetchone("SELECT count(*), count(DISTINCT activity_id) FROM activities")


def test_segments_rotate_by_size_and_loaded_sealed_ones_are_deleted(tmp_path, store):
    spool_dir = tmp_path / "spool"
    with ActivityLogger(spool_dir, segment_bytes=1000) as logger:
        for n in range(1, 41):
            logger.log(rec(n))
    assert len(segments(spool_dir)) > 3
    stats = Loader(store, spool_dir).run_once()
    assert stored(store) == (40, 40)
    assert stats.segments_retired >= 3 and len(segments(spool_dir)) == 1  # only the active one is left
    assert backlog(Spool(spool_dir)).pending_bytes == 0


def test_segments_rotate_by_age_and_the_loader_seals_an_idle_one(tmp_path, store):
    spool_dir = tmp_path / "spool"
    with ActivityLogger(spool_dir, segment_seconds=0.05) as logger:
        logger.log(rec(1))
        time.sleep(0.1)
        logger.log(rec(2))
    assert len(segments(spool_dir)) == 2
    time.sleep(0.1)
    loader = Loader(store, Spool(spool_dir, segment_seconds=0.05))
    loader.run_once()
    loader._next_seal = 0.0  # the idle segment is sealed at most once a second: do not wait for it
    loader.run_once()
    assert stored(store) == (2, 2)
    [left] = segments(spool_dir)  # both written segments sealed and retired; a fresh empty one is active
    assert os.path.getsize(spool_dir / left) == 0


def test_archive_moves_loaded_segments_instead_of_deleting(tmp_path, store):
    spool_dir, archive = tmp_path / "spool", tmp_path / "archive"
    with ActivityLogger(spool_dir, segment_bytes=300) as logger:
        for n in range(1, 6):
            logger.log(rec(n))
    Loader(store, spool_dir, archive_dir=archive).run_once()
    archived = [line for p in sorted(archive.glob("*.ndjson")) for line in p.read_text().splitlines()]
    active = [line for p in spool_dir.glob("*.ndjson") for line in p.read_text().splitlines()]
    assert archived and len(archived) + len(active) == 5 and stored(store) == (5, 5)


def test_a_torn_tail_is_never_loaded_and_the_next_append_starts_a_new_segment(tmp_path, store):
    spool_dir = tmp_path / "spool"
    with ActivityLogger(spool_dir) as logger:
        logger.log(rec(1))
        [first] = segments(spool_dir)
        with open(spool_dir / first, "ab") as fh:  # a writer killed mid-write left half a line
            fh.write(json.dumps(rec(2)).encode()[:30])
        Loader(store, spool_dir).run_once()
        assert stored(store) == (1, 1)
        logger.log(rec(3))
    assert len(segments(spool_dir)) == 2
    Loader(store, spool_dir).run_once()
    assert stored(store) == (2, 2)
    assert store.fetchone("SELECT count(*) FROM rejected_activities")[0] == 0
    assert first not in segments(spool_dir)  # sealed, loaded to its last newline, retired


def test_the_loader_reads_only_up_to_the_last_newline(tmp_path, store):
    spool_dir = tmp_path / "spool"
    Spool(spool_dir).open().close()
    [seg] = segments(spool_dir)
    line = json.dumps(rec(1)).encode() + b"\n"
    with open(spool_dir / seg, "ab") as fh:
        fh.write(line[:20])
        fh.flush()
        Loader(store, spool_dir).run_once()
        assert stored(store) == (0, 0)
        fh.write(line[20:])
    Loader(store, spool_dir).run_once()
    assert stored(store) == (1, 1)


def test_a_crash_between_store_commit_and_offsets_file_replays_nothing(tmp_path, store):
    spool_dir = tmp_path / "spool"
    with ActivityLogger(spool_dir) as logger:
        logger.log_many([rec(n) for n in range(1, 11)])
    before = read_offsets(spool_dir)
    Loader(store, spool_dir).run_once()
    write_offsets(spool_dir, before)  # as if the loader died right after the store commit
    again = Loader(store, spool_dir).run_once()
    assert (again.submitted, again.duplicate) == (0, 0)
    assert store.fetchone("SELECT sum(submitted), sum(duplicate) FROM load_batches") == (10, 0)


def test_a_replayed_batch_is_counted_as_duplicates_and_stored_once(tmp_path, store):
    spool_dir = tmp_path / "spool"
    with ActivityLogger(spool_dir) as logger:
        logger.log_many([rec(n) for n in range(1, 11)])
    Loader(store, spool_dir).run_once()
    write_offsets(spool_dir, {})
    store.execute("DELETE FROM spool_progress")  # as if the store were restored from an older backup
    again = Loader(store, spool_dir).run_once()
    assert (again.accepted, again.duplicate) == (0, 10)
    assert stored(store) == (10, 10)


def test_one_loader_per_spool(tmp_path, store, db_path):
    spool_dir = tmp_path / "spool"
    first = Loader(store, spool_dir).start()
    try:
        with pytest.raises(IngestError, match="one loader per spool") as caught:
            Loader(store, spool_dir).run_once()
        assert caught.value.code == "loader_running"
        assert backlog(Spool(spool_dir), with_loader=True).loader_pid == os.getpid()
    finally:
        first.stop()
    assert backlog(Spool(spool_dir), with_loader=True).loader_pid is None


def test_the_loader_reports_touched_actors_for_each_batch(tmp_path, store):
    spool_dir = tmp_path / "spool"
    with ActivityLogger(spool_dir) as logger:
        logger.log_many([rec(1), rec(2), rec(4)])
    seen = []
    Loader(store, spool_dir, on_batch=lambda report: seen.append(sorted(report.touched_actors))).run_once()
    assert seen == [["c1", "c2"]]
    batch = store.fetchone("SELECT batch_id FROM load_batches")[0]
    assert sorted(r[0] for r in store.fetchall("SELECT actor FROM touched_actors WHERE batch_id = ?", [batch])) == ["c1", "c2"]


def test_a_store_that_fails_is_retried_with_backoff(tmp_path, db_path):
    spool_dir = tmp_path / "spool"
    with ActivityLogger(spool_dir) as logger:
        logger.log(rec(1))
    store = DuckDBStore(db_path)
    store.execute("ALTER TABLE spool_progress RENAME TO spool_progress_away")  # the store "fails"
    loader = Loader(store, spool_dir, max_retries=1)
    with pytest.raises(Exception, match="spool_progress"):
        loader.run_once()
    assert loader.stats.retries == 2 and loader.stats.last_error
    store.execute("ALTER TABLE spool_progress_away RENAME TO spool_progress")
    Loader(store, spool_dir).run_once()
    assert stored(store) == (1, 1)
    store.close()


def test_a_segment_shortened_by_a_power_failure_never_hides_new_events(tmp_path, store):
    spool_dir = tmp_path / "spool"
    with ActivityLogger(spool_dir) as logger:
        logger.log_many([rec(1), rec(2), rec(3)])
    Loader(store, spool_dir).run_once()
    [seg] = segments(spool_dir)
    first_line = (spool_dir / seg).read_bytes().split(b"\n")[0] + b"\n"
    os.truncate(spool_dir / seg, len(first_line))  # the page cache held more than the disk kept
    with ActivityLogger(spool_dir) as logger:  # a new process appends after the reboot
        logger.log(rec(4))
    Loader(store, spool_dir).run_once()
    assert store.fetchone("SELECT count(*) FROM activities WHERE activity_id = ?", [uid(4)]) == (1,)


def _sf_rec(n: int, customer: str = "c1") -> dict:
    return {"activity_id": uid(n), "ts": f"2026-01-01T00:00:{n:02d}Z", "activity": "page_viewed", "customer": customer}


def test_the_loader_loads_a_spool_into_snowflake_exactly_once(tmp_path, module_snowflake_store):
    """The loader on the Snowflake backend (fakesnow): events land once, offsets are kept in the
    warehouse's ``spool_progress`` with the batch, a restart replays nothing, and a replay forced by
    losing every offset merges as duplicates, never as second copies."""
    from activityschema.errors import ConfigError
    from tests.backends import reset_snowflake

    store = reset_snowflake(module_snowflake_store)
    with pytest.raises(ConfigError) as err:
        Loader(store)  # no ``<db>.spool`` for a warehouse: the spool directory must be given
    assert err.value.code == "spool_dir_required"
    spool_dir = tmp_path / "spool"
    with ActivityLogger(spool_dir) as logger:
        logger.log_many([_sf_rec(n) for n in range(1, 6)] + [_sf_rec(1, customer="c2")])  # a conflict
    stats = Loader(store, spool_dir).run_once()
    assert (stats.accepted, stats.rejected) == (5, 1)
    assert store.fetchone("SELECT count(*) FROM activities") == (5,)
    progress = store.fetchall("SELECT segment, end_offset FROM spool_progress")
    assert progress and all(end > 0 for _, end in progress)

    again = Loader(store, spool_dir).run_once()  # restart: nothing replayed
    assert again.submitted == 0

    with ActivityLogger(spool_dir) as logger:
        logger.log_many([_sf_rec(n) for n in range(6, 9)])
    write_offsets(spool_dir, {})  # both offset records lost: the whole spool is read again
    with store.session() as session:
        session.execute("DELETE FROM spool_progress")
    replay = Loader(store, spool_dir).run_once()
    assert replay.accepted == 3 and replay.duplicate >= 5
    assert store.fetchone("SELECT count(*), count(DISTINCT activity_id) FROM activities") == (8, 8)
    numbers = store.fetchall("SELECT activity_occurrence FROM activities ORDER BY ts")
    assert [n for (n,) in numbers] == list(range(1, 9))  # helper columns kept through the replay


@pytest.mark.skipif(not hasattr(os, "setpriority"), reason="per-thread niceness is a Linux feature")
def test_an_in_process_loader_thread_runs_nicer_than_the_requests_and_still_loads(tmp_path, store):
    """Under CPU contention the server's requests come first; the loader still drains everything."""
    spool_dir = tmp_path / "spool"
    base = os.getpriority(os.PRIO_PROCESS, 0)
    loaders = {nice: Loader(store, spool_dir, nice=nice) for nice in (5, 0)}
    for nice, loader in loaders.items():
        loader.start()
        try:
            deadline = time.monotonic() + 10
            tid = loader._thread.native_id
            while os.getpriority(os.PRIO_PROCESS, tid) != min(base + nice, 19):
                assert time.monotonic() < deadline, "the loader thread was not reniced"
                time.sleep(0.01)
            assert os.getpriority(os.PRIO_PROCESS, 0) == base  # the rest of the process keeps its priority
            with ActivityLogger(spool_dir) as logger:
                logger.log_many([rec(n + 100 * nice) for n in range(1, 21)])
            deadline = time.monotonic() + 30
            while stored(store)[0] < (20 if nice == 5 else 40):
                assert time.monotonic() < deadline, "the nice loader did not load"
                time.sleep(0.05)
        finally:
            loader.stop(drain=True)
    assert stored(store) == (40, 40)


def test_a_loader_stop_that_times_out_leaves_it_running_until_a_second_stop_ends_it(tmp_path, store):
    """Runtime.close relies on this: a drain that outlasts its timeout must not let the store close
    under a merge; a second stop (no drain) ends the loader after its batch, the rest stays queued."""
    spool_dir = tmp_path / "spool"
    with ActivityLogger(spool_dir) as logger:
        logger.log_many([rec(n) for n in range(1, 3001)])
    loader = Loader(store, spool_dir, batch_events=500)
    loader.start()
    loader.stop(drain=True, timeout=0.0)
    assert loader.running or stored(store)[0] == 3000
    loader.stop(timeout=None)
    assert not loader.running
    Loader(store, spool_dir).run_once()  # what was left in the spool loads later, exactly once
    assert stored(store) == (3000, 3000)


def test_after_a_partial_batch_the_loader_lingers_and_a_nudge_ends_the_pause(tmp_path, store):
    """A trickle is merged in groups (one merge per linger, not one per event); a reader waiting for
    its own writes nudges the loader, and stop() ends the pause at once."""
    spool_dir = tmp_path / "spool"
    loader = Loader(store, spool_dir, linger_ms=60_000)
    batches = []
    loader.add_listener(batches.append)
    with ActivityLogger(spool_dir) as logger:
        loader.start()
        try:
            logger.log_many([rec(1)])
            deadline = time.monotonic() + 30
            while stored(store)[0] < 1:  # the first event after idle waits one poll only
                assert time.monotonic() < deadline, "the first event was not loaded"
                time.sleep(0.01)
            logger.log_many([rec(n) for n in range(2, 6)])
            time.sleep(0.5)
            assert stored(store)[0] == 1  # lingering after a partial batch: the trickle waits
            logger.log_many([rec(n) for n in range(6, 11)])
            loader.nudge()
            deadline = time.monotonic() + 30
            while stored(store)[0] < 10:
                assert time.monotonic() < deadline, "a nudge did not end the pause"
                time.sleep(0.01)
        finally:
            started = time.monotonic()
            loader.stop()  # joins the thread: every listener call is done after this
            assert time.monotonic() - started < 10  # not the 60 s linger
    assert stored(store) == (10, 10)
    assert [b.accepted for b in batches] == [1, 9]  # the nine that arrived during the pause: one merge


def test_the_engine_threads_are_reniced_and_python_threads_are_not(tmp_path):
    """The servers lower DuckDB's own worker threads with the loader (see lower_engine_threads)."""
    import threading

    import duckdb

    from activityschema.ingest.loader import lower_engine_threads

    if not hasattr(os, "setpriority") or not os.path.isdir("/proc/self/task"):
        pytest.skip("per-thread niceness is a Linux feature")
    con = duckdb.connect(str(tmp_path / "e.duckdb"), config={"threads": 2})
    con.execute("SELECT sum(range) FROM range(1000000)").fetchall()  # the workers exist by now
    ours = {t.native_id for t in threading.enumerate()} | {os.getpid()}
    before = {int(t): os.getpriority(os.PRIO_PROCESS, int(t)) for t in os.listdir("/proc/self/task")}
    assert lower_engine_threads(2) >= 1
    for tid, nice in before.items():
        try:
            now = os.getpriority(os.PRIO_PROCESS, tid)
        except OSError:
            continue  # ended meanwhile
        assert now == (nice if tid in ours else min(nice + 2, 19))
    con.close()
