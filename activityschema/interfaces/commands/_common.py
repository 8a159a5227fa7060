"""Options and helpers shared by the command modules."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from ...errors import ActivitySchemaError
from ...settings import resolve
from ...store.duckdb import DuckDBStore

# Piped output (logs, CI) gets a fixed width wide enough for our tables instead of Rich's 80.
PIPE_WIDTH = 120
console = Console(width=None if sys.stdout.isatty() or "COLUMNS" in os.environ else PIPE_WIDTH)
err_console = Console(stderr=True)

DbOption = typer.Option(None, "--db", help="Store file (default: $ACTIVITYSCHEMA_DB or ./activityschema.duckdb).")
JsonOption = typer.Option(False, "--json", help="Print machine-readable JSON instead of a table.")


def db_path(db: str | None) -> str:
    return str(resolve("db", db))


@contextmanager
def open_db(db: str | None, *, read_only: bool = False, audit: bool = True) -> Iterator[DuckDBStore]:
    """The store for one command; the command is audited (``_gov.audit_command``) unless ``audit=False``
    or it already wrote its own, more detailed entry."""
    if resolve("backend") != "duckdb":  # the one setting that moves every command to the warehouse
        from ...store.backend import opened

        with opened(read_only=read_only) as other:
            yield other  # type: ignore[misc]
        return
    from ._gov import audit_command, head_seq

    store = DuckDBStore(db_path(db), read_only=read_only)
    before = head_seq(store) if audit else None
    refused: str | None = None
    try:
        yield store
    except ActivitySchemaError as exc:
        refused = exc.code
        raise
    finally:
        try:
            if audit and read_only:
                store.close()
                audit_command(store.path, None, refused=refused)
            elif audit and head_seq(store) == before:
                audit_command(store.path, store, refused=refused)
        finally:
            store.close()


def print_table(title: str | None, columns: Sequence[str], rows: Sequence[Sequence[Any]], *, max_rows: int = 50) -> None:
    table = Table(title=title, show_lines=False)
    for col in columns:
        table.add_column(str(col), overflow="fold")
    for row in rows[:max_rows]:
        table.add_row(*["" if v is None else str(v) for v in row])
    console.print(table)
    if len(rows) > max_rows:
        console.print(f"[dim]… {len(rows) - max_rows} more rows (use --limit or --output)[/dim]")


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, default=str, indent=2, ensure_ascii=False) + "\n")
