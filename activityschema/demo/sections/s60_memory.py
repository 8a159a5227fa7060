"""Demo section: agent memory — a query with its hash, an insight citing it, the customer's context."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from ...analytics.runner import run_template
from ...memory.atoms import record_atom
from ...memory.context import read_context, refresh_contexts
from ...store.duckdb import DuckDBStore

ORDER = 60
TOP_CUSTOMER_SQL = """
SELECT coalesce(customer, anonymous_customer_id) AS actor
FROM activities WHERE coalesce(customer, anonymous_customer_id) IS NOT NULL
GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1
"""


def show(store: DuckDBStore, console: Console) -> None:
    row = store.fetchone(TOP_CUSTOMER_SQL)
    if row is None:
        return
    customer = row[0]
    counts = run_template(store, "customer_activity_counts", {"customer": customer}, created_by="demo")
    top = counts.rows()[0]
    atom = record_atom(store, customer_id=customer, subject="behaviour", metric="most_frequent_activity",
                       value={"activity": top["activity"], "events": top["events"]},
                       provenance_query_hash=counts.query_hash, ttl=30 * 86400, created_by="demo")
    refresh_contexts(store, [customer])
    stored, context = read_context(store, customer)
    table = Table(title=f"Agent memory: the context of {customer} (version {stored.version})")
    table.add_column("field")
    table.add_column("value", overflow="fold")
    table.add_row("first / last seen", f"{context['first_seen']} … {context['last_seen']}")
    table.add_row("events / revenue", f"{context['event_count']:,} / {context['revenue_total']:,.2f}")
    table.add_row("activities", ", ".join(f"{k} ×{v['count']}" for k, v in list(context["activities"].items())[:6]))
    table.add_row("latest", ", ".join(r["activity"] for r in context["recent_activities"][:5]))
    table.add_row("insight", f"{atom.subject}.{atom.metric} = {atom.value} (query {atom.provenance_query_hash})")
    console.print(table)
