"""``activityschema lint``: naming advice for activity names (never a reject)."""

from __future__ import annotations

import typer

from ...schema.lint import lint_activities
from ._common import DbOption, JsonOption, console, open_db, print_json, print_table

ACTORLESS_SQL = "SELECT count(*) FROM activities WHERE customer IS NULL AND anonymous_customer_id IS NULL"


def lint(
    names: list[str] = typer.Argument(None, help="Activity names to check; default: every activity in the store."),
    db: str | None = DbOption,
    as_json: bool = JsonOption,
) -> None:
    """Check activity names against the spec's naming conventions (advice only)."""
    actorless = 0
    if not names:
        with open_db(db, read_only=True) as store:
            names = [r[0] for r in store.fetchall("SELECT DISTINCT activity FROM activities ORDER BY 1")]
            row = store.fetchone(ACTORLESS_SQL)
            actorless = row[0] if row else 0
    findings = lint_activities(names)
    if as_json:
        print_json({name: [f.__dict__ for f in fs] for name, fs in findings.items()})
        return
    rows = [[name, f.severity, f.code, f.message] for name, fs in findings.items() for f in fs]
    if rows:
        print_table("Naming advice", ["activity", "severity", "code", "message"], rows, max_rows=500)
    else:
        console.print(f"[green]{len(names)} activity names follow the conventions.[/green]")
    if actorless:
        console.print(f"[yellow]warning[/yellow]: {actorless:,} events have neither customer nor anonymous_customer_id; they take no part in per-actor analytics.")


def register(app: typer.Typer) -> None:
    app.command("lint")(lint)
