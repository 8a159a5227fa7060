"""``activityschema retention``: cohort retention tables with drill-down and a heatmap chart."""

from __future__ import annotations

import typer
from rich import box
from rich.table import Table

from ...analytics.retention import run_retention, run_retention_actors
from ...analytics.retention.query import RetentionActorsResult, RetentionCell, RetentionResult
from ...charts import retention_svg
from ...errors import ValidationError
from ._common import DbOption, JsonOption, console, open_db, print_table
from ._insights import (
    FromOption,
    HtmlOption,
    RequestOption,
    SvgOption,
    ToOption,
    load_request,
    merge,
    parse_now,
    show,
)


def _cell(cell: RetentionCell) -> str:
    if cell.count is None:
        return ""
    value = "–" if cell.rate is None else f"{cell.rate * 100:.0f}%"
    return value if cell.complete else f"[dim italic]{value}*[/dim italic]"


def _print(result: RetentionResult) -> None:
    start = result.request["start"]["activity"]
    ret = result.request.get("return")
    table = Table(title=f"Retention: {start} → {ret['activity'] if ret else 'any activity'} "
                        f"({result.request['cohort']}, {result.period}ly, {result.request['mode']})", box=box.SIMPLE_HEAD)
    table.add_column("cohort", no_wrap=True)
    table.add_column("actors", justify="right")
    for k in range(len(result.average)):
        table.add_column(f"{result.period[0].upper()}{k}", justify="right", no_wrap=True)
    for c in result.cohorts:
        table.add_row(c.cohort.isoformat(), f"{c.size:,}", *[_cell(x) for x in c.cells])
    table.add_row("[bold]average[/bold]", f"{sum(c.size for c in result.cohorts):,}", *[_cell(x) for x in result.average])
    console.print(table)
    console.print(f"[dim]* incomplete at {result.now:%Y-%m-%d %H:%M} UTC (blank: not started)[/dim]")


def _print_actors(listed: RetentionActorsResult) -> None:
    print_table(f"{listed.total:,} actors of cohort {listed.cohort} {listed.status} in interval {listed.interval}",
                ["actor", "last interval with activity"], [[a.actor, a.last_interval] for a in listed.actors],
                max_rows=len(listed.actors))


def _cell_spec(text: str) -> tuple[str, int]:
    cohort, _, k = text.partition(":")
    if not k.isdigit():
        raise ValidationError(f"--actors '{text}' must be COHORT_DATE:INTERVAL, e.g. 2026-01-05:2.", code="invalid_drilldown")
    return cohort, int(k)


def retention(
    start: str = typer.Argument(None, help="The start activity that puts an actor in a cohort."),
    db: str | None = DbOption,
    return_activity: str | None = typer.Option(None, "--return", help="The return activity (default: any activity)."),
    cohort: str | None = typer.Option(None, help="first_time (default) or recurring."),
    period: str | None = typer.Option(None, help="day, week (default) or month."),
    intervals: int | None = typer.Option(None, help="Number of intervals, interval 0 included (default 8)."),
    mode: str | None = typer.Option(None, help="on (default): returned in that period; on_or_after: then or later."),
    date_from: str | None = FromOption,
    date_to: str | None = ToOption,
    now: str | None = typer.Option(None, "--now", help="Judge incomplete intervals as of this instant (default: now)."),
    request: str | None = RequestOption,
    actors: str | None = typer.Option(None, "--actors", help="List the actors of one cell: COHORT_DATE:INTERVAL."),
    lost: bool = typer.Option(False, "--lost", help="With --actors: those of the cohort not retained in that interval."),
    limit: int = typer.Option(100, help="With --actors: how many actors."),
    svg: str | None = SvgOption,
    html: str | None = HtmlOption,
    as_json: bool = JsonOption,
) -> None:
    """Cohort retention: who comes back in each day, week or month after joining (SEMANTICS §6)."""
    body = merge(load_request(request), start=start, cohort=cohort, period=period, intervals=intervals, mode=mode,
                 date_from=date_from, date_to=date_to)
    if return_activity is not None:
        body["return"] = return_activity
    at = parse_now(now)
    if actors is not None:
        day, k = _cell_spec(actors)
        drill = {"cohort": day, "interval": k, "status": "lost" if lost else "retained", "limit": limit}
        with open_db(db) as store:
            listed = run_retention_actors(store, {**body, "drilldown": drill}, created_by="cli", now=at)
        show(listed, as_json, _print_actors)
        return
    with open_db(db) as store:
        result = run_retention(store, body, created_by="cli", now=at)
    show(result, as_json, _print, chart=retention_svg(result), title="Retention", svg_path=svg, html_path=html)


def register(app: typer.Typer) -> None:
    app.command("retention")(retention)
