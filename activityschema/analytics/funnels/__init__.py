"""Funnels (SEMANTICS §5): ordered, strict and unordered, with windows, exclusions and breakdowns.

Public entry points: ``run_funnel`` (counts, conversions, times, histogram), ``run_funnel_actors``
(drill-down) and ``run_funnel_simple`` (the spec's "did each step ever" query).
"""

from __future__ import annotations

from .query import FunnelActorsRequest, FunnelActorsResult, FunnelRequest, FunnelResult
from .runner import run_funnel, run_funnel_actors, run_funnel_simple

__all__ = [
    "FunnelActorsRequest",
    "FunnelActorsResult",
    "FunnelRequest",
    "FunnelResult",
    "run_funnel",
    "run_funnel_actors",
    "run_funnel_simple",
]
