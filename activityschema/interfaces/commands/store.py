"""Foundation commands: init, import, stats, sql."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from ...analytics.stats import activity_stats
from ...errors import ValidationError
from ...ingest.importer import import_file
from ...ingest.merge import LoadReport
from ...store.readonly_sql import run_readonly_sql
from ._common import DbOption, JsonOption, console, db_path, open_db, print_json, print_table

PHASES = ("reading", "validating", "merging")


def init(db: str | None = DbOption) -> None:
    """Create an empty store (tables, schema version)."""
    with open_db(db) as store:
        console.print(f"Store ready at [bold]{store.path}[/bold] (schema version {store.schema_version()}).")


def _print_report(report: LoadReport) -> None:
    console.print(
        f"[bold]{report.source}[/bold]: submitted {report.submitted:,} · "
        f"[green]accepted {report.accepted:,}[/green] · duplicate {report.duplicate:,} · "
        f"[red]rejected {report.rejected:,}[/red]"
    )
    if report.reasons:
        print_table("Top reject reasons", ["reason", "records"], report.reasons.most_common(10))


def import_(
    files: list[str] = typer.Argument(..., help="NDJSON (.ndjson/.jsonl), CSV or Parquet files; '-' reads NDJSON from stdin."),
    db: str | None = DbOption,
    fmt: str | None = typer.Option(None, "--format", help="ndjson, csv or parquet (default: from the extension)."),
    derive_ids: bool = typer.Option(False, "--derive-ids", help="Map non-UUID ids (and missing ids) to stable UUID v5 ids."),
    as_json: bool = JsonOption,
) -> None:
    """Import files: validate column-wise, dedup on activity_id, keep rejects with their reasons."""
    total = LoadReport(batch_id="", source="total")
    with open_db(db) as store:
        for name in files:
            path, fmt_used = _materialize(name, fmt)
            report = _import_with_progress(store, path, fmt_used, derive_ids, quiet=as_json)
            total.add(report)
            if not as_json:
                _print_report(report)
    if as_json:
        print_json(total.to_dict())
    elif len(files) > 1:
        _print_report(total)


def _materialize(name: str, fmt: str | None) -> tuple[str, str | None]:
    if name != "-":
        return name, fmt
    tmp = tempfile.NamedTemporaryFile("wb", suffix=".ndjson", delete=False)
    with tmp:
        for chunk in iter(lambda: sys.stdin.buffer.read(1 << 20), b""):
            tmp.write(chunk)
    return tmp.name, "ndjson"


def _import_with_progress(store, path: str, fmt: str | None, derive_ids: bool, *, quiet: bool) -> LoadReport:  # type: ignore[no-untyped-def]
    if quiet or not console.is_terminal:
        return import_file(store, path, fmt=fmt, derive_ids=derive_ids)
    with Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.fields[phase]}"),
                  TimeElapsedColumn(), console=console, transient=True) as bar:
        task = bar.add_task(f"importing {Path(path).name}", total=len(PHASES), phase="")

        def step(phase: str) -> None:
            bar.update(task, completed=PHASES.index(phase), phase=phase)

        report = import_file(store, path, fmt=fmt, derive_ids=derive_ids, progress=step)
        bar.update(task, completed=len(PHASES))
    return report


def stats(db: str | None = DbOption, as_json: bool = JsonOption) -> None:
    """Per activity: events, actors, first and last seen."""
    with open_db(db, read_only=True) as store:
        rows = activity_stats(store)
    if as_json:
        print_json(rows)
        return
    print_table(f"Activities in {db_path(db)}", ["activity", "events", "actors", "first_seen", "last_seen"],
                [[r["activity"], f"{r['events']:,}", f"{r['actors']:,}", r["first_seen"], r["last_seen"]] for r in rows],
                max_rows=200)


def sql(
    query: str = typer.Argument(..., help="A read-only SQL query (SELECT / WITH / DESCRIBE / SHOW)."),
    db: str | None = DbOption,
    limit: int = typer.Option(100, help="Rows to show."),
    as_json: bool = JsonOption,
) -> None:
    """Run read-only ad-hoc SQL against the store."""
    if limit < 1:
        raise ValidationError("--limit must be at least 1.", code="invalid_limit")
    with open_db(db, read_only=True) as store:
        columns, rows = run_readonly_sql(store, query, limit)
    if as_json:
        print_json([dict(zip(columns, r, strict=True)) for r in rows])
    else:
        print_table(None, columns, rows, max_rows=limit)


def register(app: typer.Typer) -> None:
    app.command("init")(init)
    app.command("import")(import_)
    app.command("stats")(stats)
    app.command("sql")(sql)
