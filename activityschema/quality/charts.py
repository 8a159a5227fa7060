"""Hand-written, self-contained SVG pictures (no plotting dependency).

- ``series_panels_svg``: one panel per activity — daily counts (line), the expected count (dashed),
  weekends shaded, flagged days marked (spike ▲ red, drop ▼ orange, stopped: a red band to the end).
- ``sparkline_svg``: a tiny line of daily counts for the catalog page.

All text is escaped; numbers are formatted by us, so the SVG never carries raw user input.
"""

from __future__ import annotations

from datetime import date, timedelta
from html import escape
from typing import Any

PANEL_WIDTH = 960
PANEL_HEIGHT = 170
MARGIN_LEFT, MARGIN_RIGHT, MARGIN_TOP, MARGIN_BOTTOM = 56, 16, 28, 26
COLORS = {"observed": "#1f4e99", "expected": "#8c8c8c", "spike": "#c62828", "drop": "#ef6c00",
          "stopped": "#c62828", "weekend": "#f1f1f1", "grid": "#dddddd", "text": "#222222"}
FONT = "font-family='Helvetica, Arial, sans-serif'"
SPARK_WIDTH, SPARK_HEIGHT = 160, 28


def _nice_max(value: float) -> float:
    """A round axis maximum at or above ``value``."""
    if value <= 0:
        return 1.0
    step = 10 ** (len(str(int(value))) - 1)
    for m in (1, 2, 2.5, 5, 10):
        if value <= m * step:
            return float(m * step)
    return float(10 * step)


def _points(xs: list[float | None], x_of: Any, y_of: Any) -> list[str]:
    """Polyline point lists, broken where a value is missing."""
    runs, cur = [], []
    for i, v in enumerate(xs):
        if v is None:
            if cur:
                runs.append(" ".join(cur))
            cur = []
            continue
        cur.append(f"{x_of(i):.1f},{y_of(v):.1f}")
    if cur:
        runs.append(" ".join(cur))
    return runs


def _panel(series: dict[str, Any], top: float) -> list[str]:
    counts: list[int] = series["counts"]
    expected: list[float | None] = series["expected"]
    start = date.fromisoformat(series["start"])
    n = max(len(counts), 1)
    plot_w = PANEL_WIDTH - MARGIN_LEFT - MARGIN_RIGHT
    plot_h = PANEL_HEIGHT - MARGIN_TOP - MARGIN_BOTTOM
    y_max = _nice_max(max([*counts, *[e or 0 for e in expected], 1]))
    x0, y0 = MARGIN_LEFT, top + MARGIN_TOP
    step = plot_w / n

    def x_of(i: float) -> float:
        return x0 + (i + 0.5) * step

    def y_of(v: float) -> float:
        return y0 + plot_h - (v / y_max) * plot_h

    out = [_title(series, top)]
    for i in range(n):
        if (start + timedelta(days=i)).weekday() >= 5:
            out.append(f"<rect x='{x0 + i * step:.1f}' y='{y0:.1f}' width='{step:.2f}' height='{plot_h}' fill='{COLORS['weekend']}'/>")
    for frac in (0.5, 1.0):
        y = y_of(y_max * frac)
        out.append(f"<line x1='{x0}' y1='{y:.1f}' x2='{x0 + plot_w}' y2='{y:.1f}' stroke='{COLORS['grid']}'/>")
        out.append(f"<text x='{x0 - 6}' y='{y + 4:.1f}' text-anchor='end' font-size='11' {FONT}>{y_max * frac:,.0f}</text>")
    out.append(f"<line x1='{x0}' y1='{y0 + plot_h}' x2='{x0 + plot_w}' y2='{y0 + plot_h}' stroke='#999'/>")
    out.append(f"<text x='{x0 - 6}' y='{y0 + plot_h + 4}' text-anchor='end' font-size='11' {FONT}>0</text>")
    out += _x_ticks(start, n, x_of, y0 + plot_h)
    out += _stopped_bands(series, start, step, x0, y0, plot_h)
    for pts in _points(list(expected), x_of, y_of):
        out.append(f"<polyline points='{pts}' fill='none' stroke='{COLORS['expected']}' stroke-width='1.5' stroke-dasharray='5,3'/>")
    for pts in _points([float(c) for c in counts], x_of, y_of):
        out.append(f"<polyline points='{pts}' fill='none' stroke='{COLORS['observed']}' stroke-width='1.6'/>")
    out += _day_marks(series, start, counts, x_of, y_of)
    return out


def _title(series: dict[str, Any], top: float) -> str:
    kinds = [f["kind"] for f in series["findings"]]
    summary = ", ".join(f"{kinds.count(k)} {k}" for k in ("spike", "drop", "stopped") if k in kinds) or "no anomaly"
    return (f"<text x='{MARGIN_LEFT}' y='{top + 18}' font-size='14' font-weight='bold' {FONT} fill='{COLORS['text']}'>"
            f"{escape(series['activity'])} <tspan font-weight='normal' fill='#555'>— {escape(summary)}</tspan></text>")


def _x_ticks(start: date, n: int, x_of: Any, baseline: float) -> list[str]:
    out = []
    every = 7 if n <= 120 else 14 if n <= 240 else 28
    for i in range(n):
        day = start + timedelta(days=i)
        if day.weekday() == 0 and (i // 7) % (every // 7) == 0:
            out.append(f"<line x1='{x_of(i):.1f}' y1='{baseline}' x2='{x_of(i):.1f}' y2='{baseline + 4}' stroke='#999'/>")
            out.append(f"<text x='{x_of(i):.1f}' y='{baseline + 16}' text-anchor='middle' font-size='10' {FONT}>{day.strftime('%b %d')}</text>")
    return out


def _stopped_bands(series: dict[str, Any], start: date, step: float, x0: float, y0: float, plot_h: float) -> list[str]:
    out = []
    for f in series["findings"]:
        if f["kind"] not in ("stopped", "drop") or f["day"] == f["last_day"]:
            continue
        a = (date.fromisoformat(f["day"]) - start).days
        b = (date.fromisoformat(f["last_day"]) - start).days + 1
        color = COLORS[f["kind"]]
        out.append(f"<rect x='{x0 + a * step:.1f}' y='{y0:.1f}' width='{(b - a) * step:.1f}' height='{plot_h}' fill='{color}' fill-opacity='0.12' stroke='{color}' stroke-opacity='0.5'/>")
        out.append(f"<text x='{x0 + a * step + 4:.1f}' y='{y0 + 14:.1f}' font-size='11' {FONT} fill='{color}'>{escape(f['kind'])} from {escape(f['day'])}</text>")
    return out


def _day_marks(series: dict[str, Any], start: date, counts: list[int], x_of: Any, y_of: Any) -> list[str]:
    out = []
    for f in series["findings"]:
        if f["day"] != f["last_day"] or f["kind"] not in ("spike", "drop"):
            continue
        i = (date.fromisoformat(f["day"]) - start).days
        x, y = x_of(i), y_of(counts[i])
        color = COLORS[f["kind"]]
        shape = (f"{x - 6:.1f},{y - 4:.1f} {x + 6:.1f},{y - 4:.1f} {x:.1f},{y + 6:.1f}" if f["kind"] == "drop"
                 else f"{x - 6:.1f},{y + 4:.1f} {x + 6:.1f},{y + 4:.1f} {x:.1f},{y - 6:.1f}")
        out.append(f"<polygon points='{shape}' fill='{color}'><title>{escape(f['message'])}</title></polygon>")
        anchor = "end" if i > len(counts) * 0.8 else "start"
        dx = -9 if anchor == "end" else 9
        out.append(f"<text x='{x + dx:.1f}' y='{max(y, 0) + 4:.1f}' text-anchor='{anchor}' font-size='11' {FONT} fill='{color}'>"
                   f"{escape(f['day'])}: {f['observed']:,} vs {f['expected']:,.0f} expected</text>")
    return out


def _legend(top: float) -> list[str]:
    items = [("observed", "line", "daily events"), ("expected", "dash", "expected (trailing, by weekday)"),
             ("spike", "up", "spike"), ("drop", "down", "drop"), ("stopped", "band", "stopped"),
             ("weekend", "band", "weekend")]
    out, x = [], MARGIN_LEFT
    for key, kind, label in items:
        c = COLORS[key]
        if kind == "line":
            out.append(f"<line x1='{x}' y1='{top + 8}' x2='{x + 18}' y2='{top + 8}' stroke='{c}' stroke-width='2'/>")
        elif kind == "dash":
            out.append(f"<line x1='{x}' y1='{top + 8}' x2='{x + 18}' y2='{top + 8}' stroke='{c}' stroke-width='2' stroke-dasharray='5,3'/>")
        elif kind == "up":
            out.append(f"<polygon points='{x + 3},{top + 12} {x + 15},{top + 12} {x + 9},{top + 2}' fill='{c}'/>")
        elif kind == "down":
            out.append(f"<polygon points='{x + 3},{top + 4} {x + 15},{top + 4} {x + 9},{top + 14}' fill='{c}'/>")
        else:
            opacity = "0.12" if key == "stopped" else "1"
            out.append(f"<rect x='{x}' y='{top + 2}' width='18' height='12' fill='{c}' fill-opacity='{opacity}' stroke='#bbb'/>")
        out.append(f"<text x='{x + 24}' y='{top + 12}' font-size='11' {FONT}>{escape(label)}</text>")
        x += 30 + 6.5 * len(label)
    return out


def series_panels_svg(series: list[dict[str, Any]], *, title: str = "Daily events per activity") -> str:
    """One SVG with a panel per series (``anomalies.Series.to_dict()`` shape) and a legend."""
    header = 52
    height = header + PANEL_HEIGHT * max(len(series), 1)
    parts = [
        f"<svg xmlns='http://www.w3.org/2000/svg' width='{PANEL_WIDTH}' height='{height}' "
        f"viewBox='0 0 {PANEL_WIDTH} {height}'>",
        f"<rect width='{PANEL_WIDTH}' height='{height}' fill='white'/>",
        f"<text x='{MARGIN_LEFT}' y='22' font-size='16' font-weight='bold' {FONT}>{escape(title)}</text>",
        *_legend(30),
    ]
    if not series:
        parts.append(f"<text x='{MARGIN_LEFT}' y='{header + 30}' font-size='13' {FONT}>No activity to draw.</text>")
    for k, s in enumerate(series):
        parts += _panel(s, header + k * PANEL_HEIGHT)
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def sparkline_svg(values: list[int], *, width: int = SPARK_WIDTH, height: int = SPARK_HEIGHT) -> str:
    """A small inline SVG line of ``values`` (e.g. daily counts), scaled to its own maximum."""
    if not values:
        return f"<svg xmlns='http://www.w3.org/2000/svg' width='{width}' height='{height}'></svg>"
    top = max(values) or 1
    n = len(values)
    pts = " ".join(
        f"{(i + 0.5) * width / n:.1f},{height - 2 - (v / top) * (height - 4):.1f}" for i, v in enumerate(values)
    )
    return (f"<svg xmlns='http://www.w3.org/2000/svg' width='{width}' height='{height}' viewBox='0 0 {width} {height}'>"
            f"<polyline points='{pts}' fill='none' stroke='{COLORS['observed']}' stroke-width='1.2'/></svg>")
