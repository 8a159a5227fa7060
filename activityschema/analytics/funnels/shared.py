"""The resolved options every funnel builder shares: step conditions, bounds and the event scan."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ..common.columns import ACTOR_SQL, json_path, text_sql
from ..common.filters import compile_filters
from ..common.requests import range_end, range_start
from .query import FunnelRequest

@dataclass
class Resolved:
    """A request turned into SQL fragments and bound values, shared by every builder."""

    n: int
    step_sql: list[str]
    exclusions: list[tuple[str, int, int]]
    activities: list[str]
    breakdown_sql: str
    has_breakdown: bool
    step_activities: list[str]
    has_filters: bool
    entry_start: datetime | None
    entry_end: datetime | None
    bind: dict[str, Any] = field(default_factory=dict)


def resolve(request: FunnelRequest) -> Resolved:
    """Compile steps, exclusions, breakdown and date bounds into fragments with bound values."""
    bind: dict[str, Any] = {"window_us": request.window.microseconds}
    step_sql = []
    for k, step in enumerate(request.steps, start=1):
        cond, values = compile_filters(step.filters, f"s{k}")
        bind.update(values)
        bind[f"s{k}_activity"] = step.activity
        step_sql.append(f"(activity = $s{k}_activity AND {cond})")
    exclusions = []
    for j, x in enumerate(request.exclusions, start=1):
        cond, values = compile_filters(x.filters, f"x{j}")
        bind.update(values)
        bind[f"x{j}_activity"] = x.activity
        to_step = len(request.steps) if x.to_step is None else x.to_step
        exclusions.append((f"(activity = $x{j}_activity AND {cond})", x.from_step, to_step))
    activities = list(dict.fromkeys([s.activity for s in request.steps] + [x.activity for x in request.exclusions]))
    breakdown_sql = "CAST(NULL AS VARCHAR)"
    if request.breakdown:
        breakdown_sql = text_sql(request.breakdown, "bk_path")
        if "$bk_path" in breakdown_sql:
            bind["bk_path"] = json_path(request.breakdown)
    entry_start, entry_end = range_start(request.date_from), range_end(request.date_to)
    return Resolved(len(request.steps), step_sql, exclusions, activities, breakdown_sql,
                    request.breakdown is not None, [s.activity for s in request.steps],
                    any(s.filters for s in request.steps) or any(x.filters for x in request.exclusions),
                    entry_start, entry_end, bind)


def scan_bounds(r: Resolved) -> str:
    """Rows a funnel can use: from the first entry instant to the last entry's window end."""
    parts = []
    if r.entry_start is not None:
        r.bind["entry_start"] = r.entry_start
        parts.append("AND ts >= $entry_start")
    if r.entry_end is not None:
        r.bind["entry_end"] = r.entry_end
        parts.append("AND ts < $entry_end + to_microseconds($window_us)")
    return "\n      ".join(parts)


def entry_end(r: Resolved, column: str) -> str:
    return f"AND {column} < $entry_end" if r.entry_end is not None else ""


def events_cte(r: Resolved, *, with_id: bool = True, step_index: bool = False) -> str:
    """``ev``: the actors' events of the funnel's activities, flagged per step (``m1`` …) and exclusion;
    ``k`` is the step an event matches when steps are disjoint.

    When only narrow columns are needed (no activity_id, no feature filter, no breakdown), one scan
    with an IN list reads them for every row, which is cheapest. Otherwise one scan branch per
    activity (``activity = $act_i``): that filter reaches the table scan, so the wide columns
    (activity_id, feature_json) are read only for matching rows.
    """
    flags = [f"{sql} AS m{k}" for k, sql in enumerate(r.step_sql, start=1)]
    flags += [f"{sql} AS x{j}" for j, (sql, _, _) in enumerate(r.exclusions, start=1)]
    columns = ",\n               ".join([f"{ACTOR_SQL} AS actor", "ts", ("activity_id" if with_id else "CAST(NULL AS VARCHAR)") + " AS id",
                                         *flags, f"{r.breakdown_sql} AS bvalue"])
    for i, name in enumerate(r.activities):
        r.bind[f"act_{i}"] = name
    if with_id or r.has_filters or r.has_breakdown:
        tests = [f"activity = $act_{i}" for i in range(len(r.activities))]
    else:
        tests = ["activity = ANY([" + ", ".join(f"$act_{i}" for i in range(len(r.activities))) + "])"]
    branches = [f"""        SELECT {columns}
        FROM activities
        WHERE {test}
          AND {ACTOR_SQL} IS NOT NULL
          {scan_bounds(r)}""" for test in tests]
    union = "\n        UNION ALL\n".join(branches)
    index = ""
    if step_index:
        index = ", CASE " + " ".join(f"WHEN m{k} THEN {k}" for k in range(1, r.n + 1)) + " END AS k"
    return f"""ev AS (
    SELECT *{index}
    FROM (
{union}
    )
)"""
