"""The catalog as documents: Markdown and a self-contained HTML page (inline CSS and SVG, no scripts,
no external resources). Both take the rows of ``catalog.list_activities`` (with ``include_daily``
for the HTML sparklines)."""

from __future__ import annotations

from datetime import date, timedelta
from html import escape
from typing import Any

from .charts import sparkline_svg

CSS = """
body{font-family:Helvetica,Arial,sans-serif;margin:2rem auto;max-width:1100px;color:#222;line-height:1.4}
h1{font-size:1.6rem}h2{font-size:1.2rem;margin-top:2.2rem;border-bottom:1px solid #ddd;padding-bottom:.2rem}
table{border-collapse:collapse;margin:.6rem 0;font-size:.9rem}th,td{border:1px solid #ddd;padding:.3rem .5rem;
text-align:left;vertical-align:top}th{background:#f5f5f5}td.n{text-align:right;font-variant-numeric:tabular-nums}
code{background:#f3f3f3;padding:0 .2rem;border-radius:3px}.desc{color:#444;font-style:italic}.muted{color:#777}
.badge{display:inline-block;padding:0 .4rem;border-radius:3px;background:#e8eef9;font-size:.8rem}
"""


def _num(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:,.2f}"
    return f"{value:,}"


def _pct(rate: float) -> str:
    return f"{rate * 100:.1f}%"


def _types(types: dict[str, int]) -> str:
    return ", ".join(f"{t} ({n:,})" if len(types) > 1 else t for t, n in types.items())


def _minute(ts: str | None) -> str:
    """``2026-01-05T05:46:12.172000`` as ``2026-01-05 05:46`` for summary tables."""
    return (ts or "")[:16].replace("T", " ")


def _md_cell(text: Any) -> str:
    return str(text if text is not None else "").replace("|", "\\|").replace("\n", " ")


def to_markdown(rows: list[dict[str, Any]], *, title: str = "Activity catalog") -> str:
    """The catalog as a Markdown document: a summary table, then one section per activity."""
    out = [
        f"# {title}",
        "",
        f"{len(rows)} activities, {sum(r['events'] for r in rows):,} events.",
        "",
    ]
    out += [
        "| activity | events | actors | first seen | last seen | events/day | revenue | description |",
        "|---|---:|---:|---|---|---:|---:|---|",
    ]
    for r in rows:
        out.append(
            f"| `{r['activity']}` | {r['events']:,} | {r['actors']:,} | {_minute(r['first_seen'])} | "
            f"{_minute(r['last_seen'])} | {r['daily_volume']['mean']:,} | {_md_cell(_num(r['revenue']['total']))} | "
            f"{_md_cell(r['description'])} |"
        )
    for r in rows:
        out += ["", f"## `{r['activity']}`", ""]
        if r["description"]:
            out += [_md_cell(r["description"]), ""]
        v = r["daily_volume"]
        out.append(
            f"- {r['events']:,} events from {r['actors']:,} actors; first {r['first_seen']}, last {r['last_seen']}."
        )
        out.append(
            f"- Daily volume: {v['mean']:,} on average over {v['span_days']} days "
            f"({v['active_days']} with events), busiest {v['busiest_day']} ({v['max']:,})."
        )
        if r["revenue"]["events"]:
            out.append(
                f"- Revenue: {_num(r['revenue']['total'])} over {r['revenue']['events']:,} events."
            )
        if r["schema"]:
            out.append(f"- Feature schema: `{r['schema']['name']}` ({r['schema']['mode']}).")
        if r["features"]:
            out += ["", "| key | types | fill rate | examples |", "|---|---|---:|---|"]
            for f in r["features"]:
                examples = ", ".join(f"`{_md_cell(e)}`" for e in f["examples"])
                out.append(
                    f"| `{_md_cell(f['key'])}` | {_types(f['types'])} | {_pct(f['fill_rate'])} | {examples} |"
                )
    return "\n".join(out) + "\n"


def _daily_values(r: dict[str, Any]) -> list[int]:
    daily = r.get("daily") or []
    if not daily:
        return []
    first = date.fromisoformat(daily[0][0])
    last = date.fromisoformat(daily[-1][0])
    by_day = {d: n for d, n in daily}
    return [
        by_day.get((first + timedelta(days=i)).isoformat(), 0)
        for i in range((last - first).days + 1)
    ]


def to_html(rows: list[dict[str, Any]], *, title: str = "Activity catalog") -> str:
    """The catalog as one self-contained HTML page."""
    e = escape
    out = [
        f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>{e(title)}</title>",
        f"<style>{CSS}</style></head><body>",
        f"<h1>{e(title)}</h1>",
        f"<p>{len(rows)} activities, {sum(r['events'] for r in rows):,} events.</p>",
        "<table><tr><th>activity</th><th>events</th><th>actors</th><th>first seen</th><th>last seen</th>"
        "<th>events/day</th><th>daily events</th><th>revenue</th><th>description</th></tr>",
    ]
    for r in rows:
        out.append(
            f"<tr><td><a href='#{e(r['activity'])}'><code>{e(r['activity'])}</code></a></td>"
            f"<td class='n'>{r['events']:,}</td><td class='n'>{r['actors']:,}</td>"
            f"<td>{e(_minute(r['first_seen']))}</td><td>{e(_minute(r['last_seen']))}</td>"
            f"<td class='n'>{r['daily_volume']['mean']:,}</td><td>{sparkline_svg(_daily_values(r))}</td>"
            f"<td class='n'>{e(_num(r['revenue']['total']))}</td><td class='desc'>{e(r['description'] or '')}</td></tr>"
        )
    out.append("</table>")
    for r in rows:
        out += _html_section(r)
    out.append("</body></html>")
    return "\n".join(out) + "\n"


def _html_section(r: dict[str, Any]) -> list[str]:
    e = escape
    v = r["daily_volume"]
    out = [
        f"<h2 id='{e(r['activity'])}'><code>{e(r['activity'])}</code>"
        + (
            f" <span class='badge'>schema {e(r['schema']['name'])} · {e(r['schema']['mode'])}</span>"
            if r["schema"]
            else ""
        )
        + "</h2>"
    ]
    out.append(
        f"<p class='desc'>{e(r['description'])}</p>"
        if r["description"]
        else f"<p class='muted'>No description yet: <code>activityschema catalog describe {e(r['activity'])} \"…\"</code></p>"
    )
    out.append(
        f"<p>{r['events']:,} events from {r['actors']:,} actors · first {e(str(r['first_seen']))} · last "
        f"{e(str(r['last_seen']))}<br>{v['mean']:,} events/day over {v['span_days']} days "
        f"({v['active_days']} with events), busiest {e(str(v['busiest_day']))} ({v['max']:,})"
        + (
            f"<br>revenue {e(_num(r['revenue']['total']))} over {r['revenue']['events']:,} events"
            if r["revenue"]["events"]
            else ""
        )
        + "</p>"
    )
    out.append(sparkline_svg(_daily_values(r), width=600, height=60))
    if r["features"]:
        out.append("<table><tr><th>key</th><th>types</th><th>fill rate</th><th>examples</th></tr>")
        for f in r["features"]:
            examples = " ".join(f"<code>{e(x)}</code>" for x in f["examples"])
            out.append(
                f"<tr><td><code>{e(f['key'])}</code></td><td>{e(_types(f['types']))}</td>"
                f"<td class='n'>{_pct(f['fill_rate'])}</td><td>{examples}</td></tr>"
            )
        out.append("</table>")
    return out
