"""Demo section: governance — erase a customer, preview retention, verify the audit chain."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from ...governance import audit, erasure, retention
from ...store.duckdb import DuckDBStore

ORDER = 80
DEMO_ACTOR = "demo"
DEMO_RETENTION = ("claude_*", 30)
PICK_SQL = """
SELECT customer FROM activities
WHERE customer IS NOT NULL AND anonymous_customer_id IS NOT NULL
GROUP BY customer ORDER BY count(*) DESC, customer LIMIT 1
"""


def show(store: DuckDBStore, console: Console) -> None:
    row = store.fetchone(PICK_SQL)
    if row is None:
        return
    report = erasure.forget(store, row[0], actor=DEMO_ACTOR, reason="demo: right to erasure")
    table = Table(title=f"forget {row[0]}: what was removed ({report.anonymous_ids} linked anonymous ids)")
    for col in ("table", "rows deleted", "mentions replaced"):
        table.add_column(col)
    for name in sorted(set(report.deleted) | set(report.scrubbed)):
        table.add_row(name, str(report.deleted.get(name, 0)), str(report.scrubbed.get(name, 0)))
    console.print(table)
    console.print(f"no trace left: {report.complete} · the customer is now suppressed (re-sent events are refused)")
    retention.set_policy(store, *DEMO_RETENTION, actor=DEMO_ACTOR)
    latest = store.fetchone("SELECT max(ts) FROM activities")
    dry = retention.apply(store, dry_run=True, now=latest[0] if latest else None, actor=DEMO_ACTOR)
    console.print(f"retention dry run ({DEMO_RETENTION[0]} kept {DEMO_RETENTION[1]} days, as of the last event): "
                  f"would delete {dry.events:,} events")
    verified = audit.verify(store)
    console.print(f"audit log: {verified.entries} entries, chain intact: {verified.ok}")
