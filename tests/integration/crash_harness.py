"""Real writer and loader processes killed with SIGKILL at random instants (tests and bench/).

A writer logs planned records (content is a pure function of a number) and prints each number on
stdout only after ``log()``/``log_many()`` returned: every complete line the parent reads is an
acknowledged event. After the rounds, one clean loader run must leave every acknowledged event in
the store exactly once, nothing that was not planned, no rejects (no torn line ever reached the
loader) and no duplicates (no batch was ever replayed).

    python -m tests.integration.crash_harness writer --spool DIR --first N --count M [--seed S]
    python -m tests.integration.crash_harness loader --spool DIR --db FILE
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from activityschema.ingest.spool import LOADER_LOCK_FILE, OFFSETS_FILE

ROOT = Path(__file__).resolve().parents[2]
BATCH_SIZES = (1, 1, 1, 2, 5, 20, 50, 300)
WRITER_SPAN = 1_000_000  # numbers per writer slot, so writers never plan the same event
LOADER_KILL_WINDOW = 1.5  # seconds after its claim: its first batch includes DuckDB's cold start
ANON_EVERY = 7           # every 7th event is anonymous-only, every 7th+1 links that anonymous id


def planned_id(n: int) -> str:
    return str(uuid.UUID(int=(0xC0FFEE << 96) | n, version=4))


def planned_record(n: int) -> dict[str, Any]:
    """The event number ``n`` stands for: id, content and identity are fixed by ``n`` alone."""
    customer, anon = f"c{n % 97}", f"a{n % 97}"
    rec: dict[str, Any] = {"activity_id": planned_id(n), "ts": f"2026-01-{1 + n % 28:02d}T{n % 24:02d}:00:00Z",
                           "activity": "crash_test_event", "feature_json": {"n": n, "pad": "x" * (n % 50)}}
    if n % ANON_EVERY == 0:
        rec["anonymous_customer_id"] = anon
    elif n % ANON_EVERY == 1:
        rec.update(customer=customer, anonymous_customer_id=anon)
    else:
        rec["customer"] = customer
    return rec


def _writer(args: argparse.Namespace) -> None:
    from activityschema.ingest.logger import ActivityLogger

    rng = random.Random(args.seed)
    logger = ActivityLogger(spool_dir=args.spool, flush_ms=0, segment_bytes=args.segment_bytes,
                            backpressure_timeout=60)
    n, end = args.first, args.first + args.count
    out = sys.stdout
    while n < end:
        numbers = range(n, min(end, n + rng.choice(BATCH_SIZES)))
        if len(numbers) == 1:
            logger.log(planned_record(n))
        else:
            logger.log_many([planned_record(i) for i in numbers])
        out.write("".join(f"{i}\n" for i in numbers))
        out.flush()
        n = numbers[-1] + 1
    logger.close()


def spawn_writer(spool: Path, first: int, count: int, seed: int, segment_bytes: int) -> subprocess.Popen[str]:
    cmd = [sys.executable, "-m", "tests.integration.crash_harness", "writer", "--spool", str(spool),
           "--first", str(first), "--count", str(count), "--seed", str(seed),
           "--segment-bytes", str(segment_bytes)]
    return subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})


def _loader(args: argparse.Namespace) -> None:
    """``activityschema loader --follow`` without the CLI's start-up cost (same Loader code)."""
    import threading

    from activityschema.ingest.loader import Loader
    from activityschema.store.duckdb import DuckDBStore

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with DuckDBStore(args.db) as store:
        Loader(store, args.spool, batch_events=500, poll_seconds=0.01).follow(stop)


def spawn_loader(db: Path, spool: Path) -> subprocess.Popen[str]:
    cmd = [sys.executable, "-m", "tests.integration.crash_harness", "loader", "--db", str(db), "--spool", str(spool)]
    return subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, text=True,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})


def acknowledged(proc: subprocess.Popen[str]) -> set[int]:
    """Numbers the (finished or killed) writer printed as whole lines."""
    out, _ = proc.communicate()
    lines = out.split("\n")
    return {int(x) for x in lines[:-1] if x.isdigit()}  # the last piece has no newline: not acked


@dataclass
class CrashLog:
    rounds: int = 0
    planned: set[int] = field(default_factory=set)
    acked: set[int] = field(default_factory=set)
    writer_kills: int = 0
    loader_kills: int = 0


def _claimed_by(spool: Path, pid: int) -> bool:
    """The loader wrote its pid into loader.lock (read only: probing the lock could race it)."""
    try:
        return (spool / LOADER_LOCK_FILE).read_text().strip() == str(pid)
    except FileNotFoundError:
        return False


def _offsets_stamp(spool: Path) -> int | None:
    try:
        return (spool / OFFSETS_FILE).stat().st_mtime_ns
    except FileNotFoundError:
        return None


def _wait_until(ready: Any, proc: subprocess.Popen[str], deadline: float) -> None:
    while not ready() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)


def _wait_for_output(proc: subprocess.Popen[str], deadline: float) -> None:
    """Block until the writer acknowledged something (its first stdout byte) or exited."""
    assert proc.stdout is not None
    os.set_blocking(proc.stdout.fileno(), True)
    import select

    while time.monotonic() < deadline and proc.poll() is None:
        ready, _, _ = select.select([proc.stdout], [], [], 0.05)
        if ready:
            return


def crash_round(db: Path, spool: Path, rng: random.Random, log: CrashLog, *, writers: int = 2,
                segment_bytes: int = 64 * 1024, events_per_writer: int = 5_000) -> None:
    """Writers and a loader run together; each is SIGKILLed at its own random instant."""
    slot = log.rounds * writers
    procs = []
    for w in range(writers):
        first = (slot + w) * WRITER_SPAN
        procs.append(spawn_writer(spool, first, events_per_writer, rng.randrange(1 << 30), segment_bytes))
    committed_before = _offsets_stamp(spool)
    loader = spawn_loader(db, spool)
    deadline = time.monotonic() + 30
    for proc in procs:
        _wait_for_output(proc, deadline)
    # Where the loader dies: a quarter while starting or recovering, a quarter in its first batch
    # (DuckDB's cold start makes that one long), half after a commit: mid-batch, between the store
    # commit and the offsets file, while retiring a segment.
    phase = rng.random()
    if phase >= 0.25:
        _wait_until(lambda: _claimed_by(spool, loader.pid), loader, deadline)
    if phase >= 0.5:
        _wait_until(lambda: _offsets_stamp(spool) != committed_before, loader, deadline)
    window = LOADER_KILL_WINDOW if 0.25 <= phase < 0.5 else 0.5
    kills = [(rng.uniform(0.0, 0.4), p) for p in procs] + [(rng.uniform(0.0, window), loader)]
    started = time.monotonic()
    for at, proc in sorted(kills, key=lambda k: k[0]):
        time.sleep(max(0.0, started + at - time.monotonic()))
        proc.send_signal(signal.SIGKILL)
    loader.wait()
    for w, proc in enumerate(procs):
        first = (slot + w) * WRITER_SPAN
        log.planned.update(range(first, first + events_per_writer))
        log.acked |= acknowledged(proc)
    log.writer_kills += writers
    log.loader_kills += 1
    log.rounds += 1


def measure(store: Any, log: CrashLog) -> dict[str, int]:
    """What the store holds against what was planned and acknowledged (no judgement)."""
    rows = store.fetchall("SELECT activity_id, count(*), any_value(feature_json->>'$.n') FROM activities GROUP BY 1")
    stored = {int(n): aid for aid, _, n in rows}
    q = store.fetchone
    return {
        "acked": len(log.acked),
        "stored": len(stored),
        "unacked_stored": len(stored.keys() - log.acked),
        "lost": len(log.acked - stored.keys()),
        "duplicated": sum(copies - 1 for _, copies, _ in rows),
        "unplanned": len(stored.keys() - log.planned),
        "wrong_content": sum(planned_id(n) != aid for n, aid in stored.items()),
        "rejects": q("SELECT count(*) FROM rejected_activities")[0],
        "replayed": q("SELECT coalesce(sum(duplicate), 0) FROM load_batches")[0],
        "unstitched": q("SELECT count(*) FROM activities a JOIN identity_map m USING (anonymous_customer_id) "
                        "WHERE a.customer IS DISTINCT FROM m.customer")[0],
    }


FAILURES = ("lost", "duplicated", "unplanned", "wrong_content", "rejects", "replayed", "unstitched")


def verify(store: Any, log: CrashLog) -> dict[str, int]:
    """Every acked event stored once with its planned content; nothing else; no rejects (no torn
    line reached the loader); no replayed batch; stitching holds."""
    result = measure(store, log)
    assert not any(result[k] for k in FAILURES), {k: result[k] for k in FAILURES}
    return result


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("role", choices=["writer", "loader"])
    parser.add_argument("--spool", required=True)
    parser.add_argument("--db")
    parser.add_argument("--first", type=int, default=0)
    parser.add_argument("--count", type=int, default=0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--segment-bytes", type=int, default=16 * 1024 * 1024)
    args = parser.parse_args(argv)
    (_writer if args.role == "writer" else _loader)(args)


if __name__ == "__main__":
    main(sys.argv[1:])
