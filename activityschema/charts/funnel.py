"""Funnel chart: one bar per step (converted solid, dropped-off striped), conversions between bars,
and the time-to-convert histogram underneath. With a breakdown, bars are grouped per bucket."""

from __future__ import annotations

from ..analytics.common.durations import format_seconds
from ..analytics.funnels.query import FunnelResult, StepResult
from .svg import (
    ACCENT,
    GRID,
    MUTED,
    PALETTE,
    count,
    document,
    header,
    line,
    pct,
    rect,
    short,
    text,
)

WIDTH = 960
PLOT_TOP = 100
PLOT_HEIGHT = 300
LEFT = 70
RIGHT = 30
HIST_HEIGHT = 120
MAX_BUCKETS = 6


def _axis(top: float, height: float) -> list[str]:
    out = []
    for i in range(5):
        y = top + height - height * i / 4
        out.append(line(LEFT, y, WIDTH - RIGHT, y))
        out.append(text(LEFT - 8, y + 4, f"{25 * i}%", size=11, fill=MUTED, anchor="end"))
    return out


def _bar(x: float, width: float, step: StepResult, previous: int | None, first: int, colour: str) -> list[str]:
    """A bar scaled to step 1: the converted part solid, the part dropped since the last step striped."""
    scale = PLOT_HEIGHT / first if first else 0
    bottom = PLOT_TOP + PLOT_HEIGHT
    kept = step.count * scale
    dropped = (previous - step.count) * scale if previous is not None else 0
    out = [rect(x, bottom - kept, width, kept, colour, extra='rx="3"')]
    if dropped > 0:
        out.append(rect(x, bottom - kept - dropped, width, dropped, "url(#stripes)", extra='rx="3"'))
    return out


def _total_bars(result: FunnelResult, slot: float) -> list[str]:
    steps, first = result.steps, result.steps[0].count if result.steps else 0
    out: list[str] = []
    for i, step in enumerate(steps):
        x, width = LEFT + slot * i + slot * 0.2, slot * 0.45
        previous = steps[i - 1].count if i else None
        out += _bar(x, width, step, previous, first, ACCENT)
        top = PLOT_TOP + PLOT_HEIGHT - (step.count / first * PLOT_HEIGHT if first else 0)
        out.append(text(x + width / 2, top - 8, f"{count(step.count)} · {pct(step.conversion_from_first)}",
                        size=12, anchor="middle", weight="600"))
        if i:
            mid_x = x - slot * 0.275
            out.append(text(mid_x, PLOT_TOP + 40, f"→ {pct(step.conversion_from_previous)}", size=12, anchor="middle"))
            out.append(text(mid_x, PLOT_TOP + 56, f"median {format_seconds(step.median_seconds_from_previous)}",
                            size=11, fill=MUTED, anchor="middle"))
    return out


def _bucket_bars(result: FunnelResult, slot: float) -> list[str]:
    buckets = result.breakdown[:MAX_BUCKETS]
    out: list[str] = []
    group = slot * 0.7
    width = group / max(len(buckets), 1)
    for b, bucket in enumerate(buckets):
        first = bucket.steps[0].count if bucket.steps else 0
        for i, step in enumerate(bucket.steps):
            x = LEFT + slot * i + slot * 0.15 + b * width
            previous = bucket.steps[i - 1].count if i else None
            out += _bar(x, width * 0.9, step, previous, first, PALETTE[b % len(PALETTE)])
            top = PLOT_TOP + PLOT_HEIGHT - (step.count / first * PLOT_HEIGHT if first else 0)
            out.append(text(x + width * 0.45, top - 4, pct(step.conversion_from_first, 0), size=10,
                            anchor="middle", fill=MUTED))
    for b, bucket in enumerate(buckets):
        label = "(none)" if bucket.value is None else ("other" if bucket.is_other else bucket.value)
        x = LEFT + b * 150
        out.append(rect(x, PLOT_TOP - 26, 12, 12, PALETTE[b % len(PALETTE)], extra='rx="2"'))
        out.append(text(x + 18, PLOT_TOP - 16, f"{short(label, 14)} ({count(first_count(bucket.steps))})", size=11))
    return out


def first_count(steps: list[StepResult]) -> int:
    return steps[0].count if steps else 0


def _labels(result: FunnelResult, slot: float) -> list[str]:
    out = []
    centre = 0.5 if result.breakdown else 0.425
    for i, step in enumerate(result.steps):
        x = LEFT + slot * (i + centre)
        out.append(text(x, PLOT_TOP + PLOT_HEIGHT + 20, f"{step.step}. {short(step.name)}", size=12,
                        anchor="middle", weight="600"))
    return out


def _histogram(result: FunnelResult, top: float) -> list[str]:
    ttc = result.time_to_convert
    out = [text(LEFT, top, f"Time to convert (step 1 → {ttc.to_step}) · {count(ttc.converted)} converted · "
                           f"median {format_seconds(ttc.median_seconds)} · mean {format_seconds(ttc.mean_seconds)}",
                size=12, weight="600")]
    if not ttc.bins:
        return out + [text(LEFT, top + 24, "nobody converted", size=12, fill=MUTED)]
    peak = max(b.count for b in ttc.bins) or 1
    slot = (WIDTH - LEFT - RIGHT) / len(ttc.bins)
    base = top + 16 + HIST_HEIGHT - 30
    out.append(line(LEFT, base, WIDTH - RIGHT, base, stroke=GRID))
    for i, b in enumerate(ttc.bins):
        h = (HIST_HEIGHT - 40) * b.count / peak
        x = LEFT + i * slot
        out.append(rect(x + 2, base - h, slot - 4, h, ACCENT, extra='opacity="0.75"'))
        if b.count:
            out.append(text(x + slot / 2, base - h - 4, count(b.count), size=10, anchor="middle", fill=MUTED))
        out.append(text(x + slot / 2, base + 14, format_seconds(b.lower_seconds), size=10, anchor="middle", fill=MUTED))
    return out


def funnel_svg(result: FunnelResult) -> str:
    """The funnel as SVG text."""
    names = " → ".join(s.name for s in result.steps)
    window = result.request.get("window") or {}
    window_text = ", ".join(f"{v:g} {k}" for k, v in window.items() if v)
    subtitle = f"{result.order} · window {window_text} · query {result.query_hash}"
    slot = (WIDTH - LEFT - RIGHT) / max(len(result.steps), 1)
    body = header(WIDTH, f"Funnel: {short(names, 90)}", subtitle) + _axis(PLOT_TOP, PLOT_HEIGHT)
    body += _bucket_bars(result, slot) if result.breakdown else _total_bars(result, slot)
    body += _labels(result, slot)
    body += _histogram(result, PLOT_TOP + PLOT_HEIGHT + 60)
    height = PLOT_TOP + PLOT_HEIGHT + 60 + HIST_HEIGHT + 20
    return document(WIDTH, height, body, title=f"Funnel {names}")
