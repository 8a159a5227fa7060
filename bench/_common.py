"""Shared helpers for benchmarks: peak RSS of a child run, medians, demo files."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def demo_file(path: Path, events: int, seed: int = 7) -> Path:
    """Generate (once) a demo NDJSON file with exactly ``events`` events."""
    if not path.exists():
        from activityschema.demo.generator import write_ndjson

        tmp = path.with_suffix(".tmp")
        write_ndjson(str(tmp), seed=seed, events=events)
        tmp.rename(path)
    return path


def run_child(code: str, *args: str) -> dict:
    """Run ``code`` in a fresh interpreter; return its JSON result plus wall time, CPU time and peak RSS (MB).

    A separate process per measurement gives an honest peak RSS (ru_maxrss of that child only).
    """
    wrapper = (
        "import json, resource, sys, time\n"
        "t0 = time.perf_counter()\n"
        f"{code}\n"
        "ru = resource.getrusage(resource.RUSAGE_SELF)\n"
        "out = dict(result=result, seconds=time.perf_counter() - t0, cpu_seconds=ru.ru_utime + ru.ru_stime,\n"
        "           peak_rss_mb=ru.ru_maxrss / 1024)\n"
        "print('@@' + json.dumps(out, default=str))\n"
    )
    proc = subprocess.run([sys.executable, "-c", wrapper, *args], capture_output=True, text=True,
                          cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr[-2000:])
    # The marker may follow a DuckDB progress bar on the same line: take the text after the last one.
    return json.loads(proc.stdout.rsplit("@@", 1)[1].splitlines()[0])


def median(values: list[float]) -> float:
    return statistics.median(values)


def now() -> float:
    return time.perf_counter()
