"""Retention chart: the cohort triangle as a heatmap; incomplete intervals striped, future ones empty."""

from __future__ import annotations

from ..analytics.retention.query import RetentionCell, RetentionResult
from .svg import GRID, INK, MUTED, count, document, header, pct, rect, text

CELL_W = 62
CELL_H = 28
LABEL_W = 110
SIZE_W = 70
LEFT = 24
TOP = 110
BLUE = (37, 99, 235)
MIN_WIDTH = 640


def _shade(rate: float) -> str:
    """White to blue by rate (0..1)."""
    r, g, b = (round(255 + (c - 255) * min(max(rate, 0.0), 1.0)) for c in BLUE)
    return f"rgb({r},{g},{b})"


def _cell(x: float, y: float, cell: RetentionCell) -> list[str]:
    if cell.count is None:
        return [rect(x + 1, y + 1, CELL_W - 2, CELL_H - 2, "#ffffff", extra=f'stroke="{GRID}"')]
    rate = cell.rate or 0.0
    if not cell.complete:
        return [rect(x + 1, y + 1, CELL_W - 2, CELL_H - 2, "url(#stripes)", extra='stroke="#9ca3af" stroke-dasharray="3 2"'),
                text(x + CELL_W / 2, y + 18, pct(cell.rate, 0) + "*", size=11, fill=MUTED, anchor="middle", style="italic")]
    ink = "#ffffff" if rate > 0.55 else INK
    return [rect(x + 1, y + 1, CELL_W - 2, CELL_H - 2, _shade(rate), extra='rx="2"'),
            text(x + CELL_W / 2, y + 18, pct(cell.rate, 1), size=11, fill=ink, anchor="middle")]


def retention_svg(result: RetentionResult) -> str:
    """The retention table as SVG text."""
    intervals = len(result.average)
    grid_left = LEFT + LABEL_W + SIZE_W
    width = max(MIN_WIDTH, grid_left + intervals * CELL_W + 24)
    start = result.request.get("start") or {}
    ret = result.request.get("return")
    title = f"Retention: {start.get('activity')} → {ret['activity'] if ret else 'any activity'}"
    subtitle = (f"{result.request.get('cohort')} cohorts · {result.period}ly · {result.request.get('mode')} · "
                f"now {result.now:%Y-%m-%d %H:%M} · query {result.query_hash}")
    body = header(width, title, subtitle)
    body.append(text(LEFT, TOP - 12, "Cohort", size=12, weight="600"))
    body.append(text(LEFT + LABEL_W + SIZE_W - 10, TOP - 12, "Actors", size=12, weight="600", anchor="end"))
    for k in range(intervals):
        body.append(text(grid_left + k * CELL_W + CELL_W / 2, TOP - 12, f"{result.period[0].upper()}{k}", size=12,
                         weight="600", anchor="middle"))
    y = TOP
    for cohort in result.cohorts:
        body.append(text(LEFT, y + 18, cohort.cohort.isoformat(), size=12))
        body.append(text(LEFT + LABEL_W + SIZE_W - 10, y + 18, count(cohort.size), size=12, anchor="end", fill=MUTED))
        for k, cell in enumerate(cohort.cells):
            body += _cell(grid_left + k * CELL_W, y, cell)
        y += CELL_H
    y += 6
    body.append(text(LEFT, y + 18, "Average", size=12, weight="600"))
    body.append(text(LEFT + LABEL_W + SIZE_W - 10, y + 18, count(sum(c.size for c in result.cohorts)), size=12,
                     anchor="end", fill=MUTED))
    for k, cell in enumerate(result.average):
        body += _cell(grid_left + k * CELL_W, y, cell)
    y += CELL_H + 24
    body.append(rect(LEFT, y - 11, 18, 12, "url(#stripes)", extra='stroke="#9ca3af" stroke-dasharray="3 2"'))
    body.append(text(LEFT + 26, y, "* incomplete: the interval has not fully elapsed at 'now' (blank: not started)",
                     size=11, fill=MUTED))
    return document(width, y + 20, body, title=title)
