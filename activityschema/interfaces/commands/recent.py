"""``activityschema recent``: the newest events (the spec's Recent Activity pattern)."""

from __future__ import annotations

import json

import typer

from ...analytics.common.durations import parse_duration
from ...analytics.recent import run_recent
from ...analytics.recent.query import RecentResult
from ._common import DbOption, JsonOption, open_db, print_table
from ._insights import merge, parse_now, show, when

FEATURE_PREVIEW = 60


def recent(
    db: str | None = DbOption,
    customer: str | None = typer.Option(None, "--customer", help="Only this actor (customer or anonymous id)."),
    window: str = typer.Option("24h", help="How far back from now, e.g. 24h, 7d, 30m."),
    activity: list[str] = typer.Option(None, "--activity", help="Only this activity (repeatable)."),
    limit: int = typer.Option(100, help="How many events."),
    now: str | None = typer.Option(None, "--now", help="The end of the window (ISO 8601, UTC); default: the clock."),
    as_json: bool = JsonOption,
) -> None:
    """Recent activity: events of the last window, newest first."""
    body = merge({"window": parse_duration(window, what="window").model_dump(), "limit": limit},
                 actor=customer, activities=list(activity) if activity else None)
    with open_db(db) as store:
        result = run_recent(store, body, created_by="cli", now=parse_now(now))
    show(result, as_json, lambda r: _print_recent(r, customer))


def _print_recent(result: RecentResult, customer: str | None) -> None:
    who = f" of {customer}" if customer else ""
    rows = [[when(e.ts), e.activity, e.customer or e.anonymous_customer_id or "",
             json.dumps(e.feature_json)[:FEATURE_PREVIEW] if e.feature_json else ""] for e in result.events]
    print_table(f"{len(rows):,} most recent events{who} since {when(result.since)} UTC",
                ["ts", "activity", "actor", "feature_json"], rows, max_rows=len(rows))


def register(app: typer.Typer) -> None:
    app.command("recent")(recent)
