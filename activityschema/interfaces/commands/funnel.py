"""``activityschema funnel``: ordered, strict or unordered funnels with drill-down and a chart."""

from __future__ import annotations

import typer
from rich import box
from rich.table import Table

from ...analytics.funnels import run_funnel, run_funnel_actors
from ...analytics.funnels.query import FunnelActorsResult, FunnelResult
from ...charts import funnel_svg
from ._common import DbOption, JsonOption, console, open_db, print_table
from ._insights import (
    FromOption,
    HtmlOption,
    RequestOption,
    SvgOption,
    ToOption,
    bar,
    load_request,
    merge,
    parse_step,
    pct,
    seconds,
    show,
    when,
)

WIDE_TERMINAL = 100


def _exclusion(text: str) -> dict[str, object]:
    """``activity`` or ``activity:FROM-TO`` (between steps FROM and TO)."""
    activity, _, span = text.partition(":")
    out: dict[str, object] = {"activity": activity}
    if span:
        first, _, last = span.partition("-")
        out["from_step"] = int(first)
        if last:
            out["to_step"] = int(last)
    return out


def _print_funnel(result: FunnelResult) -> None:
    wide = console.width >= WIDE_TERMINAL
    table = Table(title=f"Funnel ({result.order}) · {result.steps[0].count if result.steps else 0:,} actors entered",
                  box=box.SIMPLE_HEAD)
    table.add_column("step", no_wrap=True)
    for col in ("actors", "conv.", "of first", "median", "mean"):
        table.add_column(col, justify="right", no_wrap=True)
    if wide:
        table.add_column("", no_wrap=True, min_width=12)
    for s in result.steps:
        later = s.step > 1
        row = [f"{s.step}. {s.name}", f"{s.count:,}", pct(s.conversion_from_previous) if later else "",
               pct(s.conversion_from_first), seconds(s.median_seconds_from_previous) if later else "",
               seconds(s.mean_seconds_from_previous) if later else ""]
        table.add_row(*row, *([f"[blue]{bar(s.conversion_from_first)}[/blue]"] if wide else []))
    console.print(table)
    ttc = result.time_to_convert
    console.print(f"time to convert (step 1 → {ttc.to_step}): {ttc.converted:,} converted, "
                  f"median {seconds(ttc.median_seconds)}, mean {seconds(ttc.mean_seconds)}")
    if result.breakdown:
        names = [s.name for s in result.steps]
        rows = [["(none)" if b.value is None else ("other" if b.is_other else b.value)]
                + [f"{s.count:,} ({pct(s.conversion_from_first)})" for s in b.steps] for b in result.breakdown]
        print_table(f"Breakdown by {result.request.get('breakdown')}", ["value", *names], rows)


def _print_actors(result: FunnelActorsResult) -> None:
    verb = "reached" if result.status == "reached" else "dropped at"
    print_table(f"{result.total:,} actors {verb} step {result.step}", ["actor", "entered at", "furthest step", "last step at"],
                [[a.actor, when(a.entered_at), a.furthest_step, when(a.last_step_at)] for a in result.actors],
                max_rows=len(result.actors))


def funnel(
    steps: list[str] = typer.Argument(None, help="Steps in order: 'activity' or 'activity[column=value, …]'."),
    db: str | None = DbOption,
    order: str | None = typer.Option(None, help="ordered (default), strict or unordered."),
    window: str | None = typer.Option(None, help="Conversion window from step 1, e.g. 14d, 12h, 30m (default 14d)."),
    date_from: str | None = FromOption,
    date_to: str | None = ToOption,
    exclude: list[str] = typer.Option(None, "--exclude", help="Exclusion 'activity' or 'activity:FROM-TO' (repeatable)."),
    breakdown: str | None = typer.Option(None, help="Break down by a column or feature_json.<key> of the step-1 event."),
    breakdown_limit: int | None = typer.Option(None, help="Largest number of breakdown values (the rest: other)."),
    request: str | None = RequestOption,
    actors: int | None = typer.Option(None, "--actors", help="List the actors who reached this step."),
    dropped: int | None = typer.Option(None, "--dropped", help="List the actors who dropped at this step (reached the one before, not this)."),
    breakdown_value: str | None = typer.Option(None, help="With --actors/--dropped: only this breakdown value."),
    limit: int = typer.Option(100, help="With --actors/--dropped: how many actors."),
    svg: str | None = SvgOption,
    html: str | None = HtmlOption,
    as_json: bool = JsonOption,
) -> None:
    """Funnel: how many actors reach each step, conversion, time between steps (SEMANTICS §5)."""
    body = merge(load_request(request), steps=[parse_step(s) for s in steps] if steps else None, order=order,
                 window=window, date_from=date_from, date_to=date_to,
                 exclusions=[_exclusion(x) for x in exclude] if exclude else None,
                 breakdown=breakdown, breakdown_limit=breakdown_limit)
    if actors is not None or dropped is not None:
        drill = {"step": actors if actors is not None else dropped, "status": "reached" if actors is not None else "dropped",
                 "limit": limit, **({"breakdown_value": breakdown_value} if breakdown_value else {})}
        with open_db(db) as store:
            listed = run_funnel_actors(store, {**body, "drilldown": drill}, created_by="cli")
        show(listed, as_json, _print_actors)
        return
    with open_db(db) as store:
        result = run_funnel(store, body, created_by="cli")
    show(result, as_json, _print_funnel, chart=funnel_svg(result), title="Funnel", svg_path=svg, html_path=html)


def register(app: typer.Typer) -> None:
    app.command("funnel")(funnel)
