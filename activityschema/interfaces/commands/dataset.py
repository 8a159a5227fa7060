"""``activityschema dataset REQUEST``: build a dataset from a JSON or YAML request file."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import typer
import yaml

from ...analytics.dataset import build_dataset
from ...analytics.dataset.output import output_format, write_table
from ...errors import ValidationError
from ._common import DbOption, JsonOption, console, open_db, print_json, print_table

ROWS_SHOWN_DEFAULT = 50
YAML_SUFFIXES = (".yaml", ".yml")


def read_request(source: str) -> dict[str, Any]:
    """The request in ``source`` (a file, or '-' for stdin): JSON, or YAML for .yaml/.yml files."""
    if source == "-":
        text = sys.stdin.read()
    else:
        path = Path(source)
        if not path.is_file():
            raise ValidationError(f"File '{source}' does not exist or is not a file.", code="file_not_found")
        text = path.read_text(encoding="utf-8")
    try:
        data = yaml.safe_load(text) if source.lower().endswith(YAML_SUFFIXES) else json.loads(text)
    except (ValueError, yaml.YAMLError) as exc:
        kind = "YAML" if source.lower().endswith(YAML_SUFFIXES) else "JSON"
        raise ValidationError(f"Request '{source}' is not valid {kind}: {str(exc).splitlines()[0]}",
                              code="invalid_request") from None
    if not isinstance(data, dict):
        raise ValidationError(f"Request '{source}' must be an object with \"cohort\" and \"append\".",
                              code="invalid_request")
    return data


def dataset(
    request: str = typer.Argument(..., help="Request file (JSON, or YAML with .yaml/.yml); '-' reads JSON from stdin."),
    db: str | None = DbOption,
    output: str | None = typer.Option(None, "--output", "-o", help="Write the whole result to FILE.csv or FILE.parquet."),
    limit: int = typer.Option(ROWS_SHOWN_DEFAULT, min=1, help="Rows to show (the output file always gets all rows)."),
    as_json: bool = JsonOption,
) -> None:
    """Build a dataset: a cohort activity with activities appended in time (see docs/dataset.md)."""
    body = read_request(request)
    if output:
        output_format(output)  # refuse a bad extension before running
    with open_db(db) as store:
        result = build_dataset(store, body, created_by="cli")
    if output:
        n = write_table(result.table, output)
        console.print(f"Wrote {n:,} rows to {output} (query hash {result.query_hash}).")
        return
    if as_json:
        print_json(result.to_dict(max_rows=limit))
        return
    rows = result.rows()
    print_table(None, result.table.column_names, [list(r.values()) for r in rows], max_rows=limit)
    console.print(f"{len(rows):,} rows · query hash [bold]{result.query_hash}[/bold] "
                  f"(activityschema provenance {result.query_hash})")


def register(app: typer.Typer) -> None:
    app.command("dataset")(dataset)
