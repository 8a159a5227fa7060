"""``activityschema provenance HASH``: the query behind a hash, optionally re-run."""

from __future__ import annotations

import json
from typing import Any

import typer

from ...analytics.runner import rerun, unflatten
from ...errors import NotFoundError
from ...provenance import chain
from ...sql.templates import get_template
from ._common import DbOption, JsonOption, console, open_db, print_json, print_table

RUNS_SQL = "SELECT count(*), max(run_at) FROM provenance_runs WHERE query_hash = ?"
COLLISIONS_SQL = "SELECT count(*) FROM provenance_collisions WHERE query_hash = ?"


def _readable_params(template_name: str, flat: dict[str, Any]) -> dict[str, Any]:
    """Parameters as the caller wrote them (JSON text back to objects) when the template still exists."""
    try:
        return unflatten(get_template(template_name), flat)
    except NotFoundError:
        return flat


def provenance(
    query_hash: str = typer.Argument(..., help="A query hash returned with a result."),
    db: str | None = DbOption,
    rerun_: bool = typer.Option(False, "--rerun", help="Run the query again and show its result."),
    limit: int = typer.Option(50, min=1, help="Rows to show with --rerun."),
    as_json: bool = JsonOption,
) -> None:
    """Show the template, parameters and SQL behind a query hash; --rerun runs it again."""
    with open_db(db, read_only=not rerun_) as store:
        entry = chain.lookup(store, query_hash)
        runs, last_run = store.fetchone(RUNS_SQL, [query_hash]) or (0, None)
        collisions = (store.fetchone(COLLISIONS_SQL, [query_hash]) or (0,))[0]
        result = rerun(store, query_hash, created_by="cli") if rerun_ else None
    info = {**entry.to_dict(), "parameters": _readable_params(entry.template_name, entry.parameters),
            "runs": runs, "last_run_at": last_run.isoformat() if last_run else None, "collisions": collisions}
    if as_json:
        print_json({**info, "result": result.to_dict(max_rows=limit) if result else None})
        return
    console.print(f"[bold]{entry.query_hash}[/bold]  template [bold]{entry.template_name}[/bold]  "
                  f"created {entry.created_at.isoformat()} by {entry.created_by}  ·  runs {runs}")
    if collisions:
        console.print(f"[red]{collisions} collision(s): another query produced this hash (kept apart).[/red]")
    console.print("[bold]parameters[/bold]")
    console.print_json(json.dumps(info["parameters"], default=str))
    console.print("[bold]query[/bold]")
    console.print(entry.query_text, markup=False, highlight=False)
    if result is not None:
        rows = result.rows()
        print_table(f"Re-run: {len(rows):,} rows, same hash {result.query_hash}", result.table.column_names,
                    [list(r.values()) for r in rows], max_rows=limit)


def register(app: typer.Typer) -> None:
    app.command("provenance")(provenance)
