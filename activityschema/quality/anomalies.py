"""Volume anomalies: daily event counts per activity against a trailing, weekday-aware baseline.

For each activity, the series runs from its first day with events to the *end day* (UTC): ``until``
if given, else the day of the newest event in the store — or the day before, when that is today
(``now``), since today is not over. Days without events count as 0.

**Expected count** of day d (needs ``MIN_HISTORY_DAYS`` = 21 days of history):
``E = L × f``, where ``L`` is the mean count of the previous ``LEVEL_DAYS`` (28) days and ``f`` the
weekday factor of d's weekday over the previous ``WEEKDAY_DAYS`` (56) days,
``f = (sum of that weekday + P) / (number of those days × mean + P)`` with ``P`` =
``WEEKDAY_PRIOR`` (10 events) pulling sparse activities towards 1.

**Dispersion** ``φ`` (≥ 1): events come in bursts (a session has several page views, an agent session
many tool calls), so counts vary more than Poisson. ``φ = Σ (x − E)² / Σ E`` over the previous
``DISPERSION_DAYS`` (56) days that have an expectation (at least ``MIN_DISPERSION_DAYS`` = 14 of
them). The score of a day is ``z = (x − E) / sqrt(φ × max(E, 1))``.

**Flags** (days with ``E ≥ MIN_EXPECTED`` = 3):

- ``spike``: ``z ≥ Z_THRESHOLD`` (6) and ``x ≥ RATIO`` (2) × E;
- ``drop``: ``z ≤ −6`` and ``x ≤ E / 2``;
- a run of days with zero events whose expected total over φ, ``ΣE / φ``, is at least
  ``SILENCE_SCORE`` (10: under the baseline, a silence that long has a chance below e^-10) is
  ``stopped`` when it reaches the end day, else one multi-day ``drop``. Its expectation is frozen at
  the run's first day (the baseline of the days before the silence), and that frozen expectation is
  what the series reports for those days.

A flagged day enters later baselines as its expected value, so one spike does not mask the next.
Thresholds were set on generated data: see ``bench/bench_quality.py`` for the false-positive rate
on clean streams over several seeds.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from ..store.duckdb import DuckDBStore
from . import sql

MIN_HISTORY_DAYS = 21
LEVEL_DAYS = 28
WEEKDAY_DAYS = 56
WEEKDAY_PRIOR = 10.0
DISPERSION_DAYS = 56
MIN_DISPERSION_DAYS = 14
MIN_EXPECTED = 3.0
Z_THRESHOLD = 6.0
RATIO = 2.0
SILENCE_SCORE = 10.0


@dataclass
class Series:
    """One activity's daily counts from ``start`` with what the detector derived from them."""

    activity: str
    start: date
    counts: list[int]
    expected: list[float | None] = field(default_factory=list)
    dispersion: list[float | None] = field(default_factory=list)
    findings: list[dict[str, Any]] = field(default_factory=list)

    def day(self, i: int) -> date:
        return self.start + timedelta(days=i)

    def to_dict(self) -> dict[str, Any]:
        return {
            "activity": self.activity,
            "start": self.start.isoformat(),
            "counts": self.counts,
            "expected": [None if e is None else round(e, 2) for e in self.expected],
            "findings": self.findings,
        }


def expected_at(clean: list[float], origin: int, day: int) -> float | None:
    """E for ``day`` from the counts before ``origin`` (``origin == day`` for an ordinary day)."""
    if origin < MIN_HISTORY_DAYS:
        return None
    level = clean[origin - LEVEL_DAYS if origin >= LEVEL_DAYS else 0 : origin]
    window = clean[max(0, origin - WEEKDAY_DAYS) : origin]
    lo = max(0, origin - WEEKDAY_DAYS)
    same = [clean[i] for i in range(lo, origin) if (day - i) % 7 == 0]
    mean = sum(window) / len(window)
    factor = (sum(same) + WEEKDAY_PRIOR) / (len(same) * mean + WEEKDAY_PRIOR)
    return sum(level) / len(level) * factor


def _dispersion(clean: list[float], expected: list[float | None], day: int) -> float | None:
    days = [i for i in range(max(0, day - DISPERSION_DAYS), day) if expected[i] is not None]
    if len(days) < MIN_DISPERSION_DAYS:
        return None
    total = sum(expected[i] or 0.0 for i in days)
    squares = sum((clean[i] - (expected[i] or 0.0)) ** 2 for i in days)
    return max(1.0, squares / total) if total > 0 else 1.0


def _day_flag(x: int, e: float, phi: float) -> tuple[str, float] | None:
    if e < MIN_EXPECTED:
        return None
    z = (x - e) / math.sqrt(phi * max(e, 1.0))
    if z >= Z_THRESHOLD and x >= RATIO * e:
        return "spike", z
    if z <= -Z_THRESHOLD and x <= e / RATIO:
        return "drop", z
    return None


def score_series(series: Series) -> Series:
    """Fill ``expected``, ``dispersion`` and ``findings`` of ``series`` (the rules above)."""
    xs = series.counts
    clean = [float(x) for x in xs]
    series.expected = [None] * len(xs)
    series.dispersion = [None] * len(xs)
    days: dict[int, dict[str, Any]] = {}
    for d, x in enumerate(xs):
        e = expected_at(clean, d, d)
        series.expected[d] = e
        phi = None if e is None else _dispersion(clean, series.expected, d)
        series.dispersion[d] = phi
        if e is None or phi is None or (flag := _day_flag(x, e, phi)) is None:
            continue
        days[d] = _finding(series, flag[0], d, d, x, e, flag[1])
        clean[d] = e
    runs = _silences(series, clean)
    for run in runs:
        days = {d: f for d, f in days.items() if not run["_first"] <= d <= run["_last"]}
    series.findings = sorted([*days.values(), *[_public(r) for r in runs]], key=lambda f: f["day"])
    return series


def _silences(series: Series, clean: list[float]) -> list[dict[str, Any]]:
    """Runs of zero days whose expected total (frozen at the run's start) over φ is significant."""
    xs, out, d = series.counts, [], 0
    while d < len(xs):
        if xs[d] != 0 or series.dispersion[d] is None:
            d += 1
            continue
        end = d
        while end + 1 < len(xs) and xs[end + 1] == 0:
            end += 1
        phi = series.dispersion[d] or 1.0
        frozen = [expected_at(clean, d, i) or 0.0 for i in range(d, end + 1)]
        total = sum(frozen)
        if total / phi >= SILENCE_SCORE:
            series.expected[d : end + 1] = frozen
            kind = "stopped" if end == len(xs) - 1 else "drop"
            run = _finding(series, kind, d, end, 0, total, total / phi)
            out.append({**run, "_first": d, "_last": end})
        d = end + 1
    return out


def _public(run: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in run.items() if not k.startswith("_")}


def _finding(
    series: Series, kind: str, first: int, last: int, observed: int, expected: float, score: float
) -> dict[str, Any]:
    day, last_day = series.day(first), series.day(last)
    span = f"{day.isoformat()}" + (f" to {last_day.isoformat()}" if last != first else "")
    text = {
        "spike": f"{observed:,} events vs {expected:,.1f} expected",
        "drop": f"{observed:,} events vs {expected:,.1f} expected",
        "stopped": f"no events since {day.isoformat()} ({expected:,.0f} expected)",
    }[kind]
    return {
        "activity": series.activity,
        "kind": kind,
        "day": day.isoformat(),
        "last_day": last_day.isoformat(),
        "observed": observed,
        "expected": round(expected, 1),
        "score": round(score, 1),
        "message": f"{kind} {span}: {text}" if kind != "stopped" else f"stopped: {text}",
    }


def end_day(latest: datetime | None, now: datetime, until: date | None) -> date | None:
    """The last day to evaluate (see the module docstring)."""
    if until is not None:
        return until
    if latest is None:
        return None
    day = latest.date()
    return day - timedelta(days=1) if day >= now.date() else day


def load_series(store: DuckDBStore, *, end: date, activity: str | None = None) -> list[Series]:
    """Daily counts per activity from its first day to ``end`` (zeros filled)."""
    by_activity: dict[str, dict[date, int]] = defaultdict(dict)
    bound = datetime.combine(end + timedelta(days=1), datetime.min.time())
    for name, day, n in store.fetchall(sql.DAILY_RANGE_SQL, [bound]):
        if activity is None or name == activity:
            by_activity[name][day] = n
    out = []
    for name, days in sorted(by_activity.items()):
        start = min(days)
        length = (end - start).days + 1
        out.append(
            Series(name, start, [days.get(start + timedelta(days=i), 0) for i in range(length)])
        )
    return out


def detect_anomalies(
    store: DuckDBStore,
    *,
    now: datetime,
    until: date | None = None,
    activity: str | None = None,
    include_series: bool = False,
) -> dict[str, Any]:
    """Volume anomalies of every activity (or one) up to the end day.

    Returns ``{"end_day", "activities", "evaluated_days", "findings": [...]}`` and, with
    ``include_series``, ``"series"``: per activity the counts, expectations and its findings (what
    the picture draws). A finding has ``activity, kind (spike | drop | stopped), day, last_day,
    observed, expected, score, message``.
    """
    row = store.fetchone(sql.TS_RANGE_SQL)
    end = end_day(row[1] if row else None, now, until)
    if end is None:
        return {
            "end_day": None,
            "activities": 0,
            "evaluated_days": 0,
            "findings": [],
            "series": [] if include_series else None,
        }
    series = [score_series(s) for s in load_series(store, end=end, activity=activity)]
    findings = sorted(
        (f for s in series for f in s.findings), key=lambda f: (f["day"], f["activity"])
    )
    result: dict[str, Any] = {
        "end_day": end.isoformat(),
        "activities": len(series),
        "evaluated_days": sum(1 for s in series for p in s.dispersion if p is not None),
        "findings": findings,
    }
    if include_series:
        result["series"] = [s.to_dict() for s in series]
    return result
