"""Server metrics in the Prometheus text format (version 0.0.4), written by hand: no dependency.

Counters and histograms are updated by the runtime; gauges are read from callbacks when scraped.
Label values come from engine-chosen names (template names, routes), never raw user input.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field

LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

Labels = tuple[tuple[str, str], ...]


def _labels(labels: Labels, extra: tuple[str, str] | None = None) -> str:
    items = list(labels) + ([extra] if extra else [])
    if not items:
        return ""
    body = ",".join(f'{k}="{v.replace(chr(92), chr(92) * 2).replace(chr(34), chr(92) + chr(34)).replace(chr(10), " ")}"'
                    for k, v in items)
    return "{" + body + "}"


def _num(value: float) -> str:
    return repr(float(value)) if value != int(value) else str(int(value))


@dataclass
class _Histogram:
    counts: list[int] = field(default_factory=lambda: [0] * len(LATENCY_BUCKETS))
    total: float = 0.0
    n: int = 0


class Metrics:
    """A small registry: counters, histograms and gauges (see the module docstring)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._help: dict[str, tuple[str, str]] = {}
        self._counters: dict[str, dict[Labels, float]] = {}
        self._histograms: dict[str, dict[Labels, _Histogram]] = {}
        self._gauges: dict[str, Callable[[], float]] = {}

    def counter(self, name: str, help_text: str) -> None:
        self._help[name] = ("counter", help_text)
        self._counters.setdefault(name, {})

    def histogram(self, name: str, help_text: str) -> None:
        self._help[name] = ("histogram", help_text)
        self._histograms.setdefault(name, {})

    def gauge(self, name: str, help_text: str, read: Callable[[], float]) -> None:
        self._help[name] = ("gauge", help_text)
        self._gauges[name] = read

    def inc(self, name: str, amount: float = 1, **labels: str) -> None:
        key = tuple(sorted(labels.items()))
        with self._lock:
            series = self._counters[name]
            series[key] = series.get(key, 0) + amount

    def observe(self, name: str, seconds: float, **labels: str) -> None:
        key = tuple(sorted(labels.items()))
        with self._lock:
            hist = self._histograms[name].setdefault(key, _Histogram())
            for i, bound in enumerate(LATENCY_BUCKETS):
                if seconds <= bound:
                    hist.counts[i] += 1
            hist.total += seconds
            hist.n += 1

    def value(self, name: str, **labels: str) -> float:
        return self._counters[name].get(tuple(sorted(labels.items())), 0)

    def render(self) -> str:
        lines: list[str] = []
        with self._lock:
            for name, (kind, help_text) in sorted(self._help.items()):
                lines += [f"# HELP {name} {help_text}", f"# TYPE {name} {kind}"]
                if kind == "counter":
                    series = self._counters[name] or {(): 0}
                    lines += [f"{name}{_labels(k)} {_num(v)}" for k, v in sorted(series.items())]
                elif kind == "histogram":
                    for key, hist in sorted(self._histograms[name].items()):
                        for bound, count in zip(LATENCY_BUCKETS, hist.counts, strict=True):
                            lines.append(f"{name}_bucket{_labels(key, ('le', repr(bound)))} {count}")
                        lines.append(f"{name}_bucket{_labels(key, ('le', '+Inf'))} {hist.n}")
                        lines += [f"{name}_sum{_labels(key)} {hist.total!r}", f"{name}_count{_labels(key)} {hist.n}"]
                else:
                    try:
                        value = float(self._gauges[name]())
                    except Exception:  # a failing gauge must not break the scrape
                        value = float("nan")
                    lines.append(f"{name} {'NaN' if value != value else _num(value)}")
        return "\n".join(lines) + "\n"
