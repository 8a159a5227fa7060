"""Privacy commands: forget, unsuppress, export (portability), share (third parties), disclosure.

Each command's library call writes its own audit entry (they are compliance actions that must be
logged whatever the interface); ``_gov.actor()`` names the CLI user in it.
"""

from __future__ import annotations

from datetime import datetime

import typer

from ...governance import disclosure as disclosure_mod
from ...governance import erasure, export as export_mod, suppression
from ...store.compact import compact_store
from ._common import DbOption, JsonOption, console, db_path, open_db, print_json, print_table
from ._gov import actor


def forget(
    customer: str = typer.Argument(..., help="The customer id to erase (its linked anonymous ids go with it)."),
    reason: str | None = typer.Option(None, help="Why (e.g. a ticket number); kept in the audit log."),
    compact: bool = typer.Option(False, help="Then rewrite the store file so no old bytes remain in free blocks."),
    db: str | None = DbOption,
    as_json: bool = JsonOption,
) -> None:
    """Erase a customer everywhere (tables, spool, data keys) and suppress it from now on."""
    with open_db(db) as store:
        report = erasure.forget(store, customer, actor=actor(), reason=reason)
    compacted = compact_store(db_path(db)) if compact else None
    if as_json:
        print_json({**report.to_dict(), "compacted": compacted})
        return
    status = "[green]complete: no trace left[/green]" if report.complete else "[red]INCOMPLETE: traces remain[/red]"
    console.print(f"Erased {report.subject} ({report.anonymous_ids} anonymous ids) — {status}")
    rows = [[t, n, report.cleared.get(t, 0), report.scrubbed.get(t, 0)]
            for t in sorted(set(report.deleted) | set(report.cleared) | set(report.scrubbed))
            for n in [report.deleted.get(t, 0)]]
    print_table("Removed", ["table", "rows deleted", "ids cleared", "mentions replaced"], rows)
    console.print(f"data keys destroyed: {report.keys_destroyed} · spool lines blanked {report.spool.get('lines_blanked', 0)}, "
                  f"masked {report.spool.get('lines_masked', 0)} · suppression entries: {report.suppressed}")
    for item in report.residue:
        console.print(f"[red]residue[/red]: {item}")
    if compacted:
        console.print(f"store file rewritten: {compacted['bytes_before']:,} → {compacted['bytes_after']:,} bytes")


def unsuppress(
    customer: str = typer.Argument(..., help="A customer erased earlier."),
    reason: str = typer.Option(..., help="Why the suppression is lifted (required; audited)."),
    db: str | None = DbOption,
) -> None:
    """Lift an erasure's suppression so the customer's events are accepted again (audited)."""
    with open_db(db) as store:
        n = suppression.unsuppress(store, customer, actor=actor(), reason=reason)
    console.print(f"Lifted {n} suppression entries.")


def export(
    customer: str = typer.Argument(..., help="The customer whose data to export."),
    output: str = typer.Option(..., "--output", "-o", help="File to write (one file)."),
    fmt: str = typer.Option("json", "--format", help="json (one document) or ndjson (one record a line)."),
    decrypt: bool = typer.Option(False, help="Open encrypted fields (needs the master key)."),
    db: str | None = DbOption,
    as_json: bool = JsonOption,
) -> None:
    """Write all data held about a customer to one file (right to data portability)."""
    with open_db(db) as store:
        summary = export_mod.export_customer(store, customer, output, fmt=fmt, decrypt=decrypt, actor=actor())
    if as_json:
        print_json(summary)
    else:
        console.print(f"Wrote {summary['activities']:,} events and {summary['rejected_activities']:,} rejects to {output}.")


def share(
    output: str = typer.Argument(..., help="NDJSON file to write."),
    recipient: str = typer.Option(..., help="Who receives the file (kept for disclosure reports)."),
    purpose: str = typer.Option(..., help="sale, share (do-not-sell honoured) or service_provider."),
    activity: str | None = typer.Option(None, help="Only activities matching this glob, e.g. 'order_*'."),
    since: datetime | None = typer.Option(None, help="Only events at or after this time (UTC)."),
    until: datetime | None = typer.Option(None, help="Only events before this time (UTC)."),
    db: str | None = DbOption,
    as_json: bool = JsonOption,
) -> None:
    """Export events for a third party, leaving out do-not-sell customers; recorded for disclosure."""
    with open_db(db) as store:
        result = export_mod.share_activities(store, output, recipient=recipient, purpose=purpose,
                                             activity_pattern=activity, since=since, until=until, actor=actor())
    if as_json:
        print_json(result)
    else:
        console.print(f"Wrote {result['rows']:,} events of {result['actors']:,} actors to {output} "
                      f"({result['excluded_do_not_sell']:,} do-not-sell actors left out).")


def disclosure(customer: str = typer.Argument(..., help="The customer to report on."),
               db: str | None = DbOption, as_json: bool = JsonOption) -> None:
    """What is held about a customer, by category, and who received it (CCPA right to know)."""
    with open_db(db) as store:
        report = disclosure_mod.disclosure_report(store, customer, actor=actor())
    if as_json:
        print_json(report)
        return
    print_table(f"Data held about {customer}", ["category", "held", "detail"],
                [[c["category"], "yes" if c["held"] else "no", c["detail"]] for c in report["categories"]])
    print_table("Activities", ["activity", "events", "first", "last"],
                [[a["activity"], a["events"], a["first_ts"], a["last_ts"]] for a in report["activities"]])
    print_table("Recipients", ["recipient", "purpose", "disclosed at", "events"],
                [[r["recipient"], r["purpose"], r["disclosed_at"], r["events"]] for r in report["recipients"]])


def register(app: typer.Typer) -> None:
    app.command("forget")(forget)
    app.command("unsuppress")(unsuppress)
    app.command("export")(export)
    app.command("share")(share)
    app.command("disclosure")(disclosure)
