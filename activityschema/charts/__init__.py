"""Pictures of insight results: hand-written, self-contained SVG (and an HTML page embedding it).

No plotting dependency: each chart is a function ``result -> SVG text``. ``write_chart`` saves SVG or
HTML by the file's extension.
"""

from __future__ import annotations

from .funnel import funnel_svg
from .page import write_chart
from .paths import paths_svg
from .retention import retention_svg

__all__ = ["funnel_svg", "paths_svg", "retention_svg", "write_chart"]
