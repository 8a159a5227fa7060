"""Helpers shared by the product-analytics commands: request files, step syntax, charts, output."""

from __future__ import annotations

import json
import re
import warnings
from datetime import datetime
from pathlib import Path
from collections.abc import Callable
from typing import Any

import typer
import yaml

from ...analytics.common.durations import format_seconds
from ...charts import write_chart
from ...errors import ValidationError
from ._common import console, err_console, print_json

# DuckDB 2 warns once per process about an extra Arrow copy when a cursor result becomes Arrow;
# harmless for these small results and noise on a terminal.
warnings.filterwarnings("ignore", message="Arrow output on a DB-API result")

RequestOption = typer.Option(None, "--request", help="A JSON or YAML file with the full request; options override its keys.")
SvgOption = typer.Option(None, "--svg", help="Also write the chart as an SVG file.")
HtmlOption = typer.Option(None, "--html", help="Also write the chart as a self-contained HTML page.")
FromOption = typer.Option(None, "--from", help="Start date (YYYY-MM-DD, a whole day) or instant (ISO 8601).")
ToOption = typer.Option(None, "--to", help="End date (YYYY-MM-DD, inclusive) or instant (ISO 8601, inclusive).")
NowOption = typer.Option(None, "--now", help="Evaluate as of this instant (ISO 8601, UTC); default: the clock.")

_STEP_RE = re.compile(r"^\s*([a-z][a-z0-9_]*)\s*(?:\[(.*)\])?\s*$")
_FILTER_RE = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_.]*)\s*(!=|>=|<=|=|>|<)\s*(.*?)\s*$")


def load_request(path: str | None) -> dict[str, Any]:
    """The request in a JSON or YAML file (an object), or ``{}``."""
    if path is None:
        return {}
    file = Path(path)
    if not file.is_file():
        raise ValidationError(f"Request file '{path}' does not exist.", code="file_not_found")
    try:
        data = yaml.safe_load(file.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ValidationError(f"Request file '{path}' is not JSON or YAML: {exc}", code="invalid_request") from None
    if not isinstance(data, dict):
        raise ValidationError(f"Request file '{path}' must hold an object.", code="invalid_request")
    return data


def merge(base: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    """``base`` with every override that was given (not None)."""
    return {**base, **{k: v for k, v in overrides.items() if v is not None}}


def _value(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text


def parse_step(text: str) -> dict[str, Any]:
    """``activity`` or ``activity[column op value, …]``, e.g. ``order_completed[feature_json.amount>100]``."""
    match = _STEP_RE.match(text)
    if not match:
        raise ValidationError(f"Step '{text}' is not 'activity' or 'activity[column=value, …]'.", code="invalid_step")
    step: dict[str, Any] = {"activity": match.group(1)}
    if match.group(2):
        filters = []
        for part in match.group(2).split(","):
            f = _FILTER_RE.match(part)
            if not f:
                raise ValidationError(f"Filter '{part.strip()}' in step '{text}' is not 'column op value' "
                                      "(op: = != > >= < <=).", code="invalid_step")
            filters.append({"column": f.group(1), "op": f.group(2), "value": _value(f.group(3))})
        step["filters"] = filters
    return step


def parse_now(text: str | None) -> datetime | None:
    if text is None:
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValidationError(f"--now '{text}' is not an ISO 8601 instant.", code="invalid_now") from None


def save_charts(svg: str, *, title: str, query_hash: str, svg_path: str | None, html_path: str | None) -> None:
    for path in (svg_path, html_path):
        if path:
            written = write_chart(path, svg, title=title, query_hash=query_hash)
            err_console.print(f"chart written to [bold]{written}[/bold]")


def show(result: Any, as_json: bool, human: Callable[[Any], None], *, chart: str | None = None,
         title: str = "", svg_path: str | None = None, html_path: str | None = None) -> None:
    """The one way an analytics command ends: write its chart files if asked, then print the result as
    JSON (``--json``) or in its human form followed by the provenance line with the query hash."""
    if chart is not None:
        save_charts(chart, title=title, query_hash=result.query_hash, svg_path=svg_path, html_path=html_path)
    if as_json:
        print_json(result.to_dict())
        return
    human(result)
    collision = getattr(result, "provenance_collision", getattr(result, "collision", False))
    print_hash(result.template, result.query_hash, collision)


def print_hash(template: str, query_hash: str, collision: bool = False) -> None:
    note = " [red](hash collision recorded)[/red]" if collision else ""
    console.print(f"[dim]query[/dim] [bold]{query_hash}[/bold] [dim]· template {template} · in provenance_chain[/dim]{note}")


def when(value: datetime | None) -> str:
    """A timestamp to the second for tables (the JSON output keeps microseconds)."""
    return "–" if value is None else value.strftime("%Y-%m-%d %H:%M:%S")


def bar(fraction: float | None, width: int = 12) -> str:
    if not fraction:
        return ""
    full = max(0.0, min(fraction, 1.0)) * width
    return "█" * int(full) + ("▌" if full - int(full) >= 0.5 else "")


def pct(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.1f}%"


def seconds(value: float | None) -> str:
    return format_seconds(value)
