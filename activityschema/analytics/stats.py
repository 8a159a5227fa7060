"""Per-activity summary of the stream (the ``stats`` command)."""

from __future__ import annotations

from typing import Any

from ..store.duckdb import DuckDBStore

STATS_SQL = """
SELECT activity,
       count(*) AS events,
       count(DISTINCT coalesce(customer, anonymous_customer_id)) AS actors,
       min(ts) AS first_seen,
       max(ts) AS last_seen
FROM activities
GROUP BY activity
ORDER BY events DESC, activity
"""


def activity_stats(store: DuckDBStore) -> list[dict[str, Any]]:
    return store.fetch_dicts(STATS_SQL)
