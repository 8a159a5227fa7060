"""``activityschema quality``: feature schemas, drift, volume anomalies and typed views."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import typer

from ...errors import ValidationError
from ...quality import schemas as S
from ...quality.anomalies import detect_anomalies
from ...quality.drift import WINDOW_DEFAULT, detect_drift
from ...quality.reports import anomalies_html, anomalies_svg, drift_markdown
from ...quality.views import cast_failures, create_typed_views, snowflake_typed_views_ddl
from ._common import DbOption, JsonOption, console, err_console, open_db, print_json, print_table

quality_app = typer.Typer(
    help="Data quality: feature schemas, drift, volume anomalies, typed views.",
    no_args_is_help=True,
)
schema_app = typer.Typer(
    help="Feature schemas (JSON Schema per activity) and their modes: off, warn, reject.",
    no_args_is_help=True,
)
quality_app.add_typer(schema_app, name="schema")


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _date(value: str | None, option: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValidationError(
            f"Option {option} has value '{value}'. Use a date like 2026-03-01.", code="invalid_date"
        ) from None


def _read_schema(path: str) -> Any:
    file = Path(path)
    if not file.is_file():
        raise ValidationError(
            f"File '{path}' does not exist or is not a file.", code="file_not_found"
        )
    try:
        return json.loads(file.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise ValidationError(
            f"File '{path}' is not valid JSON: {exc}.", code="invalid_feature_schema"
        ) from None


def _write(path: str, text: str, what: str, *, quiet: bool = False) -> None:
    """Write a report; the note goes to stderr when stdout carries JSON."""
    Path(path).write_text(text, encoding="utf-8")
    (err_console if quiet else console).print(f"Wrote the {what} to {path}")


# -- schema ---------------------------------------------------------------------------------------
@schema_app.command("register")
def register_(
    activity: str = typer.Argument(
        ..., help="The activity whose feature_json the schema describes."
    ),
    builtin: str | None = typer.Option(
        None, "--builtin", help=f"A built-in schema: {', '.join(S.BUILTIN_SCHEMAS)}."
    ),
    file: str | None = typer.Option(None, "--file", help="A JSON Schema file."),
    mode: str = typer.Option(S.MODE_DEFAULT, "--mode", help="off, warn or reject."),
    db: str | None = DbOption,
) -> None:
    """Register (or replace) the JSON Schema of an activity's feature_json."""
    schema = _read_schema(file) if file else None
    name = Path(file).stem if file else None
    with open_db(db) as store:
        row = S.register_schema(
            store, activity, schema=schema, builtin=builtin, name=name, mode=mode, now=_now()
        )
    console.print(
        f"Registered schema '{row['schema_name']}' for {activity} in {mode} mode. "
        f"Check stored events with: activityschema quality schema check {activity}"
    )


@schema_app.command("list")
def list_(db: str | None = DbOption, as_json: bool = JsonOption) -> None:
    """List registered schemas and their modes."""
    with open_db(db, read_only=True) as store:
        rows = S.list_schemas(store)
    if as_json:
        print_json(rows)
        return
    print_table(
        "Feature schemas",
        ["activity", "schema", "mode", "registered at", "properties"],
        [
            [
                r["activity"],
                r["schema_name"],
                r["mode"],
                r["registered_at"],
                ", ".join(r["schema"].get("properties", {})),
            ]
            for r in rows
        ],
        max_rows=500,
    )


@schema_app.command("show")
def show(
    name: str = typer.Argument(
        ..., help="An activity with a registered schema, or a built-in schema name."
    ),
    db: str | None = DbOption,
) -> None:
    """Print a registered or built-in schema as JSON."""
    if name in S.BUILTIN_SCHEMAS:
        print_json(S.builtin_schema(name))
        return
    with open_db(db, read_only=True) as store:
        found = S.registered_schema(store, name)
    print_json(json.loads(found[1]))


@schema_app.command("mode")
def mode_(
    activity: str = typer.Argument(...),
    mode: str = typer.Argument(..., help="off, warn or reject."),
    db: str | None = DbOption,
) -> None:
    """Change the mode of a registered schema."""
    with open_db(db) as store:
        S.set_schema_mode(store, activity, mode)
    console.print(f"{activity}: schema mode is now {mode}.")


@schema_app.command("remove")
def remove(activity: str = typer.Argument(...), db: str | None = DbOption) -> None:
    """Remove the schema of an activity."""
    with open_db(db) as store:
        S.remove_schema(store, activity)
    console.print(f"Removed the schema of {activity}.")


@schema_app.command("check")
def check(
    activities: list[str] = typer.Argument(
        None, help="Activities to check (default: every one with a schema)."
    ),
    builtin: str | None = typer.Option(
        None, "--builtin", help="Check against this built-in schema instead."
    ),
    db: str | None = DbOption,
    as_json: bool = JsonOption,
) -> None:
    """Validate the events already stored against the schema (ingestion only checks new ones)."""
    with open_db(db, read_only=True) as store:
        names = activities or [r["activity"] for r in S.list_schemas(store)]
        schema = S.builtin_schema(builtin) if builtin else None
        results = [S.check_stored(store, a, schema=schema) for a in names]
    if as_json:
        print_json(results)
        return
    print_table(
        "Stored events against feature schemas",
        ["activity", "schema", "events", "violations", "first errors"],
        [
            [
                r["activity"],
                builtin or r["schema_name"],
                f"{r['events']:,}",
                f"{r['violations']:,}",
                "; ".join(r["examples"][0]["errors"]) if r["examples"] else "",
            ]
            for r in results
        ],
        max_rows=500,
    )


@schema_app.command("warnings")
def warnings(
    activity: str | None = typer.Option(None, "--activity"),
    limit: int = typer.Option(50, min=1),
    db: str | None = DbOption,
    as_json: bool = JsonOption,
) -> None:
    """Records accepted in warn mode although their feature_json failed the schema."""
    with open_db(db, read_only=True) as store:
        rows = S.list_schema_warnings(store, activity=activity, limit=limit)
    if as_json:
        print_json(rows)
        return
    print_table(
        "Schema warnings",
        ["activity_id", "activity", "ts", "schema", "reason"],
        [
            [
                r["activity_id"],
                r["activity"],
                r["ts"],
                r["schema_name"],
                "; ".join(x["message"] for x in r["reasons"]),
            ]
            for r in rows
        ],
        max_rows=limit,
    )


# -- drift, anomalies, views -----------------------------------------------------------------------
@quality_app.command("drift")
def drift(
    window: str = typer.Option(WINDOW_DEFAULT, help="day, week or month."),
    activity: str | None = typer.Option(None, "--activity", help="Only this activity."),
    since: str | None = typer.Option(None, help="First day (inclusive), e.g. 2026-01-01."),
    until: str | None = typer.Option(None, help="Last day (inclusive)."),
    markdown: str | None = typer.Option(
        None, "--markdown", help="Also write the report as Markdown to this file."
    ),
    db: str | None = DbOption,
    as_json: bool = JsonOption,
) -> None:
    """New keys, vanished keys and type changes in feature_json, window by window."""
    start, end = _date(since, "--since"), _date(until, "--until")
    with open_db(db, read_only=True) as store:
        report = detect_drift(
            store,
            window=window,
            activity=activity,
            since=datetime.combine(start, datetime.min.time()) if start else None,
            until=datetime.combine(end, datetime.max.time()) if end else None,
        )
    if markdown:
        _write(markdown, drift_markdown(report), "drift report", quiet=as_json)
    if as_json:
        print_json(report)
        return
    findings = report["findings"]
    console.print(
        f"{report['activities']} activities, {report['windows_compared']} {window} windows compared: "
        f"{len(findings)} drift findings."
    )
    if findings:
        print_table(
            "Schema drift",
            ["window", "activity", "kind", "key", "baseline", "finding"],
            [
                [f["window_start"], f["activity"], f["kind"], f["key"], f["baseline"], f["message"]]
                for f in findings
            ],
            max_rows=500,
        )


@quality_app.command("anomalies")
def anomalies(
    activity: str | None = typer.Option(None, "--activity", help="Only this activity."),
    until: str | None = typer.Option(
        None, help="Last day to evaluate (default: the newest complete day)."
    ),
    svg: str | None = typer.Option(None, "--svg", help="Write the picture (SVG) to this file."),
    html: str | None = typer.Option(
        None, "--html", help="Write a self-contained HTML report to this file."
    ),
    db: str | None = DbOption,
    as_json: bool = JsonOption,
) -> None:
    """Spikes, drops and stopped activities in daily volume (weekday-aware trailing baseline)."""
    with open_db(db, read_only=True) as store:
        result = detect_anomalies(
            store,
            now=_now(),
            until=_date(until, "--until"),
            activity=activity,
            include_series=bool(svg or html),
        )
    picked = [activity] if activity else None
    if svg:
        _write(svg, anomalies_svg(result, picked), "picture", quiet=as_json)
    if html:
        _write(html, anomalies_html(result, picked), "anomaly report", quiet=as_json)
    result.pop("series", None)
    if as_json:
        print_json(result)
        return
    findings = result["findings"]
    console.print(
        f"{result['activities']} activities, {result['evaluated_days']:,} activity-days evaluated up to "
        f"{result['end_day']}: {len(findings)} anomalies."
    )
    if findings:
        print_table(
            "Volume anomalies",
            ["day", "to", "activity", "kind", "observed", "expected", "score"],
            [
                [
                    f["day"],
                    f["last_day"],
                    f["activity"],
                    f["kind"],
                    f"{f['observed']:,}",
                    f"{f['expected']:,}",
                    f["score"],
                ]
                for f in findings
            ],
            max_rows=500,
        )


@quality_app.command("views")
def views(
    create: bool = typer.Option(
        False, "--create", help="(Re)create the typed views in the store first."
    ),
    snowflake_ddl: bool = typer.Option(
        False, "--snowflake-ddl", help="Print the Snowflake DDL of the views and exit."
    ),
    db: str | None = DbOption,
    as_json: bool = JsonOption,
) -> None:
    """Typed views of the feature_json patterns and how many values failed their safe casts."""
    if snowflake_ddl:
        for statement in snowflake_typed_views_ddl():
            typer.echo(statement + ";\n")
        return
    if create:
        with open_db(db) as store:
            create_typed_views(store)
    with open_db(db, read_only=True) as store:
        rows = cast_failures(store)
    if as_json:
        print_json(rows)
        return
    print_table(
        "Typed views: values that failed the cast (now NULL)",
        ["view", "column", "kind", "rows", "failed"],
        [[r["view"], r["column"], r["kind"], f"{r['rows']:,}", f"{r['failed']:,}"] for r in rows],
        max_rows=500,
    )


def register(app: typer.Typer) -> None:
    app.add_typer(quality_app, name="quality")
