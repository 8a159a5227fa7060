"""``activityschema migrate``: a v1.0/v1.1 stream to v2.0, with a dry run and a validation report."""

from __future__ import annotations

import typer

from ...errors import ValidationError
from ._common import DbOption, JsonOption, console, db_path, print_json, print_table

BackendOption = typer.Option(None, "--backend", help="duckdb or snowflake (default: the 'backend' setting).")


def _print(report) -> None:  # type: ignore[no-untyped-def]
    r = report
    title = {"planned": "Dry run: nothing was changed", "migrated": "Migrated",
             "up_to_date": "Nothing to migrate", "validated": "Validated", "invalid": "Validation FAILED"}
    console.print(f"[bold]{title.get(r.status, r.status)}[/bold] ({r.dialect}): {r.reason or r.source_table}")
    if r.source_table:
        console.print(
            f"source {r.source_table} ({r.source_version}): {r.source_rows:,} rows → kept {r.kept:,} · "
            f"duplicates {r.duplicates:,} · conflicts {r.conflicts:,} · invalid {r.invalid:,}"
            + ("" if r.reconciles else " [red](does not reconcile)[/red]"))
        console.print("ids: " + ", ".join(f"{k} {v:,}" for k, v in sorted(r.ids.items())))
    if r.archive_table:
        console.print(f"v1 table kept as [bold]{r.archive_table}[/bold]; new tables: {', '.join(r.tables_created)}")
    if r.feature_keys:
        print_table("feature_json keys (most common)", ["activity", "keys", "rows"],
                    [[k["activity"], ", ".join(f"{c}→{n}" for c, n in k["keys"].items()), k["rows"]]
                     for k in r.feature_keys], max_rows=10)
    if r.validation:
        print_table("Validation", ["check", "ok", "expected", "actual", "detail"],
                    [[c.name, "yes" if c.ok else "NO", c.expected, c.actual, c.detail]
                     for c in r.validation.checks])


def migrate(
    db: str | None = DbOption,
    backend: str | None = BackendOption,
    source_table: str | None = typer.Option(None, "--source-table",
                                            help="The v1 table (default: 'activities', then 'activities_v1')."),
    mapping: str | None = typer.Option(None, "--mapping", help="YAML/JSON file naming feature_json keys."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Report what would happen; change nothing."),
    validate_only: bool = typer.Option(False, "--validate-only",
                                       help="Re-check a migrated store against its v1 source."),
    sample: int = typer.Option(1000, help="Rows in the checksum sample."),
    as_json: bool = JsonOption,
) -> None:
    """Migrate a v1.0/v1.1 stream to v2.0: fold features, backfill ids, dedup, validate."""
    from ...migrate import load_mapping
    from ...migrate import migrate as run_migration
    from ...migrate import validate_migration
    from ...store.backend import opened

    feature_mapping = load_mapping(mapping)
    read_only = dry_run or validate_only
    with opened(backend, db=db_path(db), read_only=read_only) as store:
        try:
            if validate_only:
                report = validate_migration(store, mapping=feature_mapping, source_table=source_table,
                                            sample_size=sample)
            else:
                report = run_migration(store, mapping=feature_mapping, source_table=source_table,
                                       dry_run=dry_run, sample_size=sample)
        except ValidationError as exc:
            if exc.code == "migration_validation_failed":
                print_json(exc.details) if as_json else console.print_json(data=exc.details)
            raise
    print_json(report.to_dict()) if as_json else _print(report)
    if report.validation is not None:
        report.validation.raise_if_failed()


def register(app: typer.Typer) -> None:
    app.command("migrate")(migrate)
