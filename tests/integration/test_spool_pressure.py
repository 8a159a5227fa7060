"""Backpressure engages and releases; a full disk or an unwritable spool is a clear error, not a hang."""

from __future__ import annotations

import os
import threading
import time

import pytest

from activityschema.errors import BackpressureError, IngestError
from activityschema.ingest.loader import Loader
from activityschema.ingest.logger import ActivityLogger


def ev(i):
    return {"activity": "visited_page", "ts": "2026-01-01T00:00:00Z", "customer": f"c{i}"}


def fill(logger, n=40):
    """Log until backpressure refuses (bounded, so a bug cannot loop forever)."""
    for i in range(n):
        logger.log(ev(i))
    return n


def test_backpressure_engages_when_the_backlog_is_over_its_bound_and_never_drops(tmp_path):
    with ActivityLogger(tmp_path / "spool", max_backlog_bytes=2000, backpressure_timeout=0.1) as logger:
        with pytest.raises(BackpressureError) as caught:
            fill(logger)
        logged = logger.backlog().pending_bytes
    assert caught.value.code == "backpressure" and caught.value.status == 503
    assert "activityschema loader" in caught.value.message and "2,000 bytes" in caught.value.message
    assert 2000 - 200 < logged <= 2000  # the bound holds; what was acknowledged is all there


def test_backpressure_releases_when_the_loader_catches_up(tmp_path, store):
    spool_dir = tmp_path / "spool"
    logger = ActivityLogger(spool_dir, max_backlog_bytes=2000, backpressure_timeout=60)
    with ActivityLogger(spool_dir, max_backlog_bytes=10**9) as filler:
        filler.log_many([ev(i) for i in range(30)])  # over the bound before anyone loads
    done = threading.Event()
    blocked = threading.Thread(target=lambda: (logger.log(ev(99)), done.set()))
    blocked.start()
    assert not done.wait(0.3)  # waiting for room, not failing and not writing
    loader = Loader(store, spool_dir).start()
    try:
        assert done.wait(30)
    finally:
        blocked.join()
        logger.close()
        loader.stop()
    assert store.fetchone("SELECT count(*) FROM activities")[0] >= 30


def test_backpressure_on_the_age_of_the_oldest_unloaded_event(tmp_path):
    with ActivityLogger(tmp_path / "spool", max_backlog_seconds=0.2, backpressure_timeout=0.05) as logger:
        logger.log(ev(1))
        time.sleep(0.3)
        with pytest.raises(BackpressureError, match="0.2 s"):
            logger.log(ev(2))


def test_a_full_disk_is_a_clear_error_not_a_hang(tmp_path):
    spool_dir = tmp_path / "spool"
    logger = ActivityLogger(spool_dir)
    [segment] = spool_dir.glob("seg-*.ndjson")
    segment.unlink()
    os.symlink("/dev/full", segment)  # every write to it fails with ENOSPC, like a full disk
    with pytest.raises(IngestError) as caught:
        logger.log(ev(1))
    assert caught.value.code == "spool_full"
    assert "No space left on device" in caught.value.message and str(spool_dir) in caught.value.message
    logger.close()  # the caller already got the error: nothing is pending


def test_a_full_disk_in_batched_mode_surfaces_on_the_next_call(tmp_path):
    spool_dir = tmp_path / "spool"
    logger = ActivityLogger(spool_dir, flush_ms=1)
    [segment] = spool_dir.glob("seg-*.ndjson")
    segment.unlink()
    os.symlink("/dev/full", segment)
    logger.log(ev(1))  # queued: batched mode acknowledges before the write
    with pytest.raises(IngestError, match="were not written") as caught:
        logger.flush()
    assert caught.value.code == "spool_full"
    logger.close()


def test_an_unwritable_spool_directory_is_a_clear_error(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    with pytest.raises(IngestError) as caught:
        ActivityLogger(blocker / "spool")
    assert caught.value.code == "spool_unwritable"
    assert "Not a directory" in caught.value.message and "spool_dir" in caught.value.message
