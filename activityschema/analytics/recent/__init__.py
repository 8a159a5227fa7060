"""Recent activity (the spec's Query Pattern): the newest events, overall or for one actor."""

from __future__ import annotations

from .query import RecentRequest, RecentResult
from .runner import run_recent

__all__ = ["RecentRequest", "RecentResult", "run_recent"]
