"""Demo section: live events through ActivityLogger → spool → loader, with identity stitching.

Runs last (its few hundred events must not change what earlier sections show).
"""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta

from rich.console import Console

from ...ingest.logger import ActivityLogger
from ...ingest.spool_view import backlog
from ...store.duckdb import DuckDBStore

ORDER = 90
LIVE_EVENTS = 500
WAIT_SECONDS = 30.0


def _events(now: datetime, visitor: str, customer: str) -> list[dict[str, object]]:
    pages = [{"activity": "live_page_view", "ts": (now - timedelta(minutes=30 - i)).isoformat() + "Z",
              "anonymous_customer_id": visitor, "feature_json": {"page": f"/docs/{i}"}} for i in range(3)]
    signup = {"activity": "live_signup_complete", "ts": now.isoformat() + "Z", "customer": customer,
              "anonymous_customer_id": visitor}
    rest = [{"activity": "live_page_view", "ts": now.isoformat() + "Z", "customer": f"live-{i % 50}",
             "feature_json": {"page": f"/p/{i % 7}"}} for i in range(LIVE_EVENTS - 4)]
    return [*pages, signup, *rest]


def show(store: DuckDBStore, console: Console) -> None:
    now = datetime.now(UTC).replace(tzinfo=None, microsecond=0)
    visitor, customer = f"anon-{uuid.uuid4().hex[:8]}", f"live-customer-{uuid.uuid4().hex[:6]}"
    with ActivityLogger(store=store) as logger:  # spool beside the store + a loader thread
        started = time.perf_counter()
        ids = [logger.log(e) for e in _events(now, visitor, customer)[:4]]  # one fsync each
        ids += logger.log_many(_events(now, visitor, customer)[4:])         # one fsync for all
        logged = time.perf_counter() - started
        while time.perf_counter() - started < WAIT_SECONDS:
            if store.fetchone("SELECT count(*) FROM activities WHERE activity_id = ?", [ids[-1]])[0]:
                break
            time.sleep(0.02)
        queryable = time.perf_counter() - started
    info = backlog(logger.spool)  # after close(): the loader has stopped and written its offsets
    console.print(
        f"Streaming: logged {len(ids):,} live events durably in {logged * 1e3:,.0f} ms "
        f"(4 one at a time, the rest with log_many); all queryable after {queryable * 1e3:,.0f} ms; "
        f"spool backlog now {info.pending_bytes:,} bytes.")
    rows = store.fetchall("SELECT activity, customer, activity_occurrence FROM activities "
                          "WHERE anonymous_customer_id = ? ORDER BY ts", [visitor])
    console.print(f"Identity stitching: anonymous visitor {visitor} signed up as {customer}; "
                  "their earlier page views now read " + ", ".join(f"{a}#{o} → {c}" for a, c, o in rows))
