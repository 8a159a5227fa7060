"""ActivityLogger: validation at once, normalized durable lines, group commit, batched mode, asyncio."""

from __future__ import annotations

import asyncio
import json
import threading
import uuid

import pytest

from activityschema.errors import ValidationError
from activityschema.ingest.loader import Loader
from activityschema.ingest.logger import ActivityLogger
from activityschema.store.duckdb import DuckDBStore


def spool_lines(spool_dir):
    return [json.loads(line) for seg in sorted(spool_dir.glob("seg-*.ndjson")) for line in seg.read_text().splitlines()]


def load(db_path, spool_dir=None):
    with DuckDBStore(db_path) as store:
        Loader(store, spool_dir).run_once()
        return store.fetch_dicts("SELECT * FROM activities ORDER BY ts, activity_id")


def test_log_writes_the_normalized_record_and_the_loader_stores_it(db_path):
    with ActivityLogger(db=db_path) as logger:
        aid = logger.log({"activity": "visited_page", "ts": "2026-01-15T10:00:00+02:00", "customer": "c1",
                          "feature_json": '{"page": "/pricing"}', "revenue_impact": 3})
    assert uuid.UUID(aid).version == 4
    [line] = spool_lines(db_path.parent / "test.duckdb.spool")
    assert line == {"activity_id": aid, "ts": "2026-01-15T08:00:00Z", "activity": "visited_page", "customer": "c1",
                    "feature_json": {"page": "/pricing"}, "revenue_impact": 3.0}
    [row] = load(db_path)
    assert (row["activity_id"], str(row["ts"]), row["customer"], row["activity_occurrence"]) == (aid, "2026-01-15 08:00:00", "c1", 1)
    assert json.loads(row["feature_json"]) == {"page": "/pricing"}


def test_invalid_record_raises_at_once_with_every_reason_and_logs_nothing(tmp_path):
    with ActivityLogger(tmp_path / "spool") as logger:
        with pytest.raises(ValidationError) as caught:
            logger.log({"activity": "Visited Page", "ts": "yesterday", "colour": "red"})
        with pytest.raises(ValidationError) as many:
            logger.log_many([{"activity": "ok_event", "ts": "2026-01-01"}, {"ts": "2026-01-01"}, {"activity": "a_b"}])
    codes = {r["code"] for r in caught.value.details["records"][0]["reasons"]}
    assert codes == {"invalid_activity", "invalid_ts", "unknown_field"}
    assert "ts must be an ISO 8601 timestamp" in caught.value.message
    assert [r["index"] for r in many.value.details["records"]] == [1, 2]
    assert "nothing was logged" in many.value.message
    assert spool_lines(tmp_path / "spool") == []


def test_given_ids_are_kept_canonical_so_a_resend_is_a_duplicate(tmp_path):
    rec = {"activity_id": "0F8FAD5B-D9CB-469F-A165-70867728950E", "activity": "order_completed",
           "ts": "2026-01-01T00:00:00Z", "customer": "c1"}
    with ActivityLogger(tmp_path / "spool") as logger:
        assert logger.log_many([rec, rec]) == ["0f8fad5b-d9cb-469f-a165-70867728950e"] * 2
    with DuckDBStore(tmp_path / "s.duckdb") as store:
        stats = Loader(store, tmp_path / "spool").run_once()
        assert (stats.accepted, stats.duplicate) == (1, 1)


def test_concurrent_threads_share_fsyncs_and_every_event_lands_once(tmp_path):
    logger = ActivityLogger(tmp_path / "spool")
    ids: list[str] = []

    def produce(k):
        for i in range(40):
            ids.append(logger.log({"activity": "visited_page", "ts": "2026-01-01T00:00:00Z", "customer": f"c{k}-{i}"}))

    threads = [threading.Thread(target=produce, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    logger.close()
    assert len(set(ids)) == 320
    assert sorted(line["activity_id"] for line in spool_lines(tmp_path / "spool")) == sorted(ids)
    with DuckDBStore(tmp_path / "s.duckdb") as store:
        Loader(store, tmp_path / "spool").run_once()
        assert store.fetchone("SELECT count(DISTINCT activity_id), count(*) FROM activities") == (320, 320)


def test_batched_mode_returns_before_the_write_and_flush_makes_it_durable(tmp_path):
    logger = ActivityLogger(tmp_path / "spool", flush_ms=60_000)  # a flush would otherwise wait a minute
    logger.log({"activity": "visited_page", "ts": "2026-01-01T00:00:00Z"})
    logger.log({"activity": "visited_page", "ts": "2026-01-01T00:00:01Z"})
    logger.flush()
    assert len(spool_lines(tmp_path / "spool")) == 2
    logger.log({"activity": "visited_page", "ts": "2026-01-01T00:00:02Z"})
    logger.close()
    assert len(spool_lines(tmp_path / "spool")) == 3


def test_alog_awaits_durability_without_blocking_the_event_loop(tmp_path):
    async def main():
        with ActivityLogger(tmp_path / "spool") as logger:
            ticks = 0

            async def ticker():
                nonlocal ticks
                while True:
                    ticks += 1
                    await asyncio.sleep(0)

            tick_task = asyncio.create_task(ticker())
            ids = await asyncio.gather(*[logger.alog({"activity": "visited_page", "ts": "2026-01-01T00:00:00Z",
                                                      "customer": f"c{i}"}) for i in range(50)])
            tick_task.cancel()
            return ids, ticks

    ids, ticks = asyncio.run(main())
    assert len(set(ids)) == 50 and ticks > 0
    assert {line["activity_id"] for line in spool_lines(tmp_path / "spool")} == set(ids)


def test_logger_with_a_store_loads_in_a_background_thread(db_path):
    store = DuckDBStore(db_path)
    try:
        with ActivityLogger(store=store) as logger:
            aid = logger.log({"activity": "visited_page", "ts": "2026-01-01T00:00:00Z", "customer": "c1"})
            for _ in range(500):
                if store.fetchone("SELECT count(*) FROM activities WHERE activity_id = ?", [aid])[0]:
                    break
                threading.Event().wait(0.02)
        assert store.fetchone("SELECT customer FROM activities WHERE activity_id = ?", [aid]) == ("c1",)
        assert logger.loader is not None and logger.loader.stats.accepted == 1
    finally:
        store.close()


def test_closed_logger_refuses_with_a_clear_error(tmp_path):
    logger = ActivityLogger(tmp_path / "spool")
    logger.close()
    with pytest.raises(Exception, match="closed"):
        logger.log({"activity": "visited_page", "ts": "2026-01-01T00:00:00Z"})


def test_empty_calls_return_at_once_and_batched_alog_works(tmp_path):
    with ActivityLogger(tmp_path / "spool") as logger:
        assert logger.log_many([]) == []
    with ActivityLogger(tmp_path / "spool", flush_ms=60_000) as logger:
        ids = asyncio.run(logger.alog_many([{"activity": "visited_page", "ts": "2026-01-01T00:00:00Z"}]))
    assert [line["activity_id"] for line in spool_lines(tmp_path / "spool")] == ids


def test_a_logger_inherited_through_fork_refuses_instead_of_hanging(tmp_path):
    import os

    logger = ActivityLogger(tmp_path / "spool")
    pid = os.fork()
    if pid == 0:  # the child: its copy of the logger has no writer thread
        try:
            logger.log({"activity": "visited_page", "ts": "2026-01-01T00:00:00Z"})
        except Exception as exc:  # noqa: BLE001
            os._exit(0 if getattr(exc, "code", "") == "logger_forked" else 2)
        os._exit(1)
    _, status = os.waitpid(pid, 0)
    logger.close()
    assert os.waitstatus_to_exitcode(status) == 0


def test_closing_a_logger_with_a_store_loads_everything_it_logged(db_path):
    with DuckDBStore(db_path) as store:
        with ActivityLogger(store=store) as logger:
            ids = logger.log_many([{"activity": "visited_page", "ts": "2026-01-01T00:00:00Z", "customer": f"c{i}"}
                                   for i in range(100)])
        assert store.fetchone("SELECT count(*) FROM activities")[0] == len(ids) == 100
