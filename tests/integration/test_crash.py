"""Crash safety with real processes: writers and loaders SIGKILLed at random instants.

CI runs a modest number of rounds (``ACTIVITYSCHEMA_CRASH_ROUNDS``, default 8); ``bench/bench_soak.py``
runs hundreds.
"""

from __future__ import annotations

import os
import random

from activityschema.ingest.loader import Loader
from activityschema.store.duckdb import DuckDBStore
from tests.integration.crash_harness import CrashLog, crash_round, verify

ROUNDS = int(os.environ.get("ACTIVITYSCHEMA_CRASH_ROUNDS", "8"))


def test_acknowledged_events_survive_sigkill_of_writers_and_loader_exactly_once(tmp_path):
    db, spool = tmp_path / "crash.duckdb", tmp_path / "crash.duckdb.spool"
    rng, log = random.Random(20260601), CrashLog()
    for _ in range(ROUNDS):
        crash_round(db, spool, rng, log)
    with DuckDBStore(db) as store:
        Loader(store, spool).run_once()
        result = verify(store, log)
    assert log.loader_kills == ROUNDS and log.writer_kills == 2 * ROUNDS
    assert result["acked"] > 0
