"""Drift and anomaly reports as documents: Markdown for drift, a self-contained HTML page (the SVG
picture and a table of findings) for anomalies."""

from __future__ import annotations

from html import escape
from typing import Any

from .catalog_render import CSS
from .charts import series_panels_svg

BUSIEST_WHEN_QUIET = 1


def drift_markdown(report: dict[str, Any]) -> str:
    """The drift report: one table of findings, then what was compared."""
    out = [
        "# Schema drift in feature_json",
        "",
        f"{report['activities']} activities, {report['windows_compared']} {report['window']} windows "
        f"compared with the windows before them; {len(report['findings'])} findings.",
        "",
    ]
    if report["findings"]:
        out += [
            "| window | activity | kind | key | baseline | finding |",
            "|---|---|---|---|---|---|",
        ]
        for f in report["findings"]:
            out.append(
                f"| {f['window_start']} | `{f['activity']}` | {f['kind']} | `{f['key']}` | "
                f"{f['baseline']} | {f['message'].replace('|', '/')} |"
            )
    else:
        out.append("No drift found.")
    return "\n".join(out) + "\n"


def picture_series(
    result: dict[str, Any], activities: list[str] | None = None
) -> list[dict[str, Any]]:
    """The series to draw: those named, else those with findings, else the busiest one."""
    series = result.get("series") or []
    if activities:
        return [s for s in series if s["activity"] in activities]
    flagged = [s for s in series if s["findings"]]
    if flagged:
        return flagged
    return sorted(series, key=lambda s: -sum(s["counts"]))[:BUSIEST_WHEN_QUIET]


def anomalies_svg(result: dict[str, Any], activities: list[str] | None = None) -> str:
    title = f"Daily events per activity, up to {result['end_day']}"
    return series_panels_svg(picture_series(result, activities), title=title)


def anomalies_html(result: dict[str, Any], activities: list[str] | None = None) -> str:
    """One self-contained page: the picture, then every finding."""
    e = escape
    out = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>Volume anomalies</title>",
        f"<style>{CSS}</style></head><body><h1>Volume anomalies</h1>",
        f"<p>{result['activities']} activities, {result['evaluated_days']:,} activity-days evaluated up to "
        f"{e(str(result['end_day']))}; {len(result['findings'])} findings.</p>",
        anomalies_svg(result, activities),
    ]
    if result["findings"]:
        out.append(
            "<table><tr><th>day</th><th>to</th><th>activity</th><th>kind</th><th>observed</th>"
            "<th>expected</th><th>score</th></tr>"
        )
        for f in result["findings"]:
            out.append(
                f"<tr><td>{e(f['day'])}</td><td>{e(f['last_day'])}</td><td><code>{e(f['activity'])}</code></td>"
                f"<td>{e(f['kind'])}</td><td class='n'>{f['observed']:,}</td><td class='n'>{f['expected']:,}</td>"
                f"<td class='n'>{f['score']}</td></tr>"
            )
        out.append("</table>")
    out.append("</body></html>")
    return "\n".join(out) + "\n"
