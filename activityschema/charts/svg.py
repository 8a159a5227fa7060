"""A tiny SVG writer: escaped text, shapes, a document frame, colours and number formats."""

from __future__ import annotations

import hashlib
from html import escape

FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, Helvetica, Arial, sans-serif"
INK = "#1f2937"
MUTED = "#6b7280"
GRID = "#e5e7eb"
ACCENT = "#2563eb"
ACCENT_LIGHT = "#bfdbfe"
PALETTE = ("#2563eb", "#16a34a", "#ea580c", "#9333ea", "#0891b2", "#dc2626", "#ca8a04", "#db2777",
           "#4f46e5", "#65a30d", "#0d9488", "#b45309")
LABEL_MAX = 24


def esc(text: object) -> str:
    return escape(str(text), quote=True)


def short(text: str, limit: int = LABEL_MAX) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "…"


def colour(name: str) -> str:
    """A stable palette colour for a name (the same activity is the same colour in every chart)."""
    return PALETTE[int(hashlib.md5(name.encode()).hexdigest(), 16) % len(PALETTE)]


def text(x: float, y: float, body: object, *, size: int = 12, fill: str = INK, anchor: str = "start",
         weight: str = "normal", style: str = "normal") -> str:
    return (f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" fill="{fill}" text-anchor="{anchor}" '
            f'font-weight="{weight}" font-style="{style}">{esc(body)}</text>')


def rect(x: float, y: float, w: float, h: float, fill: str, *, extra: str = "") -> str:
    return f'<rect x="{x:.1f}" y="{y:.1f}" width="{max(w, 0):.1f}" height="{max(h, 0):.1f}" fill="{fill}" {extra}/>'


def line(x1: float, y1: float, x2: float, y2: float, *, stroke: str = GRID, width: float = 1, extra: str = "") -> str:
    return (f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" stroke="{stroke}" '
            f'stroke-width="{width}" {extra}/>')


STRIPES = ('<pattern id="stripes" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)">'
           '<rect width="6" height="6" fill="#f3f4f6"/><line x1="0" y1="0" x2="0" y2="6" stroke="#d1d5db" stroke-width="3"/>'
           '</pattern>')


def document(width: float, height: float, body: list[str], *, title: str) -> str:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
            f'viewBox="0 0 {width:.0f} {height:.0f}" font-family="{esc(FONT)}" role="img" aria-label="{esc(title)}">\n'
            f'<title>{esc(title)}</title>\n<defs>{STRIPES}</defs>\n'
            f'<rect width="100%" height="100%" fill="#ffffff"/>\n' + "\n".join(body) + "\n</svg>\n")


def pct(value: float | None, digits: int = 1) -> str:
    return "–" if value is None else f"{value * 100:.{digits}f}%"


def count(value: int | None) -> str:
    return "–" if value is None else f"{value:,}"


def header(width: float, title: str, subtitle: str) -> list[str]:
    return [text(24, 32, title, size=18, weight="600"), text(24, 52, subtitle, size=12, fill=MUTED),
            line(24, 62, width - 24, 62)]
