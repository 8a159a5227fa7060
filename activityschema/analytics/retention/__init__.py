"""Cohort retention (SEMANTICS §6): first-time or recurring cohorts by day, week or month.

Public entry points: ``run_retention``, ``run_retention_actors`` (drill-down per cell) and
``run_cohort_simple`` (the spec's Cohort Analysis query).
"""

from __future__ import annotations

from .query import RetentionActorsRequest, RetentionActorsResult, RetentionRequest, RetentionResult
from .runner import run_cohort_simple, run_retention, run_retention_actors

__all__ = [
    "RetentionActorsRequest",
    "RetentionActorsResult",
    "RetentionRequest",
    "RetentionResult",
    "run_cohort_simple",
    "run_retention",
    "run_retention_actors",
]
