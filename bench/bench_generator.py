"""Throughput of the demo generator's NDJSON writer.

Usage: python bench/bench_generator.py [N]   (N events, default 1_000_000)
Prints events/s by wall clock and by CPU time (the CPU figure ignores other load on the machine).
"""

from __future__ import annotations

import os
import sys
import tempfile
import time

from activityschema.demo import GENERATOR_VERSION, write_ndjson

EVENTS_DEFAULT = 1_000_000


def main(argv: list[str]) -> int:
    count = int(argv[1].replace("_", "")) if len(argv) > 1 else EVENTS_DEFAULT
    with tempfile.TemporaryDirectory() as tmp:
        target = os.path.join(tmp, "events.ndjson")
        wall, cpu = time.perf_counter(), time.process_time()
        written = write_ndjson(target, events=count)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        size = os.path.getsize(target)
    print(
        f"generator {GENERATOR_VERSION}: {written:,} events, {size / 1e6:,.1f} MB "
        f"in {wall:.2f} s wall ({cpu:.2f} s CPU)"
    )
    print(
        f"{written / wall:,.0f} events/s wall, {written / cpu:,.0f} events/s CPU, "
        f"{size / wall / 1e6:,.1f} MB/s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
