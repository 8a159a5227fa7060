"""Data-quality detectors on generated streams: false positives on clean data, recall on planted
signals, and the cost of the catalog, drift, anomalies and schema validation.

Usage: python bench/bench_quality.py [CUSTOMERS] [SEEDS]   (default 2000 customers, 6 seeds)

For each seed it generates the stream twice — clean and with ``plant_anomalies=True`` (see
``activityschema.demo.generator.PLANTED``) — imports each into a fresh DuckDB file and runs drift
(weekly windows) and volume anomalies. Printed:

- per seed: findings on the clean stream (all false positives) and, on the planted stream, which of
  the four planted signals were found and any other finding;
- the false-positive rate: clean findings per activity-window (drift) and per activity-day
  (anomalies), over all seeds;
- timings of catalog / drift / anomalies on the last planted store, and ingest throughput with a
  ``reject``-mode schema on every pattern activity vs no schema (same run, ratio printed).
"""

from __future__ import annotations

import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from activityschema.demo.generator import PLANTED, write_ndjson
from activityschema.ingest.importer import import_file
from activityschema.quality.anomalies import detect_anomalies
from activityschema.quality.catalog import list_activities
from activityschema.quality.drift import detect_drift
from activityschema.quality.schemas import register_schema
from activityschema.store.duckdb import DuckDBStore

CUSTOMERS_DEFAULT = 2000
SEEDS_DEFAULT = 6
REPEATS = 3
NOW = datetime(2027, 1, 1)
SCHEMA_OF = {
    "claude_tool_call": "tool_execution",
    "button_clicked": "user_interaction",
    "form_submitted": "user_interaction",
    "deployment_completed": "system_event",
}


def planted_hits(
    drift: list[dict[str, Any]], anomalies: list[dict[str, Any]]
) -> tuple[dict[str, bool], list[str]]:
    """Which planted signals were found, and every finding that is not one of them."""
    spike, stop = PLANTED["volume_spike"], PLANTED["activity_stopped"]
    key, typed = PLANTED["new_feature_key"], PLANTED["type_drift"]
    found = {
        "volume_spike": False,
        "activity_stopped": False,
        "new_feature_key": False,
        "type_drift": False,
    }
    other = []
    for f in anomalies:
        if f["activity"] == spike["activity"] and f["kind"] == "spike":
            found["volume_spike"] = True
        elif f["activity"] == stop["activity"] and f["kind"] == "stopped":
            found["activity_stopped"] = True
        else:
            other.append(f"anomaly {f['message']} ({f['activity']})")
    for f in drift:
        if f["activity"] == key["activity"] and f["kind"] == "new_key" and f["key"] == key["key"]:
            found["new_feature_key"] = True
        elif (
            f["activity"] == typed["activity"]
            and f["kind"] == "type_change"
            and f["key"] == typed["key"]
        ):
            found["type_drift"] = True
        else:
            other.append(f"drift {f['activity']} {f['message']}")
    return found, other


def build(
    tmp: Path, name: str, customers: int, seed: int, plant: bool
) -> tuple[DuckDBStore, int, float]:
    src = tmp / f"{name}.ndjson"
    n = write_ndjson(src, seed=seed, customers=customers, plant_anomalies=plant)
    store = DuckDBStore(tmp / f"{name}.duckdb")
    t = time.perf_counter()
    import_file(store, src, now=NOW)
    return store, n, time.perf_counter() - t


def timed(fn: Any) -> tuple[Any, float]:
    t = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t


def main(argv: list[str]) -> int:
    customers = int(argv[1].replace("_", "")) if len(argv) > 1 else CUSTOMERS_DEFAULT
    seeds = int(argv[2]) if len(argv) > 2 else SEEDS_DEFAULT
    clean_drift = clean_anom = windows = days = 0
    recall = {k: 0 for k in PLANTED}
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        for seed in range(1, seeds + 1):
            for plant in (False, True):
                store, n, _ = build(tmp, f"s{seed}{plant}", customers, seed, plant)
                drift = detect_drift(store, window="week")
                anomalies = detect_anomalies(store, now=NOW)
                store.close()
                if plant:
                    found, other = planted_hits(drift["findings"], anomalies["findings"])
                    for k, v in found.items():
                        recall[k] += v
                    missed = [k for k, v in found.items() if not v]
                    print(
                        f"seed {seed} planted ({n:,} events): missed {missed or 'none'}; other findings {other or 'none'}"
                    )
                else:
                    clean_drift += len(drift["findings"])
                    clean_anom += len(anomalies["findings"])
                    windows += drift["windows_compared"]
                    days += anomalies["evaluated_days"]
                    shown = [f["message"] for f in drift["findings"] + anomalies["findings"]]
                    print(
                        f"seed {seed} clean   ({n:,} events): {len(shown)} findings {shown or ''}"
                    )
        print(f"\nfalse positives on clean streams ({seeds} seeds, {customers:,} customers each):")
        print(
            f"  drift:     {clean_drift} findings in {windows:,} activity-windows compared "
            f"({clean_drift / max(windows, 1):.2%})"
        )
        print(
            f"  anomalies: {clean_anom} findings in {days:,} activity-days evaluated "
            f"({clean_anom / max(days, 1):.3%})"
        )
        print("planted signals found: " + ", ".join(f"{k} {v}/{seeds}" for k, v in recall.items()))
        costs(tmp, customers)
    return 0


def import_seconds(tmp: Path, src: Path, name: str, schemas: bool) -> tuple[float, Any, int]:
    """Best of ``REPEATS`` imports of ``src`` into fresh stores (with or without schemas)."""
    best, report, validated = float("inf"), None, 0
    for k in range(REPEATS):
        store = DuckDBStore(tmp / f"{name}{k}.duckdb")
        if schemas:
            for activity, builtin in SCHEMA_OF.items():
                register_schema(store, activity, builtin=builtin, mode="reject", now=NOW)
        report, seconds = timed(lambda s=store: import_file(s, src, now=NOW))
        best = min(best, seconds)
        validated = store.fetchone(
            "SELECT count(*) FROM activities WHERE list_contains(?, activity)", [sorted(SCHEMA_OF)]
        )[0] + report.reasons.get("schema_violation", 0)
        store.close()
    return best, report, validated


def costs(tmp: Path, customers: int) -> None:
    src = tmp / "cost.ndjson"
    n = write_ndjson(src, seed=99, customers=customers, plant_anomalies=True)
    plain_s, _, _ = import_seconds(tmp, src, "plain", schemas=False)
    schema_s, report, validated = import_seconds(tmp, src, "schema", schemas=True)
    store = DuckDBStore(tmp / "plain0.duckdb")
    _, catalog_s = timed(lambda: list_activities(store))
    _, drift_s = timed(lambda: detect_drift(store))
    _, anomalies_s = timed(lambda: detect_anomalies(store, now=NOW))
    store.close()
    rejected = report.reasons.get("schema_violation", 0)
    print(f"\ncosts on {n:,} events (imports: best of {REPEATS}):")
    print(
        f"  catalog {catalog_s:.2f} s · drift (weekly) {drift_s:.2f} s · anomalies {anomalies_s:.2f} s"
    )
    print(
        f"  import without schemas {plain_s:.2f} s ({n / plain_s:,.0f} events/s); with reject-mode "
        f"schemas on {len(SCHEMA_OF)} activities ({validated:,} events validated) {schema_s:.2f} s "
        f"({n / schema_s:,.0f} events/s); ratio {schema_s / plain_s:.2f}x; "
        f"{rejected:,} rejected as schema_violation; validation "
        f"{max(schema_s - plain_s, 0) / max(validated, 1) * 1e6:,.0f} µs per validated event"
    )


if __name__ == "__main__":
    sys.exit(main(sys.argv))
