"""Demo section: the headline product analytics — the signup funnel, weekly retention, top paths."""

from __future__ import annotations

from datetime import timedelta

from rich import box
from rich.console import Console
from rich.table import Table

from ...analytics.common.durations import format_seconds
from ...analytics.funnels import run_funnel
from ...analytics.paths import run_paths
from ...analytics.retention import run_retention
from ...store.duckdb import DuckDBStore

ORDER = 30
FUNNEL_STEPS = ["signup_started", "email_verified", "profile_completed"]
RETENTION_INTERVALS = 8
COHORTS_SHOWN = 6
PATHS_SHOWN = 5
CREATED_BY = "demo"


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.0f}%"


def _funnel(store: DuckDBStore, console: Console) -> None:
    result = run_funnel(store, {"steps": FUNNEL_STEPS, "window": {"days": 14}}, created_by=CREATED_BY)
    table = Table(title="Signup funnel (ordered, 14-day window)", box=box.SIMPLE_HEAD)
    for col, justify in (("step", "left"), ("actors", "right"), ("conv.", "right"), ("of first", "right"), ("median time", "right")):
        table.add_column(col, justify=justify)  # type: ignore[arg-type]
    for s in result.steps:
        later = s.step > 1
        table.add_row(f"{s.step}. {s.name}", f"{s.count:,}", _pct(s.conversion_from_previous) if later else "",
                      _pct(s.conversion_from_first), format_seconds(s.median_seconds_from_previous) if later else "")
    console.print(table)
    console.print(f"[dim]query {result.query_hash}[/dim]")


def _retention(store: DuckDBStore, console: Console) -> None:
    row = store.fetchone("SELECT max(ts) FROM activities")
    now = (row[0] if row and row[0] else None)
    now = now + timedelta(seconds=1) if now else None
    result = run_retention(store, {"start": "signup_started", "period": "week", "intervals": RETENTION_INTERVALS},
                           created_by=CREATED_BY, now=now)
    table = Table(title=f"Weekly retention after signup (as of {result.now:%Y-%m-%d})", box=box.SIMPLE_HEAD)
    table.add_column("cohort")
    table.add_column("actors", justify="right")
    for k in range(RETENTION_INTERVALS):
        table.add_column(f"W{k}", justify="right")

    def cells(items: list) -> list[str]:  # type: ignore[type-arg]
        return ["" if c.count is None else (_pct(c.rate) + ("" if c.complete else "*")) for c in items]

    for c in result.cohorts[:COHORTS_SHOWN]:
        table.add_row(c.cohort.isoformat(), f"{c.size:,}", *cells(c.cells))
    table.add_row("average", f"{sum(c.size for c in result.cohorts):,}", *cells(result.average))
    console.print(table)
    console.print(f"[dim]first {COHORTS_SHOWN} of {len(result.cohorts)} cohorts; * incomplete · query {result.query_hash}[/dim]")


def _paths(store: DuckDBStore, console: Console) -> None:
    result = run_paths(store, {"start_activity": "session_started", "collapse_repeats": True, "step_limit": 5,
                               "top_paths": PATHS_SHOWN}, created_by=CREATED_BY)
    table = Table(title=f"Top session paths ({result.paths_total:,} sessions, repeats collapsed)", box=box.SIMPLE_HEAD)
    table.add_column("sessions", justify="right")
    table.add_column("path")
    for p in result.top_paths:
        table.add_row(f"{p.count:,}", " → ".join(p.path))
    console.print(table)
    console.print(f"[dim]query {result.query_hash} · more: activityschema funnel | retention | paths --html out.html[/dim]")


def show(store: DuckDBStore, console: Console) -> None:
    _funnel(store, console)
    _retention(store, console)
    _paths(store, console)
