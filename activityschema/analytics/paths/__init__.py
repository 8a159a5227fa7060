"""Paths and journeys (SEMANTICS §7): session paths with anchors, one actor's timeline, transitions.

Public entry points: ``run_paths`` (edges and top paths), ``run_paths_actors`` (drill-down),
``run_journey`` (one actor's timeline) and ``run_journey_transitions`` (the spec's journey query).
"""

from __future__ import annotations

from .query import JourneyRequest, JourneyResult, PathsActorsRequest, PathsActorsResult, PathsRequest, PathsResult
from .runner import run_journey, run_journey_transitions, run_paths, run_paths_actors

__all__ = [
    "JourneyRequest",
    "JourneyResult",
    "PathsActorsRequest",
    "PathsActorsResult",
    "PathsRequest",
    "PathsResult",
    "run_journey",
    "run_journey_transitions",
    "run_paths",
    "run_paths_actors",
]
