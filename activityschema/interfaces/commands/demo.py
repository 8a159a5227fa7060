"""``activityschema demo``: generate a realistic stream, import it, and show what the engine does."""

from __future__ import annotations

import importlib
import pkgutil
import tempfile
from pathlib import Path

import typer

from ...demo import sections
from ...demo.generator import write_ndjson
from ...ingest.importer import import_file
from ._common import DbOption, console, open_db


def _sections() -> list:  # type: ignore[type-arg]
    mods = [importlib.import_module(f"{sections.__name__}.{m.name}") for m in pkgutil.iter_modules(sections.__path__)]
    return sorted(mods, key=lambda m: m.ORDER)


def demo(
    db: str | None = DbOption,
    seed: int = typer.Option(7, help="Random seed: the same seed gives the same stream."),
    customers: int = typer.Option(2000, min=1, help="Number of people in the stream."),
    events: int | None = typer.Option(None, min=1, help="Exact number of events (overrides --customers)."),
    output: str | None = typer.Option(None, help="Only write the NDJSON stream to this file ('-' for stdout); do not import."),
    plant_anomalies: bool = typer.Option(True, help="Plant a volume spike, a stopped activity and schema drift."),
) -> None:
    """Generate demo data into a store and print a readable summary."""
    kwargs = dict(seed=seed, customers=customers, events=events, plant_anomalies=plant_anomalies)
    if output:
        n = write_ndjson(output, **kwargs)
        if output != "-":
            console.print(f"Wrote {n:,} events to {output}")
        return
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "demo.ndjson"
        with console.status("generating events…"):
            n = write_ndjson(str(path), **kwargs)
        with open_db(db) as store:
            with console.status(f"importing {n:,} events…"):
                report = import_file(store, path)
            console.print(
                f"[bold]Demo store[/bold] {store.path}: imported {report.accepted:,} of {report.submitted:,} events "
                f"(duplicate {report.duplicate:,}, rejected {report.rejected:,})."
            )
            for section in _sections():
                section.show(store, console)


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)
