"""Write a chart to a file: ``.svg`` as is, ``.html`` as a self-contained page embedding the SVG."""

from __future__ import annotations

from pathlib import Path

from ..errors import ValidationError
from .svg import FONT, esc

PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{title}</title>
<style>
body {{ font-family: {font}; margin: 24px; color: #1f2937; background: #f9fafb; }}
.card {{ background: #fff; border: 1px solid #e5e7eb; border-radius: 8px; padding: 12px; display: inline-block; }}
footer {{ margin-top: 12px; font-size: 12px; color: #6b7280; }}
</style>
</head>
<body>
<div class="card">
{svg}
</div>
<footer>{footer}</footer>
</body>
</html>
"""


def html_page(svg: str, *, title: str, footer: str) -> str:
    return PAGE.format(title=esc(title), font=FONT, svg=svg, footer=esc(footer))


def write_chart(path: str | Path, svg: str, *, title: str, query_hash: str) -> Path:
    """Save ``svg`` at ``path``: SVG for ``.svg``, a self-contained HTML page for ``.html``/``.htm``."""
    target = Path(path)
    suffix = target.suffix.lower()
    if suffix == ".svg":
        body = svg
    elif suffix in (".html", ".htm"):
        body = html_page(svg, title=title, footer=f"activityschema · query hash {query_hash} "
                                                  "(recorded in the store's provenance_chain)")
    else:
        raise ValidationError(f"Chart file '{target}' must end in .svg or .html.", code="invalid_chart_path")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(body, encoding="utf-8")
    return target
