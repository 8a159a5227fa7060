"""Demo section: what is in the store."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from ...analytics.stats import activity_stats
from ...store.duckdb import DuckDBStore

ORDER = 10


def show(store: DuckDBStore, console: Console) -> None:
    rows = activity_stats(store)
    table = Table(title="Activities in the demo stream")  # one row per activity
    for col in ("activity", "events", "actors", "first seen", "last seen"):
        table.add_column(col)
    for r in rows:
        table.add_row(r["activity"], f"{r['events']:,}", f"{r['actors']:,}",
                      f"{r['first_seen']:%Y-%m-%d %H:%M}", f"{r['last_seen']:%Y-%m-%d %H:%M}")
    console.print(table)
    sample = store.fetchall(
        "SELECT customer, activity, strftime(ts, '%Y-%m-%d %H:%M:%S'), activity_occurrence, "
        "strftime(activity_repeated_at, '%Y-%m-%d %H:%M:%S') FROM activities "
        "WHERE customer = (SELECT customer FROM activities WHERE activity = 'order_completed' "
        "AND activity_occurrence = 2 ORDER BY customer LIMIT 1) AND activity = 'order_completed' ORDER BY ts"
    )
    if sample:
        t = Table(title="Helper columns for one customer's orders")
        for col in ("customer", "activity", "ts", "occurrence", "repeated_at"):
            t.add_column(col, no_wrap=True)
        for row in sample:
            t.add_row(*["" if v is None else str(v) for v in row])
        console.print(t)
    linked = store.fetchone("SELECT count(*) FROM identity_map")
    console.print(f"Identity links (anonymous visitors later identified): {linked[0] if linked else 0:,}")
