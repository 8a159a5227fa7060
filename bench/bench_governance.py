"""Cost of governance: ingest checks, field encryption, erasure, retention, audit, masking.

Usage: python bench/bench_governance.py [N]   (N demo events, default 1_000_000)

Every figure is measured in the same run as its peer: an import with the governance ingest checks
switched off (the foundation alone) is the baseline for the imports with them on. Prints wall time
and the ratio to the baseline. Memory stays bounded by DuckDB (the store is a file in a temp dir).
"""

from __future__ import annotations

import base64
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from activityschema.demo import write_ndjson
from activityschema.governance import audit, erasure, masking, policies, retention
from activityschema.ingest import importer
from activityschema.store.duckdb import DuckDBStore

EVENTS_DEFAULT = 1_000_000
SUPPRESSED = 1_000
AUDIT_ENTRIES = 500
ENCRYPTED_KEY = "session_id"
GOVERNANCE_CHECKS = ("consent", "suppression", "encryption")


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def import_into(path: Path, source: Path, *, checks: bool, setup: Callable[[DuckDBStore], None] | None = None) -> float:
    original = importer.ingest_checks
    if not checks:
        importer.ingest_checks = lambda: tuple(  # type: ignore[assignment]
            c for c in original() if c.__module__.rsplit(".", 1)[-1] not in GOVERNANCE_CHECKS)
    try:
        with DuckDBStore(path) as store:
            if setup:
                setup(store)
            seconds, _ = timed(lambda: importer.import_file(store, source))
    finally:
        importer.ingest_checks = original  # type: ignore[assignment]
    return seconds


def suppress_many(store: DuckDBStore) -> None:
    for i in range(SUPPRESSED):
        erasure.forget(store, f"nobody-{i}") if i < 3 else None
    with store.write() as con:  # the rest straight into the list (forget of absent ids costs a scan each)
        from activityschema.governance import keys, suppression
        secret = keys.hash_secret(con)
        for i in range(3, SUPPRESSED):
            suppression.suppress_erased(con, secret, f"nobody-{i}", [], actor="bench", now=importer.utc_now())


def main(argv: list[str]) -> int:
    count = int(argv[1].replace("_", "")) if len(argv) > 1 else EVENTS_DEFAULT
    os.environ.setdefault("ACTIVITYSCHEMA_MASTER_KEY", base64.b64encode(os.urandom(32)).decode())
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        source = root / "events.ndjson"
        write_ndjson(source, events=count, seed=7)
        base = import_into(root / "base.duckdb", source, checks=False)
        print(f"{count:,} events · import without governance checks (baseline): {base:.2f} s")
        for label, setup in (("checks on, nothing configured", None),
                             (f"{SUPPRESSED:,} suppressed ids", suppress_many),
                             (f"encrypting '{ENCRYPTED_KEY}'", lambda s: policies.set_policy(s, "encrypt_keys", [ENCRYPTED_KEY]))):
            seconds = import_into(root / f"{len(label)}.duckdb", source, checks=True, setup=setup)
            print(f"import, {label}: {seconds:.2f} s ({seconds / base:.2f}x baseline)")
        with DuckDBStore(root / "base.duckdb") as store:
            victim = store.fetchone("SELECT customer FROM activities WHERE customer IS NOT NULL "
                                    "GROUP BY 1 ORDER BY count(*) DESC LIMIT 1")[0]
            seconds, report = timed(lambda: erasure.forget(store, victim))
            print(f"forget one customer ({sum(report.deleted.values()):,} rows, full-store trace scan): {seconds:.2f} s")
            retention.set_policy(store, "claude_*", 30)
            retention.set_policy(store, "*", 90)
            latest = store.fetchone("SELECT max(ts) FROM activities")[0]
            dry, planned = timed(lambda: retention.apply(store, dry_run=True, now=latest))
            applied, done = timed(lambda: retention.apply(store, now=latest))
            print(f"retention dry run: {dry:.2f} s · apply ({done.events:,} events, "
                  f"{done.partitions_renumbered:,} partitions renumbered): {applied:.2f} s")
            appended, _ = timed(lambda: [audit.audit_event(store, "bench", "query", row_count=i) for i in range(AUDIT_ENTRIES)])
            verified, ok = timed(lambda: audit.verify(store))
            print(f"audit: {AUDIT_ENTRIES / appended:,.0f} appends/s · verify {ok.entries:,} entries: {verified:.3f} s (ok={ok.ok})")
            masked, summary = timed(lambda: masking.mask_copy(store, root / "masked.duckdb"))
            print(f"masked copy ({summary['activities']:,} events, {summary['rows_with_masked_values']:,} masked): {masked:.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
