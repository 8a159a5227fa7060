"""``activityschema rejects``: list, export and re-submit rejected records."""

from __future__ import annotations

import typer

from ...ingest.rejects import export_rejects, list_rejects, resubmit_rejects
from ._common import DbOption, JsonOption, console, open_db, print_json, print_table

rejects_app = typer.Typer(help="Rejected records: list, export for fixing, re-submit.", no_args_is_help=True)


@rejects_app.command("list")
def list_(
    db: str | None = DbOption,
    reason: str | None = typer.Option(None, help="Only rejects with this reason code."),
    status: str = typer.Option("open", help="open or resubmitted."),
    limit: int = typer.Option(50, min=1),
    as_json: bool = JsonOption,
) -> None:
    """List rejected records with their reasons."""
    with open_db(db, read_only=True) as store:
        rows = list_rejects(store, status=status, reason=reason, limit=limit)
    if as_json:
        print_json(rows)
        return
    print_table("Rejected records", ["reject_id", "received_at", "source", "reasons", "payload"],
                [[r["reject_id"], r["received_at"], r["source"], ", ".join(r["reason_codes"]), r["payload"]] for r in rows],
                max_rows=limit)


@rejects_app.command("export")
def export(
    output: str = typer.Argument(..., help="NDJSON file to write."),
    db: str | None = DbOption,
    reason: str | None = typer.Option(None, help="Only rejects with this reason code."),
) -> None:
    """Write open rejects as NDJSON ({reject_id, reasons, record}) for fixing."""
    with open_db(db, read_only=True) as store:
        n = export_rejects(store, output, reason=reason)
    console.print(f"Wrote {n:,} rejects to {output}. Fix each 'record', then: activityschema rejects resubmit {output}")


@rejects_app.command("resubmit")
def resubmit(file: str = typer.Argument(..., help="A (fixed) rejects export."), db: str | None = DbOption, as_json: bool = JsonOption) -> None:
    """Re-submit fixed records; those that pass are merged and their reject closed."""
    with open_db(db) as store:
        report = resubmit_rejects(store, file)
    if as_json:
        print_json(report.to_dict())
    else:
        console.print(f"resubmitted {report.submitted:,}: accepted {report.accepted:,} · duplicate {report.duplicate:,} · still rejected {report.rejected:,}")


def register(app: typer.Typer) -> None:
    app.add_typer(rejects_app, name="rejects")
