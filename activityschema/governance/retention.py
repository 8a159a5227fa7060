"""Retention policies: per activity pattern, a maximum age; ``apply`` deletes what is older.

A policy is ``(pattern, max_age_days)``. The pattern is a glob over activity names (``*`` any run of
characters, ``?`` one character): ``claude_*`` covers every ``claude_…`` activity, ``*`` every
activity. When several patterns cover an activity, the **shortest** maximum age applies (the most
protective rule wins; a broader pattern can never extend a narrower one).

An event is *expired* when ``ts < now - max_age_days`` (its event time, not its load time). ``apply``
deletes expired events and the open or resubmitted rejects of covered activities whose
``received_at`` is older than the same cutoff, renumbers the helper columns of every
(actor, activity) partition that lost a row, and records the touched actors so their context is
refreshed. ``apply(dry_run=True)`` reports exactly the same numbers and changes nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import duckdb

from ..errors import NotFoundError, ValidationError
from ..ingest.merge import renumber_partitions
from ..store.duckdb import DuckDBStore
from .audit import append_entry

PATTERN_RE = re.compile(r"^[a-z0-9_*?]{1,100}$")
MAX_AGE_DAYS_LIMIT = 36_500

CUTOFFS_SQL = """
CREATE OR REPLACE TEMP TABLE _ret_cut AS
SELECT a.activity, arg_min(p.pattern, (p.max_age_days, p.pattern)) AS pattern, min(p.max_age_days) AS days,
       $now - to_days(min(p.max_age_days)) AS cutoff
FROM (SELECT DISTINCT activity FROM activities
      UNION SELECT DISTINCT try(json_extract_string(payload, '$.activity')) FROM rejected_activities) a
JOIN retention_policies p ON a.activity GLOB p.pattern
WHERE a.activity IS NOT NULL
GROUP BY a.activity
"""
DOOMED_SQL = """
CREATE OR REPLACE TEMP TABLE _ret_doomed AS
SELECT a.activity_id, a.activity, a.ts, coalesce(a.customer, a.anonymous_customer_id) AS actor, c.pattern
FROM activities a JOIN _ret_cut c ON a.activity = c.activity
WHERE a.ts < c.cutoff
"""
DOOMED_REJECTS_SQL = """
CREATE OR REPLACE TEMP TABLE _ret_doomed_rejects AS
SELECT r.reject_id, c.activity
FROM rejected_activities r JOIN _ret_cut c ON try(json_extract_string(r.payload, '$.activity')) = c.activity
WHERE r.received_at < c.cutoff
"""
SUMMARY_SQL = """
SELECT c.pattern, c.days, c.activity, c.cutoff,
       (SELECT count(*) FROM _ret_doomed d WHERE d.activity = c.activity) AS events,
       (SELECT min(ts) FROM _ret_doomed d WHERE d.activity = c.activity) AS oldest,
       (SELECT count(*) FROM _ret_doomed_rejects r WHERE r.activity = c.activity) AS rejects
FROM _ret_cut c
ORDER BY c.pattern, c.activity
"""
APPLY_SQL = """
CREATE OR REPLACE TEMP TABLE _ret_parts AS
SELECT DISTINCT actor, activity FROM _ret_doomed WHERE actor IS NOT NULL;
DELETE FROM activities WHERE activity_id IN (SELECT activity_id FROM _ret_doomed);
DELETE FROM rejected_activities WHERE reject_id IN (SELECT reject_id FROM _ret_doomed_rejects);
"""
TOUCHED_SQL = "INSERT INTO touched_actors SELECT ?, actor, ? FROM (SELECT DISTINCT actor FROM _ret_parts)"


@dataclass
class RetentionReport:
    dry_run: bool
    now: datetime
    events: int = 0
    rejects: int = 0
    partitions_renumbered: int = 0
    by_activity: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "now": self.now.isoformat()}


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def validate_policy(pattern: str, max_age_days: int) -> None:
    if not PATTERN_RE.match(pattern or ""):
        raise ValidationError(f"Retention pattern {pattern!r} is not valid: use lowercase letters, digits, '_' "
                              "and the wildcards '*' and '?' (e.g. 'claude_*').", code="invalid_retention_pattern")
    if not isinstance(max_age_days, int) or not 1 <= max_age_days <= MAX_AGE_DAYS_LIMIT:
        raise ValidationError(f"max_age_days {max_age_days!r} is not valid: give whole days from 1 to "
                              f"{MAX_AGE_DAYS_LIMIT}.", code="invalid_retention_age")


def set_policy(store: DuckDBStore, pattern: str, max_age_days: int, *, actor: str = "library") -> None:
    validate_policy(pattern, max_age_days)
    with store.write() as con:
        con.execute("INSERT INTO retention_policies VALUES (?, ?, ?, ?) ON CONFLICT (pattern) DO UPDATE "
                    "SET max_age_days = excluded.max_age_days, created_at = excluded.created_at, "
                    "created_by = excluded.created_by", [pattern, max_age_days, _now(), actor])
        append_entry(con, actor, "retention_set", details={"pattern": pattern, "max_age_days": max_age_days})


def remove_policy(store: DuckDBStore, pattern: str, *, actor: str = "library") -> None:
    with store.write() as con:
        row = con.execute("SELECT count(*) FROM retention_policies WHERE pattern = ?", [pattern]).fetchone()
        if not row or not row[0]:
            raise NotFoundError(f"No retention policy for pattern '{pattern}'.", code="unknown_retention_policy")
        con.execute("DELETE FROM retention_policies WHERE pattern = ?", [pattern])
        append_entry(con, actor, "retention_remove", details={"pattern": pattern})


def list_policies(store: DuckDBStore) -> list[dict[str, Any]]:
    return store.fetch_dicts("SELECT pattern, max_age_days, created_at, created_by FROM retention_policies ORDER BY pattern")


def _plan(con: duckdb.DuckDBPyConnection, now: datetime, report: RetentionReport) -> None:
    con.execute(CUTOFFS_SQL, {"now": now})
    con.execute(DOOMED_SQL)
    con.execute(DOOMED_REJECTS_SQL)
    for pattern, days, activity, cutoff, events, oldest, rejects in con.execute(SUMMARY_SQL).fetchall():
        report.by_activity.append({"pattern": pattern, "max_age_days": days, "activity": activity,
                                   "cutoff": cutoff.isoformat(), "events": events, "rejects": rejects,
                                   "oldest": oldest.isoformat() if oldest else None})
    totals = con.execute("SELECT (SELECT count(*) FROM _ret_doomed), (SELECT count(*) FROM _ret_doomed_rejects)").fetchall()
    report.events, report.rejects = totals[0]


def apply(store: DuckDBStore, *, dry_run: bool = False, now: datetime | None = None, actor: str = "library") -> RetentionReport:
    """Delete (or, with ``dry_run``, only count) what the policies say has expired. Audited."""
    report = RetentionReport(dry_run=dry_run, now=now or _now())
    with store.write() as con:
        _plan(con, report.now, report)
        if not dry_run and (report.events or report.rejects):
            con.execute(APPLY_SQL)
            parts = con.execute("SELECT count(*) FROM _ret_parts").fetchall()[0][0]
            if parts:
                renumber_partitions(con, "_ret_parts")
                con.execute(TOUCHED_SQL, [f"retention:{report.now.isoformat()}", report.now])
            report.partitions_renumbered = parts
        append_entry(con, actor, "retention_dry_run" if dry_run else "retention_apply", row_count=report.events,
                     details={"events": report.events, "rejects": report.rejects}, now=report.now)
    return report
