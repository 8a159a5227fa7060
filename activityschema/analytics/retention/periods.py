"""Calendar periods in UTC (day, week from Monday, month) and whether they have elapsed at ``now``."""

from __future__ import annotations

from datetime import date, datetime, timedelta

DAYS_PER_WEEK = 7
MONTHS_PER_YEAR = 12


def period_start(d: date, period: str) -> date:
    if period == "week":
        return d - timedelta(days=d.weekday())
    if period == "month":
        return d.replace(day=1)
    return d


def add_periods(start: date, period: str, k: int) -> date:
    """The start of period ``start + k`` (``start`` is a period start)."""
    if period == "day":
        return start + timedelta(days=k)
    if period == "week":
        return start + timedelta(days=DAYS_PER_WEEK * k)
    months = start.year * MONTHS_PER_YEAR + start.month - 1 + k
    return date(months // MONTHS_PER_YEAR, months % MONTHS_PER_YEAR + 1, 1)


EPOCH_DAY = date(1970, 1, 1)
EPOCH_MONDAY = date(1969, 12, 29)


def period_number(d: date, period: str, *, ceil: bool = False) -> int:
    """The number of the period holding ``d`` (as the SQL numbers them); with ``ceil``, of the first
    period starting on or after ``d``."""
    if period == "day":
        return (d - EPOCH_DAY).days
    if period == "week":
        n, rest = divmod((d - EPOCH_MONDAY).days, DAYS_PER_WEEK)
    else:
        n, rest = d.year * MONTHS_PER_YEAR + d.month - 1, d.day - 1
    return n + 1 if ceil and rest else n


def period_date(number: int, period: str) -> date:
    """The first day of a numbered period."""
    if period == "day":
        return EPOCH_DAY + timedelta(days=number)
    if period == "week":
        return EPOCH_MONDAY + timedelta(days=DAYS_PER_WEEK * number)
    return date(number // MONTHS_PER_YEAR, number % MONTHS_PER_YEAR + 1, 1)


def as_datetime(d: date) -> datetime:
    return datetime(d.year, d.month, d.day)


def interval_state(cohort: date, period: str, k: int, now: datetime) -> tuple[bool, bool]:
    """(started, complete) of interval k of ``cohort`` at ``now``: complete once its period has ended."""
    begins = as_datetime(add_periods(cohort, period, k))
    ends = as_datetime(add_periods(cohort, period, k + 1))
    return begins <= now, ends <= now
