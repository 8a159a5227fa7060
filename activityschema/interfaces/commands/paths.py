"""``activityschema paths`` and ``activityschema journey``: session paths, one actor's timeline,
and (journey without an actor) the spec's next-activity transitions."""

from __future__ import annotations

import typer

from ...analytics.common.durations import parse_duration
from ...analytics.paths import run_journey, run_journey_transitions, run_paths, run_paths_actors
from ...analytics.paths.query import JourneyResult, PathsActorsResult, PathsResult
from ...analytics.runner import QueryResult
from ...charts import paths_svg
from ._common import DbOption, JsonOption, console, open_db, print_table
from ._insights import (
    FromOption,
    HtmlOption,
    RequestOption,
    SvgOption,
    ToOption,
    load_request,
    merge,
    seconds,
    show,
    when,
)

NO_GAP = ("none", "off", "0")
EDGES_SHOWN = 15


def _gap(text: str | None) -> object:
    """``30m`` → {"minutes": 30}; ``none`` → no session gap; None → not given."""
    if text is None:
        return None
    if text.lower() in NO_GAP:
        return "none"
    return parse_duration(text, what="session gap").model_dump()


def _print_paths(result: PathsResult) -> None:
    console.print(f"[bold]{result.paths_total:,}[/bold] paths by [bold]{result.actors_total:,}[/bold] actors")
    print_table("Top paths", ["paths", "actors", "median duration", "path"],
                [[f"{p.count:,}", f"{p.actors:,}", seconds(p.median_seconds), " → ".join(p.path)] for p in result.top_paths],
                max_rows=len(result.top_paths))
    top_edges = sorted(result.edges, key=lambda e: -e.count)[:EDGES_SHOWN]
    print_table(f"Top transitions ({len(result.edges)} edges; --json or --svg for all)",
                ["step", "from", "to", "paths", "median time"],
                [[e.step, e.source, e.target, f"{e.count:,}", seconds(e.median_seconds)] for e in top_edges],
                max_rows=EDGES_SHOWN)


def paths(
    db: str | None = DbOption,
    start: str | None = typer.Option(None, "--start", help="Paths begin at the session's first event of this activity."),
    end: str | None = typer.Option(None, "--end", help="Paths end at the session's first event of this activity."),
    steps: int | None = typer.Option(None, "--steps", help="Step limit (default 5)."),
    gap: str | None = typer.Option(None, "--gap", help="Session gap, e.g. 30m (default), 2h, or 'none'."),
    collapse: bool | None = typer.Option(None, "--collapse/--no-collapse", help="Collapse consecutive repeats of an activity."),
    exclude: list[str] = typer.Option(None, "--exclude", help="Leave this activity out (repeatable)."),
    top: int | None = typer.Option(None, "--top", help="How many whole paths to list (default 10)."),
    edges: int | None = typer.Option(None, "--edges", help="How many edges to keep (default 50)."),
    date_from: str | None = FromOption,
    date_to: str | None = ToOption,
    request: str | None = RequestOption,
    actors: str | None = typer.Option(None, "--actors", help="List the actors on a path: 'a_b>c_d>e_f'."),
    prefix: bool = typer.Option(False, "--prefix", help="With --actors: paths that start with it."),
    limit: int = typer.Option(100, help="With --actors: how many actors."),
    svg: str | None = SvgOption,
    html: str | None = HtmlOption,
    as_json: bool = JsonOption,
) -> None:
    """Paths: what actors do, step by step, within a session (SEMANTICS §7)."""
    gap_value = _gap(gap)
    body = merge(load_request(request), start_activity=start, end_activity=end, step_limit=steps,
                 collapse_repeats=collapse, exclude_activities=list(exclude) if exclude else None, top_paths=top,
                 edge_limit=edges, date_from=date_from, date_to=date_to,
                 session_gap=None if gap_value == "none" else gap_value)
    if gap_value == "none":
        body["session_gap"] = None
    if actors is not None:
        drill = {"path": [a.strip() for a in actors.split(">")], "prefix": prefix, "limit": limit}
        with open_db(db) as store:
            listed = run_paths_actors(store, {**body, "drilldown": drill}, created_by="cli")
        show(listed, as_json, lambda r: _print_path_actors(r, prefix))
        return
    with open_db(db) as store:
        result = run_paths(store, body, created_by="cli")
    show(result, as_json, _print_paths, chart=paths_svg(result), title="Paths", svg_path=svg, html_path=html)


def _print_path_actors(listed: PathsActorsResult, prefix: bool) -> None:
    print_table(f"{listed.total:,} actors on {' → '.join(listed.path)}{' …' if prefix else ''}",
                ["actor", "paths", "first at"], [[a.actor, a.paths, when(a.first_at)] for a in listed.actors],
                max_rows=len(listed.actors))


def _print_transitions(result: QueryResult) -> None:
    rows = result.rows()
    print_table("Next-activity transitions (the spec's journey query)", ["activity", "next activity", "frequency"],
                [[r["activity"], r["next_activity"] or "(end)", f"{r['frequency']:,}"] for r in rows],
                max_rows=len(rows))


def _print_journey(result: JourneyResult) -> None:
    plural = "session" if result.sessions == 1 else "sessions"
    console.print(f"[bold]{result.actor}[/bold]: {result.total_events:,} events in {result.sessions:,} {plural}, "
                  f"{when(result.first_seen)} → {when(result.last_seen)}")
    rows, session = [], None
    for e in result.events:
        marker = f"#{e.session}" if e.session != session else ""
        session = e.session
        rows.append([marker, when(e.ts), "" if e.seconds_since_previous is None else f"+{seconds(e.seconds_since_previous)}",
                     e.activity, e.activity_occurrence])
    print_table(f"Timeline (showing {len(result.events):,} of {result.total_events:,})",
                ["session", "ts", "gap", "activity", "occurrence"], rows, max_rows=len(rows))


def journey(
    actor: str = typer.Argument(None, help="A customer or anonymous id; without it, the spec's next-activity transitions."),
    db: str | None = DbOption,
    limit: int = typer.Option(200, help="How many events (or transitions) to show."),
    latest: bool = typer.Option(False, "--latest", help="The last events instead of the first."),
    gap: str | None = typer.Option(None, "--gap", help="Session gap, e.g. 30m (default), or 'none'."),
    date_from: str | None = FromOption,
    date_to: str | None = ToOption,
    as_json: bool = JsonOption,
) -> None:
    """One actor's journey (its timeline), or every actor's next-activity transitions."""
    with open_db(db) as store:
        if actor is None:
            show(run_journey_transitions(store, limit, created_by="cli"), as_json, _print_transitions)
            return
        gap_value = _gap(gap)
        body = merge({"actor": actor, "limit": limit, "latest": latest}, date_from=date_from, date_to=date_to,
                     session_gap=None if gap_value == "none" else gap_value)
        if gap_value == "none":
            body["session_gap"] = None
        timeline = run_journey(store, body, created_by="cli")
    show(timeline, as_json, _print_journey)


def register(app: typer.Typer) -> None:
    app.command("paths")(paths)
    app.command("journey")(journey)
