"""``activityschema catalog``: document every activity (table, Markdown, HTML) and edit descriptions."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from ...errors import NotFoundError, suggest
from ...quality.catalog import describe_activity, list_activities
from ...quality.catalog_render import to_html, to_markdown
from ._common import DbOption, JsonOption, console, err_console, open_db, print_json, print_table

catalog_app = typer.Typer(
    help="The activity catalog: events, actors, volume, feature keys, revenue and descriptions.",
    invoke_without_command=True,
)

DESCRIPTION_WIDTH = 48


def _short(text: str | None, width: int = DESCRIPTION_WIDTH) -> str:
    if not text:
        return ""
    return text if len(text) <= width else text[: width - 1] + "…"


def summary_table(rows: list[dict[str, Any]], *, title: str = "Activity catalog") -> Table:
    """The catalog as a Rich table; schema and description columns only when some row has one."""
    table = Table(title=title)
    table.add_column("activity", no_wrap=True)
    for col in ("events", "actors"):
        table.add_column(col, justify="right")
    table.add_column("first seen", no_wrap=True)
    table.add_column("last seen", no_wrap=True)
    for col in ("per day", "keys", "revenue"):
        table.add_column(col, justify="right")
    with_schema = any(r["schema"] for r in rows)
    with_description = any(r["description"] for r in rows)
    if with_schema:
        table.add_column("schema")
    if with_description:
        table.add_column("description", max_width=DESCRIPTION_WIDTH)
    for r in rows:
        cells = [
            r["activity"],
            f"{r['events']:,}",
            f"{r['actors']:,}",
            (r["first_seen"] or "")[:10],
            (r["last_seen"] or "")[:10],
            f"{r['daily_volume']['mean']:,.1f}",
            str(len(r["features"])),
            "" if r["revenue"]["total"] is None else f"{r['revenue']['total']:,.2f}",
        ]
        if with_schema:
            cells.append(f"{r['schema']['name']} ({r['schema']['mode']})" if r["schema"] else "")
        if with_description:
            cells.append(_short(r["description"]))
        table.add_row(*cells)
    return table


def _print_keys(row: dict[str, Any]) -> None:
    print_table(
        f"{row['activity']}: feature_json keys",
        ["key", "types", "fill rate", "examples"],
        [
            [
                f["key"],
                ", ".join(f"{t} {n:,}" for t, n in f["types"].items()),
                f"{f['fill_rate']:.1%}",
                "  ".join(f["examples"]),
            ]
            for f in row["features"]
        ],
        max_rows=200,
    )


def _write(path: str, text: str, what: str, *, quiet: bool = False) -> None:
    """Write a report; the note goes to stderr when stdout carries JSON."""
    Path(path).write_text(text, encoding="utf-8")
    (err_console if quiet else console).print(f"Wrote the {what} to {path}")


@catalog_app.callback()
def catalog(
    ctx: typer.Context,
    db: str | None = DbOption,
    as_json: bool = JsonOption,
    markdown: str | None = typer.Option(
        None, "--markdown", help="Write the catalog as Markdown to this file."
    ),
    html: str | None = typer.Option(
        None, "--html", help="Write the catalog as a self-contained HTML page to this file."
    ),
    keys: bool = typer.Option(False, "--keys", help="Also print each activity's feature keys."),
) -> None:
    """List every activity with its numbers (subcommands: show, describe)."""
    if ctx.invoked_subcommand is not None:
        return
    with open_db(db, read_only=True) as store:
        rows = list_activities(store, include_daily=bool(html))
    if markdown:
        _write(markdown, to_markdown(rows), "catalog (Markdown)", quiet=as_json)
    if html:
        _write(html, to_html(rows), "catalog (HTML)", quiet=as_json)
    if as_json:
        for row in rows:
            row.pop("daily", None)
        print_json(rows)
        return
    if markdown or html:
        return
    console.print(summary_table(rows))
    if keys:
        for row in rows:
            if row["features"]:
                _print_keys(row)
    else:
        console.print(
            "[dim]Feature keys: activityschema catalog show ACTIVITY (or --keys for all).[/dim]"
        )


@catalog_app.command("show")
def show(
    activity: str = typer.Argument(..., help="The activity to show."),
    db: str | None = DbOption,
    as_json: bool = JsonOption,
) -> None:
    """One activity in detail: numbers, description, schema and feature keys."""
    with open_db(db, read_only=True) as store:
        rows = list_activities(store)
    row = next((r for r in rows if r["activity"] == activity), None)
    if row is None:
        raise NotFoundError(
            f"Activity '{activity}' is not in the catalog."
            + suggest(activity, [r["activity"] for r in rows]),
            code="activity_not_found",
        )
    if as_json:
        print_json(row)
        return
    v = row["daily_volume"]
    console.print(f"[bold]{activity}[/bold]  {row['description'] or '[dim](no description)[/dim]'}")
    console.print(
        f"{row['events']:,} events · {row['actors']:,} actors · {row['first_seen']} → {row['last_seen']}"
    )
    console.print(
        f"{v['mean']:,} events/day over {v['span_days']} days · busiest {v['busiest_day']} ({v['max']:,})"
    )
    if row["revenue"]["events"]:
        console.print(
            f"revenue {row['revenue']['total']:,.2f} over {row['revenue']['events']:,} events"
        )
    if row["schema"]:
        console.print(f"feature schema {row['schema']['name']} ({row['schema']['mode']})")
    if row["features"]:
        _print_keys(row)


@catalog_app.command("describe")
def describe(
    activity: str = typer.Argument(..., help="The activity to describe."),
    text: str = typer.Argument(..., help="The description; an empty string removes it."),
    db: str | None = DbOption,
) -> None:
    """Set (or, with "", remove) the description of an activity."""
    with open_db(db) as store:
        known = {r[0] for r in store.fetchall("SELECT DISTINCT activity FROM activities")}
        describe_activity(store, activity, text, now=datetime.now(UTC).replace(tzinfo=None))
    action = "Removed the description of" if not text.strip() else "Described"
    console.print(f"{action} {activity}.")
    if activity not in known and text.strip():
        console.print(
            f"[yellow]note[/yellow]: no events of '{activity}' are stored yet; it is listed with zero events."
        )


def register(app: typer.Typer) -> None:
    app.add_typer(catalog_app, name="catalog")
