"""Generated SQL is snapshot-tested so every change to it shows up in review.

Regenerate after an intended change: ``UPDATE_SQL_SNAPSHOTS=1 pytest tests/unit/analytics/test_sql_snapshots.py``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from activityschema.sql.templates import get_template, validate_params

SNAPSHOTS = Path(__file__).parents[2] / "golden" / "sql"
CASES: dict[str, tuple[str, dict[str, Any]]] = {
    "funnel_ordered": ("funnel", {"steps": ["signup_started", "email_verified", "profile_completed"]}),
    "funnel_ordered_shared_exclusion": ("funnel", {
        "steps": ["visited_page", {"activity": "visited_page", "filters": [{"column": "feature_json.page", "value": "/pricing"}]}],
        "exclusions": [{"activity": "account_deleted"}], "breakdown": "feature_json.device_type",
        "date_from": "2026-01-01", "date_to": "2026-01-31"}),
    "funnel_strict": ("funnel", {"steps": ["signup_started", "email_verified"], "order": "strict"}),
    "funnel_unordered": ("funnel", {"steps": ["signup_started", "email_verified"], "order": "unordered"}),
    "funnel_actors": ("funnel_actors", {"steps": ["signup_started", "email_verified"],
                                        "drilldown": {"step": 2, "status": "dropped"}}),
    "retention_first_time": ("retention", {"start": "signup_started", "date_from": "2026-01-05"}),
    "retention_recurring_on_or_after": ("retention", {"start": "session_started", "cohort": "recurring",
                                                      "mode": "on_or_after", "return": "order_completed"}),
    "paths_start": ("paths", {"start_activity": "signup_started", "collapse_repeats": True}),
    "paths_end": ("paths", {"end_activity": "order_completed", "session_gap": None}),
    "recent_activity": ("recent_activity", {"since": "2026-01-01T00:00:00", "until": "2026-01-02T00:00:00",
                                            "actor": "c1"}),
}


@pytest.mark.parametrize("name", list(CASES))
def test_sql_snapshot(name):
    template_name, raw = CASES[name]
    template = get_template(template_name)
    sql, _ = template.render(validate_params(template, raw))
    path = SNAPSHOTS / f"{name}.sql"
    if os.environ.get("UPDATE_SQL_SNAPSHOTS"):
        path.write_text(sql)
    assert path.exists(), f"no snapshot {path.name}: run with UPDATE_SQL_SNAPSHOTS=1"
    assert sql == path.read_text()
