"""Demo section: data quality — the catalog, and the drift and volume anomalies the generator planted."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from rich.console import Console
from rich.table import Table

from ...quality.anomalies import detect_anomalies
from ...quality.catalog import list_activities
from ...quality.drift import detect_drift
from ...quality.schemas import builtin_schema, check_stored
from ...quality.views import cast_failures
from ...store.duckdb import DuckDBStore

ORDER = 50
BARS = "▁▂▃▄▅▆▇█"
SPARK_WIDTH = 60
SPARK_MIN_WIDTH = 20
# The built-in pattern each demo activity follows (checked against the stored events).
PATTERN_OF = {
    "claude_tool_call": "tool_execution",
    "button_clicked": "user_interaction",
    "form_submitted": "user_interaction",
    "deployment_completed": "system_event",
}


def show(store: DuckDBStore, console: Console) -> None:
    _catalog(store, console)
    _schemas(store, console)
    _drift(store, console)
    _anomalies(store, console)
    _views(store, console)
    console.print(
        "[dim]More: activityschema catalog --html catalog.html · activityschema quality anomalies "
        "--html anomalies.html · activityschema quality drift --markdown drift.md[/dim]"
    )


def _catalog(store: DuckDBStore, console: Console) -> None:
    rows = list_activities(store)
    table = Table(
        title=f"Activity catalog: {len(rows)} activities (feature keys with fill rate < 100% marked *)"
    )
    for col in ("activity", "per day", "feature keys", "revenue"):
        table.add_column(col, justify="right" if col in ("per day", "revenue") else "left")
    for r in rows:
        keys = ", ".join(f["key"] + ("*" if f["fill_rate"] < 1 else "") for f in r["features"])
        revenue = "" if r["revenue"]["total"] is None else f"{r['revenue']['total']:,.2f}"
        table.add_row(r["activity"], f"{r['daily_volume']['mean']:,.1f}", keys, revenue)
    console.print(table)


def _schemas(store: DuckDBStore, console: Console) -> None:
    table = Table(title="Stored events against the spec's feature_json patterns (built-in schemas)")
    for col in ("activity", "pattern", "events", "violations", "first error"):
        table.add_column(col)
    for activity, pattern in PATTERN_OF.items():
        r = check_stored(store, activity, schema=builtin_schema(pattern))
        first = r["examples"][0]["errors"][0] if r["examples"] else ""
        table.add_row(activity, pattern, f"{r['events']:,}", f"{r['violations']:,}", first)
    console.print(table)


def _drift(store: DuckDBStore, console: Console) -> None:
    report = detect_drift(store, window="week")
    findings = report["findings"]
    console.print(
        f"[bold]Schema drift[/bold] ({report['windows_compared']} weekly windows compared): "
        f"{len(findings)} finding(s)"
    )
    for f in findings:
        console.print(
            f"  week of {f['window_start']}  {f['activity']}: {f['kind']} — {f['message']}"
        )


def _anomalies(store: DuckDBStore, console: Console) -> None:
    result = detect_anomalies(
        store, now=datetime.now(UTC).replace(tzinfo=None), include_series=True
    )
    findings = result["findings"]
    console.print(
        f"[bold]Volume anomalies[/bold] ({result['evaluated_days']:,} activity-days up to "
        f"{result['end_day']}): {len(findings)} finding(s)"
    )
    for f in findings:
        console.print(f"  {f['message']}  ({f['activity']}, score {f['score']})")
    flagged = [s for s in result["series"] if s["findings"]]
    pad = max((len(s["activity"]) for s in flagged), default=0)
    width = max(SPARK_MIN_WIDTH, min(SPARK_WIDTH, console.width - pad - 4))
    for s in flagged:
        console.print(f"  {s['activity']:<{pad}} {_spark(s, width)}")


def _spark(series: dict[str, Any], width: int) -> str:
    """Daily counts as block characters (max per bucket), flagged buckets in red."""
    counts = series["counts"]
    per = max(1, -(-len(counts) // width))
    buckets = [max(counts[i : i + per]) for i in range(0, len(counts), per)]
    top = max(buckets) or 1
    flagged: set[int] = set()
    for f in series["findings"]:
        first = _offset(series, f["day"]) // per
        last = _offset(series, f["last_day"]) // per
        flagged.update(range(first, last + 1))
    out = []
    for i, v in enumerate(buckets):
        bar = BARS[min(len(BARS) - 1, int(v / top * (len(BARS) - 1) + 0.5))]
        out.append(f"[red]{bar}[/red]" if i in flagged else bar)
    return "".join(out)


def _offset(series: dict[str, Any], day: str) -> int:
    return (date.fromisoformat(day) - date.fromisoformat(series["start"])).days


def _views(store: DuckDBStore, console: Console) -> None:
    rows = cast_failures(store)
    sizes: dict[str, int] = {}
    failed = 0
    for r in rows:
        sizes[r["view"]] = r["rows"]
        failed += r["failed"]
    listed = ", ".join(f"{v} {n:,} rows" for v, n in sizes.items())
    console.print(
        f"[bold]Typed views[/bold]: {listed}; values that failed their safe cast: {failed:,}"
    )
