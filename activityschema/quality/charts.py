"""Hand-written, self-contained SVG pictures (no plotting dependency).

- ``series_panels_svg``: one panel per activity — daily counts (line), the expected count (dashed),
  weekends shaded, flagged days marked (spike ▲ red, drop ▼ orange, a stopped activity or a
  multi-day drop: a tinted band).
- ``sparkline_svg``: a tiny line of daily counts for the catalog page.

Every element goes through ``el``, which escapes text and attribute values.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from html import escape
from typing import Any

PANEL_WIDTH = 960
PANEL_HEIGHT = 170
HEADER_HEIGHT = 52
MARGIN_LEFT, MARGIN_RIGHT, MARGIN_TOP, MARGIN_BOTTOM = 56, 16, 28, 26
COLORS = {
    "observed": "#1f4e99",
    "expected": "#8c8c8c",
    "spike": "#c62828",
    "drop": "#ef6c00",
    "stopped": "#c62828",
    "weekend": "#f1f1f1",
    "grid": "#dddddd",
    "axis": "#999999",
    "text": "#222222",
    "muted": "#555555",
}
FONT = "Helvetica, Arial, sans-serif"
SPARK_WIDTH, SPARK_HEIGHT = 160, 28
BAND_OPACITY = 0.12
LABEL_RIGHT_FROM = 0.8  # labels of marks in the last 20% of a panel go to their left

Scale = Callable[[float], float]


def _attr(value: Any) -> str:
    text = f"{value:.1f}" if isinstance(value, float) else str(value)
    return escape(text, quote=True)


def el(tag: str, body: str | None = None, **attrs: Any) -> str:
    """One SVG element; ``font_size`` becomes ``font-size``; ``body`` is already-escaped markup."""
    rendered = " ".join(f"{k.replace('_', '-')}='{_attr(v)}'" for k, v in attrs.items())
    if body is None:
        return f"<{tag} {rendered}/>"
    return f"<{tag} {rendered}>{body}</{tag}>"


def text(x: float, y: float, content: str, **attrs: Any) -> str:
    attrs.setdefault("font_size", 11)
    return el("text", escape(content), x=x, y=y, font_family=FONT, **attrs)


def _nice_max(value: float) -> float:
    """A round axis maximum at or above ``value``."""
    if value <= 0:
        return 1.0
    step = 10 ** (len(str(int(value))) - 1)
    for m in (1, 2, 2.5, 5, 10):
        if value <= m * step:
            return float(m * step)
    return float(10 * step)


def _points(values: list[float | None], x_of: Scale, y_of: Scale) -> list[str]:
    """Polyline point lists, broken where a value is missing."""
    runs: list[str] = []
    cur: list[str] = []
    for i, v in enumerate(values):
        if v is None:
            if cur:
                runs.append(" ".join(cur))
            cur = []
            continue
        cur.append(f"{x_of(i):.1f},{y_of(v):.1f}")
    if cur:
        runs.append(" ".join(cur))
    return runs


class _Panel:
    """Geometry of one panel: day index -> x, count -> y."""

    def __init__(self, series: dict[str, Any], top: float) -> None:
        self.series = series
        self.counts: list[int] = series["counts"]
        self.expected: list[float | None] = series["expected"]
        self.start = date.fromisoformat(series["start"])
        self.n = max(len(self.counts), 1)
        self.top = top
        self.x0, self.y0 = float(MARGIN_LEFT), top + MARGIN_TOP
        self.w = PANEL_WIDTH - MARGIN_LEFT - MARGIN_RIGHT
        self.h = PANEL_HEIGHT - MARGIN_TOP - MARGIN_BOTTOM
        self.step = self.w / self.n
        self.y_max = _nice_max(max([*self.counts, *[e or 0 for e in self.expected], 1]))

    def x(self, i: float) -> float:
        return self.x0 + (i + 0.5) * self.step

    def y(self, v: float) -> float:
        return self.y0 + self.h - (v / self.y_max) * self.h

    def index(self, day: str) -> int:
        return (date.fromisoformat(day) - self.start).days

    def render(self) -> list[str]:
        out = [self.title(), *self.weekends(), *self.axes(), *self.x_ticks(), *self.bands()]
        for pts in _points(list(self.expected), self.x, self.y):
            out.append(
                el(
                    "polyline",
                    points=pts,
                    fill="none",
                    stroke=COLORS["expected"],
                    stroke_width=1.5,
                    stroke_dasharray="5,3",
                )
            )
        for pts in _points([float(c) for c in self.counts], self.x, self.y):
            out.append(
                el("polyline", points=pts, fill="none", stroke=COLORS["observed"], stroke_width=1.6)
            )
        return out + self.marks()

    def title(self) -> str:
        kinds = [f["kind"] for f in self.series["findings"]]
        found = [f"{kinds.count(k)} {k}" for k in ("spike", "drop", "stopped") if k in kinds]
        summary = el(
            "tspan",
            escape("— " + (", ".join(found) or "no anomaly")),
            font_weight="normal",
            fill=COLORS["muted"],
        )
        name = escape(self.series["activity"])
        return el(
            "text",
            f"{name} {summary}",
            x=self.x0,
            y=self.top + 18,
            font_size=14,
            font_weight="bold",
            font_family=FONT,
            fill=COLORS["text"],
        )

    def weekends(self) -> list[str]:
        return [
            el(
                "rect",
                x=self.x0 + i * self.step,
                y=self.y0,
                width=self.step,
                height=self.h,
                fill=COLORS["weekend"],
            )
            for i in range(self.n)
            if (self.start + timedelta(days=i)).weekday() >= 5
        ]

    def axes(self) -> list[str]:
        out = []
        for frac in (0.5, 1.0):
            y = self.y(self.y_max * frac)
            out.append(
                el("line", x1=self.x0, y1=y, x2=self.x0 + self.w, y2=y, stroke=COLORS["grid"])
            )
            out.append(text(self.x0 - 6, y + 4, f"{self.y_max * frac:,.0f}", text_anchor="end"))
        base = self.y0 + self.h
        out.append(
            el("line", x1=self.x0, y1=base, x2=self.x0 + self.w, y2=base, stroke=COLORS["axis"])
        )
        out.append(text(self.x0 - 6, base + 4, "0", text_anchor="end"))
        return out

    def x_ticks(self) -> list[str]:
        weeks_between = 1 if self.n <= 120 else 2 if self.n <= 240 else 4
        base = self.y0 + self.h
        out = []
        for i in range(self.n):
            day = self.start + timedelta(days=i)
            if day.weekday() == 0 and (i // 7) % weeks_between == 0:
                out.append(
                    el(
                        "line",
                        x1=self.x(i),
                        y1=base,
                        x2=self.x(i),
                        y2=base + 4,
                        stroke=COLORS["axis"],
                    )
                )
                out.append(
                    text(
                        self.x(i),
                        base + 16,
                        day.strftime("%b %d"),
                        font_size=10,
                        text_anchor="middle",
                    )
                )
        return out

    def bands(self) -> list[str]:
        out = []
        for f in self.series["findings"]:
            if f["day"] == f["last_day"]:
                continue
            a, b = self.index(f["day"]), self.index(f["last_day"]) + 1
            color = COLORS[f["kind"]]
            out.append(
                el(
                    "rect",
                    x=self.x0 + a * self.step,
                    y=self.y0,
                    width=(b - a) * self.step,
                    height=self.h,
                    fill=color,
                    fill_opacity=BAND_OPACITY,
                    stroke=color,
                    stroke_opacity=0.5,
                )
            )
            out.append(
                text(
                    self.x0 + a * self.step + 4,
                    self.y0 + 14,
                    f"{f['kind']} from {f['day']}",
                    fill=color,
                )
            )
        return out

    def marks(self) -> list[str]:
        out = []
        for f in self.series["findings"]:
            if f["day"] != f["last_day"]:
                continue
            i = self.index(f["day"])
            x, y = self.x(i), self.y(self.counts[i])
            color = COLORS[f["kind"]]
            base, apex = (y - 4, y + 6) if f["kind"] == "drop" else (y + 4, y - 6)
            shape = f"{x - 6:.1f},{base:.1f} {x + 6:.1f},{base:.1f} {x:.1f},{apex:.1f}"
            out.append(el("polygon", el("title", escape(f["message"])), points=shape, fill=color))
            left = i > self.n * LABEL_RIGHT_FROM
            label = f"{f['day']}: {f['observed']:,} vs {f['expected']:,.0f} expected"
            out.append(
                text(
                    x - 9 if left else x + 9,
                    y + 4,
                    label,
                    fill=color,
                    text_anchor="end" if left else "start",
                )
            )
        return out


def _legend(top: float) -> list[str]:
    items = [
        ("observed", "line", "daily events"),
        ("expected", "dash", "expected (trailing, by weekday)"),
        ("spike", "up", "spike"),
        ("drop", "down", "drop"),
        ("stopped", "band", "stopped"),
        ("weekend", "band", "weekend"),
    ]
    out: list[str] = []
    x = float(MARGIN_LEFT)
    for key, kind, label in items:
        c = COLORS[key]
        if kind in ("line", "dash"):
            dash = "5,3" if kind == "dash" else "none"
            out.append(
                el(
                    "line",
                    x1=x,
                    y1=top + 8,
                    x2=x + 18,
                    y2=top + 8,
                    stroke=c,
                    stroke_width=2,
                    stroke_dasharray=dash,
                )
            )
        elif kind == "up":
            out.append(
                el(
                    "polygon",
                    points=f"{x + 3},{top + 12} {x + 15},{top + 12} {x + 9},{top + 2}",
                    fill=c,
                )
            )
        elif kind == "down":
            out.append(
                el(
                    "polygon",
                    points=f"{x + 3},{top + 4} {x + 15},{top + 4} {x + 9},{top + 14}",
                    fill=c,
                )
            )
        else:
            opacity = BAND_OPACITY if key == "stopped" else 1
            out.append(
                el(
                    "rect",
                    x=x,
                    y=top + 2,
                    width=18,
                    height=12,
                    fill=c,
                    fill_opacity=opacity,
                    stroke="#bbbbbb",
                )
            )
        out.append(text(x + 24, top + 12, label))
        x += 30 + 6.5 * len(label)
    return out


def series_panels_svg(
    series: list[dict[str, Any]], *, title: str = "Daily events per activity"
) -> str:
    """One SVG with a panel per series (``anomalies.Series.to_dict()`` shape) and a legend."""
    height = HEADER_HEIGHT + PANEL_HEIGHT * max(len(series), 1)
    parts = [
        f"<svg xmlns='http://www.w3.org/2000/svg' width='{PANEL_WIDTH}' height='{height}' "
        f"viewBox='0 0 {PANEL_WIDTH} {height}'>",
        el("rect", width=PANEL_WIDTH, height=height, fill="white"),
        text(MARGIN_LEFT, 22, title, font_size=16, font_weight="bold"),
        *_legend(30),
    ]
    if not series:
        parts.append(text(MARGIN_LEFT, HEADER_HEIGHT + 30, "No activity to draw.", font_size=13))
    for k, s in enumerate(series):
        parts += _Panel(s, HEADER_HEIGHT + k * PANEL_HEIGHT).render()
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def sparkline_svg(
    values: list[int], *, width: int = SPARK_WIDTH, height: int = SPARK_HEIGHT
) -> str:
    """A small inline SVG line of ``values`` (e.g. daily counts), scaled to its own maximum."""
    head = f"<svg xmlns='http://www.w3.org/2000/svg' width='{width}' height='{height}' viewBox='0 0 {width} {height}'>"
    if not values:
        return head + "</svg>"
    top = max(values) or 1
    n = len(values)
    pts = " ".join(
        f"{(i + 0.5) * width / n:.1f},{height - 2 - (v / top) * (height - 4):.1f}"
        for i, v in enumerate(values)
    )
    line = el("polyline", points=pts, fill="none", stroke=COLORS["observed"], stroke_width=1.2)
    return head + line + "</svg>"
