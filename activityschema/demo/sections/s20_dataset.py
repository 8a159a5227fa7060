"""Demo section: a small headline dataset (signups, their first order after, visits before)."""

from __future__ import annotations

from statistics import median

from rich.console import Console
from rich.table import Table

from ...analytics.dataset import build_dataset
from ...store.duckdb import DuckDBStore

ORDER = 20
ROWS_SHOWN = 5

SIGNUP_DATASET = {
    "cohort": {"activity": "signup_started", "select": "first_ever", "columns": ["customer", "ts"]},
    "append": [
        {"relationship": "first_after", "activity": "order_completed", "columns": ["ts", "revenue_impact"]},
        {"relationship": "aggregate_after", "activity": "order_completed", "aggregate": "count"},
        {"relationship": "aggregate_before", "activity": "visited_page", "aggregate": "count"},
    ],
}


def show(store: DuckDBStore, console: Console) -> None:
    result = build_dataset(store, SIGNUP_DATASET, created_by="demo")
    rows = result.rows()
    if not rows:
        return
    ordered = [r for r in rows if r["first_after_order_completed_ts"] is not None]
    days = [(r["first_after_order_completed_ts"] - r["ts"]).total_seconds() / 86400 for r in ordered]
    table = Table(title="Dataset: each customer's first signup, the first order after it, visits before it")
    for col in result.table.column_names:
        table.add_column(col)
    for r in ordered[:ROWS_SHOWN]:
        table.add_row(*["" if v is None else str(v) for v in r.values()])
    console.print(table)
    console.print(
        f"{len(ordered):,} of {len(rows):,} signups ordered afterwards"
        + (f" (median {median(days):.1f} days to the first order)" if days else "")
        + f"; query hash {result.query_hash} (activityschema provenance {result.query_hash})")
