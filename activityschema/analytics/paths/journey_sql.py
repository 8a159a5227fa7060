"""One actor's journey: the timeline of its events, with sessions and gaps (SEMANTICS §7).

Events are ordered by (ts, activity_id); a session starts at the first event and after every gap
longer than ``session_gap``. ``limit`` keeps the first events, or with ``latest`` the last ones.
The spec's journey query (next-activity transitions over every actor) is the fixed template
``journey_transitions`` in ``runner.py``.
"""

from __future__ import annotations

from typing import Any

from ..common.columns import ACTOR_SQL
from ..common.requests import range_end, range_start
from ..common.sqltext import tidy
from .query import JourneyRequest


def journey_sql(request: JourneyRequest) -> tuple[str, dict[str, Any]]:
    bind: dict[str, Any] = {"actor": request.actor, "limit": request.limit}
    bounds = []
    start, end = range_start(request.date_from), range_end(request.date_to)
    if start is not None:
        bind["range_start"] = start
        bounds.append("AND ts >= $range_start")
    if end is not None:
        bind["range_end"] = end
        bounds.append("AND ts < $range_end")
    new = "prev_ts IS NULL"
    if request.session_gap is not None:
        bind["gap_us"] = request.session_gap.microseconds
        new = "(prev_ts IS NULL OR epoch_us(ts) - epoch_us(prev_ts) > $gap_us)"
    direction = "DESC" if request.latest else ""
    sql = f"""WITH ev AS (
    SELECT activity_id, ts, activity, activity_occurrence, feature_json, revenue_impact, link,
           lag(ts) OVER (ORDER BY ts, activity_id) AS prev_ts
    FROM activities
    WHERE {ACTOR_SQL} = $actor
      {chr(10).join(bounds)}
),
numbered AS (
    SELECT *,
           sum(CAST({new} AS INTEGER)) OVER (ORDER BY ts, activity_id ROWS UNBOUNDED PRECEDING) AS session,
           epoch_us(ts) - epoch_us(prev_ts) AS gap_us_before
    FROM ev
)
SELECT activity_id, ts, activity, session, gap_us_before, activity_occurrence,
       CAST(feature_json AS VARCHAR) AS feature_json, revenue_impact, link,
       count(*) OVER () AS total_events, max(session) OVER () AS sessions,
       min(ts) OVER () AS first_seen, max(ts) OVER () AS last_seen
FROM numbered
ORDER BY ts {direction}, activity_id {direction}
LIMIT $limit
"""
    return tidy(sql), bind
