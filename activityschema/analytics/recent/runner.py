"""Run recent activity: resolve the window against ``now``, execute the named template."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from ...sql.templates import Template, register_template
from ...store.duckdb import DuckDBStore
from ..common.activities import check_known_activities
from ..common.requests import naive_utc, parse_request, provenance_fields
from ..runner import UNRESTRICTED, Scope, execute
from .query import RecentEvent, RecentParams, RecentRequest, RecentResult
from .sql import recent_sql

RECENT_TEMPLATE = register_template(Template(
    name="recent_activity", params=RecentParams, build=recent_sql,
    description="The spec's Recent Activity: events in [now - window, now], newest first, limited."))


def run_recent(store: DuckDBStore, request: dict[str, Any] | RecentRequest | None = None, *,
               scope: Scope = UNRESTRICTED, created_by: str = "library", now: datetime | None = None) -> RecentResult:
    """The newest events (default: the last 24 hours, 100 events), overall or for one actor.

    Args:
        store: the activity store.
        request: ``{"window": {"hours": 24}, "actor": …, "activities": […], "limit": 100}``.
        scope: the actors the caller may read.
        created_by: recorded in the provenance chain.
        now: the end of the window (default: the current UTC time).
    """
    req = parse_request(RecentRequest, request or {}, what="recent activity")
    if req.activities:
        check_known_activities(store, req.activities)
    until = naive_utc(now) if now is not None else datetime.now(UTC).replace(tzinfo=None)
    params = RecentParams(since=until - req.window.timedelta, until=until, actor=req.actor,
                          activities=list(req.activities), limit=req.limit)
    result = execute(store, RECENT_TEMPLATE, params, scope=scope, created_by=created_by, now=until)
    events = [RecentEvent(**{**row, "feature_json": json.loads(row["feature_json"]) if row["feature_json"] else None})
              for row in result.rows()]
    return RecentResult(**provenance_fields(result), request=req.model_dump(mode="json"), since=params.since,
                        until=until, events=events)
