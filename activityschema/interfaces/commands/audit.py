"""``activityschema audit``: verify the tamper-evident audit log, list entries, show the head."""

from __future__ import annotations

import typer

from ...errors import ValidationError
from ...governance import audit
from ._common import DbOption, JsonOption, console, open_db, print_json, print_table
from ._gov import audit_read

audit_app = typer.Typer(help="The append-only, hash-chained audit log.", no_args_is_help=True)


def _expected(head: str | None) -> tuple[int, str] | None:
    if head is None:
        return None
    seq, sep, digest = head.partition(":")
    if not sep or not seq.isdigit() or len(digest) != 64:
        raise ValidationError("--expect-head must be SEQ:HASH as printed by `activityschema audit head`.", code="invalid_head")
    return int(seq), digest


@audit_app.command("verify")
def verify(
    expect_head: str | None = typer.Option(None, help="SEQ:HASH kept outside the store (from `audit head`)."),
    db: str | None = DbOption,
    as_json: bool = JsonOption,
) -> None:
    """Check the whole chain; exit 1 if any entry was edited, removed, inserted or reordered."""
    with open_db(db) as store:
        report = audit.verify(store, expect_head=_expected(expect_head))
        audit_read(store, "audit_verify", row_count=report.entries, ok=report.ok)
    if as_json:
        print_json(report.to_dict())
    elif report.ok:
        console.print(f"[green]audit log intact[/green]: {report.entries:,} entries, head {report.head_seq}.")
    else:
        for p in report.problems:
            console.print(f"[red]entry {p['seq']}[/red]: {p['problem']}")
    if not report.ok:
        raise typer.Exit(1)


@audit_app.command("list")
def list_(action: str | None = typer.Option(None, help="Only this action."), limit: int = typer.Option(50, min=1),
          db: str | None = DbOption, as_json: bool = JsonOption) -> None:
    """The latest audit entries (identifiers appear only as keyed hashes)."""
    with open_db(db) as store:
        rows = audit.list_entries(store, action=action, limit=limit)
        audit_read(store, "audit_list", row_count=len(rows))
    if as_json:
        print_json(rows)
    else:
        print_table("Audit log", ["seq", "at", "actor", "action", "template", "query_hash", "rows", "subject"],
                    [[r["seq"], r["logged_at"], r["actor"], r["action"], r["template"], r["query_hash"], r["row_count"], r["subject"]]
                     for r in rows], max_rows=limit)


@audit_app.command("head")
def head(db: str | None = DbOption) -> None:
    """Print SEQ:HASH of the last entry; keep it elsewhere and pass it to verify --expect-head."""
    with open_db(db, read_only=True) as store:
        h = audit.head(store)
    print(f"{h['seq']}:{h['entry_hash']}" if h else "0:" + audit.GENESIS)


def register(app: typer.Typer) -> None:
    app.add_typer(audit_app, name="audit")
