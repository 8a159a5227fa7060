"""``activityschema retention-policy``: maximum ages per activity pattern, and applying them.

(Named ``retention-policy`` because ``retention`` is the cohort-retention analysis command.)
"""

from __future__ import annotations

from datetime import datetime

import typer

from ...governance import retention
from ._common import DbOption, JsonOption, console, open_db, print_json, print_table
from ._gov import actor, audit_read

retention_app = typer.Typer(help="Data retention: delete events older than a maximum age per activity pattern.",
                            no_args_is_help=True)


@retention_app.command("list")
def list_(db: str | None = DbOption, as_json: bool = JsonOption) -> None:
    """The retention policies."""
    with open_db(db) as store:
        rows = retention.list_policies(store)
        audit_read(store, "retention_list", row_count=len(rows))
    if as_json:
        print_json(rows)
    else:
        print_table("Retention policies", ["pattern", "max age (days)", "set at", "by"],
                    [[r["pattern"], r["max_age_days"], r["created_at"], r["created_by"]] for r in rows])


@retention_app.command("set")
def set_(pattern: str = typer.Argument(..., help="Activity glob, e.g. 'claude_*' or '*'."),
         days: int = typer.Argument(..., help="Maximum age in days."), db: str | None = DbOption) -> None:
    """Add or change a policy (the shortest age of all matching patterns applies)."""
    with open_db(db) as store:
        retention.set_policy(store, pattern, days, actor=actor())
    console.print(f"Events of activities matching '{pattern}' are kept {days} days.")


@retention_app.command("remove")
def remove(pattern: str = typer.Argument(...), db: str | None = DbOption) -> None:
    """Remove a policy."""
    with open_db(db) as store:
        retention.remove_policy(store, pattern, actor=actor())
    console.print(f"Removed the policy for '{pattern}'.")


@retention_app.command("apply")
def apply(
    dry_run: bool = typer.Option(False, "--dry-run", help="Only report what would be deleted."),
    now: datetime | None = typer.Option(None, help="Reference time (UTC; default: now)."),
    db: str | None = DbOption,
    as_json: bool = JsonOption,
) -> None:
    """Delete expired events and rejects; renumber helper columns of touched partitions."""
    with open_db(db) as store:
        report = retention.apply(store, dry_run=dry_run, now=now, actor=actor())
    if as_json:
        print_json(report.to_dict())
        return
    verb = "would delete" if dry_run else "deleted"
    print_table(f"Retention ({'dry run' if dry_run else 'applied'})", ["activity", "pattern", "max age", "cutoff", "events", "rejects"],
                [[r["activity"], r["pattern"], r["max_age_days"], r["cutoff"], r["events"], r["rejects"]] for r in report.by_activity])
    console.print(f"{verb} {report.events:,} events and {report.rejects:,} rejects.")


def register(app: typer.Typer) -> None:
    app.add_typer(retention_app, name="retention-policy")
