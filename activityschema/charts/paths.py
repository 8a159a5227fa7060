"""Paths chart: a Sankey-like diagram — one column per step, nodes sized by paths, bands per edge —
with the most frequent whole paths listed underneath."""

from __future__ import annotations

from collections import defaultdict

from ..analytics.common.durations import format_seconds
from ..analytics.paths.query import Edge, PathsResult
from .svg import MUTED, colour, count, document, esc, header, rect, short, text

WIDTH = 1100
TOP = 90
PLOT_HEIGHT = 440
LEFT = 40
RIGHT = 190
NODE_W = 14
NODE_GAP = 10
MIN_NODE = 2.0
TOP_PATHS_SHOWN = 10
Node = tuple[int, str]


def _node_values(edges: list[Edge]) -> dict[Node, int]:
    incoming: dict[Node, int] = defaultdict(int)
    outgoing: dict[Node, int] = defaultdict(int)
    for e in edges:
        outgoing[(e.step, e.source)] += e.count
        incoming[(e.step + 1, e.target)] += e.count
    return {n: max(incoming.get(n, 0), outgoing.get(n, 0)) for n in set(incoming) | set(outgoing)}


def _layout(values: dict[Node, int]) -> tuple[dict[Node, tuple[float, float, float]], list[int]]:
    """Node -> (x, y, height); columns ordered by step, nodes by value."""
    steps = sorted({s for s, _ in values})
    columns = {s: sorted((n for n in values if n[0] == s), key=lambda n: (-values[n], n[1])) for s in steps}
    biggest = max((sum(values[n] for n in col) + NODE_GAP * (len(col) - 1) for col in columns.values()), default=1)
    scale = max((PLOT_HEIGHT - NODE_GAP * max((len(c) for c in columns.values()), default=1)) / max(biggest, 1), 0.0)
    span = (WIDTH - LEFT - RIGHT - NODE_W) / max(len(steps) - 1, 1)
    placed = {}
    for i, s in enumerate(steps):
        y = TOP
        for node in columns[s]:
            h = max(values[node] * scale, MIN_NODE)
            placed[node] = (LEFT + i * span, y, h)
            y += h + NODE_GAP
    return placed, steps


def _band(x0: float, y0: float, x1: float, y1: float, w: float, fill: str, tip: str) -> str:
    mid = (x0 + x1) / 2
    d = (f"M{x0:.1f},{y0:.1f} C{mid:.1f},{y0:.1f} {mid:.1f},{y1:.1f} {x1:.1f},{y1:.1f} "
         f"L{x1:.1f},{y1 + w:.1f} C{mid:.1f},{y1 + w:.1f} {mid:.1f},{y0 + w:.1f} {x0:.1f},{y0 + w:.1f} Z")
    return f'<path d="{d}" fill="{fill}" fill-opacity="0.35"><title>{esc(tip)}</title></path>'


def _bands(edges: list[Edge], placed: dict[Node, tuple[float, float, float]], values: dict[Node, int]) -> list[str]:
    out_used: dict[Node, float] = defaultdict(float)
    in_used: dict[Node, float] = defaultdict(float)
    order = sorted(edges, key=lambda e: (e.step, placed[(e.step, e.source)][1], placed[(e.step + 1, e.target)][1]))
    out = []
    for e in order:
        src, tgt = (e.step, e.source), (e.step + 1, e.target)
        sx, sy, sh = placed[src]
        tx, ty, th = placed[tgt]
        w = max(sh * e.count / max(values[src], 1), 1.0)
        tw = max(th * e.count / max(values[tgt], 1), 1.0)
        tip = f"{e.source} → {e.target}: {e.count:,} (median {format_seconds(e.median_seconds)})"
        out.append(_band(sx + NODE_W, sy + out_used[src], tx, ty + in_used[tgt], min(w, tw), colour(e.source), tip))
        out_used[src] += w
        in_used[tgt] += tw
    return out


def _nodes(placed: dict[Node, tuple[float, float, float]], values: dict[Node, int], last: int) -> list[str]:
    out = []
    for (step, activity), (x, y, h) in placed.items():
        out.append(rect(x, y, NODE_W, h, colour(activity), extra='rx="2"'))
        if h >= 9:
            label = f"{short(activity, 22)} {count(values[(step, activity)])}"
            out.append(text(x + NODE_W + 5, y + min(h / 2 + 4, h), label, size=11) if step != last
                       else text(x + NODE_W + 5, y + min(h / 2 + 4, h), label, size=11))
    return out


def _top_paths(result: PathsResult, top: float) -> list[str]:
    out = [text(LEFT, top, f"Top paths (of {count(result.paths_total)} paths by {count(result.actors_total)} actors)",
                size=13, weight="600")]
    for i, p in enumerate(result.top_paths[:TOP_PATHS_SHOWN]):
        y = top + 20 + i * 18
        out.append(text(LEFT, y, f"{count(p.count)}", size=11, anchor="start", weight="600"))
        out.append(text(LEFT + 60, y, short(" → ".join(p.path), 120), size=11))
        out.append(text(WIDTH - 24, y, f"{count(p.actors)} actors · median {format_seconds(p.median_seconds)}",
                        size=11, fill=MUTED, anchor="end"))
    return out


def paths_svg(result: PathsResult) -> str:
    """The paths as SVG text."""
    req = result.request
    anchors = []
    if req.get("start_activity"):
        anchors.append(f"from {req['start_activity']}")
    if req.get("end_activity"):
        anchors.append(f"to {req['end_activity']}")
    title = "Paths " + (" ".join(anchors) if anchors else "through every session")
    gap = req.get("session_gap")
    gap_text = "no session gap" if gap is None else "session gap " + ", ".join(f"{v:g} {k}" for k, v in gap.items() if v)
    subtitle = (f"{req.get('step_limit')} steps · {gap_text} · "
                f"{'repeats collapsed' if req.get('collapse_repeats') else 'repeats kept'} · query {result.query_hash}")
    values = _node_values(result.edges)
    placed, steps = _layout(values)
    body = header(WIDTH, title, subtitle)
    for i, s in enumerate(steps):
        x = placed[next(n for n in placed if n[0] == s)][0]
        body.append(text(x + NODE_W / 2, TOP - 10, f"step {s}", size=11, fill=MUTED, anchor="middle"))
    body += _bands(result.edges, placed, values) + _nodes(placed, values, steps[-1] if steps else 0)
    if not result.edges:
        body.append(text(LEFT, TOP + 20, "no transitions in these paths", size=12, fill=MUTED))
    bottom = TOP + PLOT_HEIGHT + 30
    body += _top_paths(result, bottom)
    height = bottom + 20 + min(len(result.top_paths), TOP_PATHS_SHOWN) * 18 + 20
    return document(WIDTH, height, body, title=title)
