"""One CTE builder per funnel order; each ends in ``entries`` (one row per entry).

``entries`` columns: ``actor``, ``id1`` (the step-1 event's activity_id, or '' when no tie-break
needs it), ``t1``, ``bvalue`` and ``t2`` … ``tN`` (NULL past the entry's furthest step).
The rules each builder implements are in ``sql.py``'s docstring and docs/funnels.md.
"""

from __future__ import annotations

from collections.abc import Callable

from ..common.columns import ACTOR_SQL
from .shared import Resolved, entry_end, events_cte, scan_bounds

DEADLINE_SQL = "ts + to_microseconds($window_us)"


def _times_until(level: str, n: int, prefix: str = "t") -> str:
    return ", ".join(f"CASE WHEN {level} >= {k} THEN {prefix}{k} END AS t{k}" for k in range(2, n + 1))


def _entries(r: Resolved, last_cte: str) -> list[str]:
    """Apply exclusions (if any) to the chains in ``last_cte`` and keep the times up to the level."""
    level = " + ".join(["1"] + [f"CAST(t{k} IS NOT NULL AS INTEGER)" for k in range(2, r.n + 1)])
    ctes, cut, join = [], "NULL", ""
    if r.exclusions:
        ctes.append(_exclusion_cte(r, last_cte))
        cut, join = "x.cut", "LEFT JOIN xcut x USING (actor, t1, id1)"
    ctes.append(f"""entries AS (
    SELECT actor, id1, t1, bvalue, {_times_until("level", r.n)}
    FROM (
        SELECT c.*, least({level}, coalesce({cut}, {r.n})) AS level
        FROM {last_cte} c
        {join}
    )
)""")
    return ctes


def _exclusion_cte(r: Resolved, chains: str) -> str:
    """``xcut``: per entry, the first i (from_step <= i < to_step) with an exclusion strictly between t_i and t_i+1."""
    arms = [f"WHEN e.x{j} AND e.ts > c.t{i} AND e.ts < c.t{i + 1} THEN {i}"
            for j, (_, first, last) in enumerate(r.exclusions, start=1) for i in range(first, last)]
    any_x = " OR ".join(f"e.x{j}" for j in range(1, len(r.exclusions) + 1))
    return f"""xcut AS (
    SELECT c.actor, c.t1, c.id1,
           min(CASE {(chr(10) + '                    ').join(arms)} END) AS cut
    FROM {chains} c
    JOIN ev e
      ON e.actor = c.actor
     AND ({any_x})
     AND e.ts > c.t1
     AND e.ts < c.deadline
    GROUP BY c.actor, c.t1, c.id1
)"""


def ordered_disjoint(r: Resolved) -> list[str]:
    """Ordered funnel whose steps have pairwise different activities: no event can fill two steps,
    so step k is simply the earliest step-k event at or after step k-1, within the window. Entries
    of one actor at one instant have the same chain, so (actor, t1) identifies an entry unless a
    breakdown needs the step-1 event itself (then its id and value are carried along)."""
    with_id = r.has_breakdown
    keys = ["c.actor", "c.t1"] + (["c.id1", "c.bvalue"] if with_id else [])
    ctes = [events_cte(r, with_id=with_id, step_index=True), f"""c1 AS (
    SELECT actor, ts AS t1{", id AS id1, bvalue" if with_id else ""}
    FROM ev
    WHERE k = 1
      {entry_end(r, "ts")}
)"""]
    for k in range(2, r.n + 1):
        carried = "".join(f"any_value(c.t{j}) AS t{j}, " for j in range(2, k))
        ctes.append(f"""c{k} AS (
    SELECT {", ".join(keys)}, {carried}min(e.ts) AS t{k}
    FROM c{k - 1} c
    LEFT JOIN (SELECT actor, ts FROM ev WHERE k = {k}) e
      ON e.actor = c.actor
     AND e.ts >= c.t{k - 1}
     AND e.ts <= c.t1 + to_microseconds($window_us)
    GROUP BY {", ".join(keys)}
)""")
    extra = "" if with_id else ", '' AS id1, CAST(NULL AS VARCHAR) AS bvalue"
    ctes.append(f"""chains AS (
    SELECT *, t1 + to_microseconds($window_us) AS deadline{extra}
    FROM c{r.n}
)""")
    return ctes + _entries(r, "chains")


def _later_sql(r: Resolved, k: int) -> str:
    """How many steps after k an event also matches (at one instant, fewer is preferred)."""
    later = [f"CAST(e.m{j} AS INTEGER)" for j in range(k + 1, r.n + 1)]
    return " + ".join(later) if later else "0"


def ordered_shared(r: Resolved) -> list[str]:
    """Ordered funnel where steps share an activity: an event may match several steps, so each chain
    tracks the events it used at its latest instant (``used``) and prefers, at one instant, the event
    matching the fewest later steps, then the lowest activity_id."""
    ctes = [events_cte(r), f"""c1 AS (
    SELECT actor, id AS id1, ts AS t1, {DEADLINE_SQL} AS deadline, bvalue, ts AS t_last, [id] AS used
    FROM ev
    WHERE m1
      {entry_end(r, "ts")}
)"""]
    for k in range(2, r.n + 1):
        carried = "".join(f"any_value(c.t{j}) AS t{j}, " for j in range(2, k))
        ctes.append(f"""p{k} AS (
    SELECT c.id1, any_value(c.actor) AS actor, any_value(c.t1) AS t1, any_value(c.deadline) AS deadline,
           any_value(c.bvalue) AS bvalue, {carried}any_value(c.t_last) AS t_prev, any_value(c.used) AS used_prev,
           min({{'ts': e.ts, 'later': {_later_sql(r, k)}, 'id': e.id}}) FILTER (WHERE e.id IS NOT NULL) AS pick
    FROM c{k - 1} c
    LEFT JOIN ev e
      ON e.actor = c.actor
     AND e.m{k}
     AND e.ts >= c.t_last
     AND e.ts <= c.deadline
     AND NOT list_contains(c.used, e.id)
    GROUP BY c.id1
),
c{k} AS (
    SELECT * EXCLUDE (pick, t_prev, used_prev),
           pick.ts AS t{k},
           pick.ts AS t_last,
           CASE WHEN pick.ts = t_prev THEN list_append(used_prev, pick.id) ELSE [pick.id] END AS used
    FROM p{k}
)""")
    return ctes + _entries(r, f"c{r.n}")


def ordered(r: Resolved) -> list[str]:
    return ordered_disjoint(r) if len(set(r.step_activities)) == r.n else ordered_shared(r)


def strict(r: Resolved) -> list[str]:
    """Step k of an entry is the event k-1 places after it in the actor's whole timeline."""
    leads = ",\n           ".join(f"lead(m{k}, {k - 1}) OVER w AS n{k}, lead(ts, {k - 1}) OVER w AS nt{k}"
                                  for k in range(2, r.n + 1))
    flags = ", ".join(f"{sql} AS m{k}" for k, sql in enumerate(r.step_sql, start=1))
    arms = "\n                  ".join(
        f"WHEN NOT coalesce(n{k} AND nt{k} <= {DEADLINE_SQL}, false) THEN {k - 1}" for k in range(2, r.n + 1))
    bounds = scan_bounds(r)
    return [f"""entry_actors AS (
    SELECT DISTINCT {ACTOR_SQL} AS actor
    FROM activities
    WHERE {r.step_sql[0]}
      {bounds}
      {entry_end(r, "ts")}
),
tl AS (
    SELECT {ACTOR_SQL} AS actor, ts, activity_id AS id, {flags}, {r.breakdown_sql} AS bvalue
    FROM activities
    WHERE {ACTOR_SQL} IN (SELECT actor FROM entry_actors)
      {bounds}
),
seq AS (
    SELECT *,
           {leads}
    FROM tl
    WINDOW w AS (PARTITION BY actor ORDER BY ts, id)
),
entries AS (
    SELECT actor, id AS id1, ts AS t1, bvalue, {_times_until("level", r.n, "nt")}
    FROM (
        SELECT *,
               CASE {arms}
                    ELSE {r.n} END AS level
        FROM seq
        WHERE m1
          {entry_end(r, "ts")}
    )
)"""]


def unordered(r: Resolved) -> list[str]:
    """An entry is any step event; it reaches as many steps as have an event in [ts, ts + window]."""
    firsts = ",\n           ".join(f"min(ts) FILTER (WHERE m{k}) OVER w AS f{k}" for k in range(1, r.n + 1))
    any_step = " OR ".join(f"m{k}" for k in range(1, r.n + 1))
    stamps = ", ".join(f"f{k}" for k in range(1, r.n + 1))
    times = ", ".join(f"times[{k}] AS t{k}" for k in range(2, r.n + 1))
    return [events_cte(r), f"""framed AS (
    SELECT actor, id AS id1, ts AS t1, bvalue, {any_step} AS is_entry,
           {firsts}
    FROM ev
    WINDOW w AS (PARTITION BY actor ORDER BY ts RANGE BETWEEN CURRENT ROW AND to_microseconds($window_us) FOLLOWING)
),
entries AS (
    SELECT actor, id1, t1, bvalue, {times}
    FROM (
        SELECT *, list_sort(list_filter([{stamps}], lambda x: x IS NOT NULL)) AS times
        FROM framed
        WHERE is_entry
          {entry_end(r, "t1")}
    )
)"""]


BUILDERS: dict[str, Callable[[Resolved], list[str]]] = {
    "ordered": ordered, "strict": strict, "unordered": unordered,
}
