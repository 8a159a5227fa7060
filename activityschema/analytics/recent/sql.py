"""Recent activity SQL: the spec's pattern (ts within the window, newest first, limited).

Order: ts descending, then activity_id descending, so equal timestamps list deterministically.
The window is [since, until], both bounds inclusive, resolved from ``now`` by the runner.
"""

from __future__ import annotations

from typing import Any

from ..common.columns import ACTOR_SQL
from ..common.sqltext import tidy
from .query import RecentParams

RECENT_SQL = """
SELECT activity_id, ts, activity, customer, anonymous_customer_id,
       CAST(feature_json AS VARCHAR) AS feature_json, revenue_impact, link, activity_occurrence
FROM activities
WHERE ts >= $since
  AND ts <= $until
  {conditions}
ORDER BY ts DESC, activity_id DESC
LIMIT $limit
"""


def recent_sql(params: RecentParams) -> tuple[str, dict[str, Any]]:
    bind: dict[str, Any] = {"since": params.since, "until": params.until, "limit": params.limit}
    conditions = []
    if params.actor is not None:
        bind["actor"] = params.actor
        conditions.append(f"AND {ACTOR_SQL} = $actor")
    if params.activities:
        bind["activities"] = list(params.activities)
        conditions.append("AND list_contains($activities, activity)")
    return tidy(RECENT_SQL.replace("{conditions}", "\n  ".join(conditions))), bind
