"""The activity catalog: what every activity in the stream is, how much of it there is, and what its
feature_json holds. The spec's "Document all activities", computed from the store.

Every number is an exact count over ``activities``:

- ``events``, ``actors`` (distinct ``coalesce(customer, anonymous_customer_id)``),
  ``events_without_actor``, ``first_seen`` / ``last_seen``;
- ``daily_volume``: ``mean`` = events / span days (first to last day, inclusive, UTC), ``max`` and
  ``busiest_day``, ``active_days`` (days with at least one event), ``span_days``;
- ``revenue``: ``total`` = sum of revenue_impact (null when no event has one), ``events`` with one;
- ``features``: per top-level feature_json key, ``present`` (events that have the key), ``filled``
  (present and not JSON null), ``fill_rate`` = filled / events, ``types`` (JSON type -> events) and up
  to three example values: the most frequent non-null values in a deterministic sample of about
  5,000 events per activity (JSON text, cut to 80 characters);
- ``description`` (user-written, ``describe_activity``) and the registered ``schema`` if any.

Activities that have a description but no events yet are listed too, with zero events.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime
from typing import Any

from ..store.duckdb import DuckDBStore
from . import sql
from .schemas import check_activity_name

EXAMPLE_MAX_CHARS = 80
RATE_DIGITS = 4


def _example(text: str) -> str:
    return text if len(text) <= EXAMPLE_MAX_CHARS else text[: EXAMPLE_MAX_CHARS - 1] + "…"


def _iso(value: datetime | date | None) -> str | None:
    return value.isoformat() if value is not None else None


def feature_profiles(store: DuckDBStore) -> dict[str, list[dict[str, Any]]]:
    """Per activity, its feature keys with counts by JSON type and example values (not rates)."""
    by_key: dict[tuple[str, str], dict[str, Any]] = {}
    for activity, key, duck_type, n in store.fetchall(sql.KEY_PROFILE_SQL):
        entry = by_key.setdefault(
            (activity, key), {"key": key, "present": 0, "filled": 0, "types": {}, "examples": []}
        )
        json_type = sql.JSON_TYPES.get(duck_type, duck_type.lower())
        entry["types"][json_type] = entry["types"].get(json_type, 0) + n
        entry["present"] += n
        if json_type != "null":
            entry["filled"] += n
    for activity, key, value in store.fetchall(sql.EXAMPLES_SQL):
        if (activity, key) in by_key:
            by_key[activity, key]["examples"].append(_example(value))
    out: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for (activity, _key), entry in sorted(by_key.items()):
        entry["types"] = dict(sorted(entry["types"].items(), key=lambda t: (-t[1], t[0])))
        out[activity].append(entry)
    return out


def daily_counts(store: DuckDBStore) -> dict[str, list[tuple[date, int]]]:
    """Per activity, ``(day, events)`` for each UTC day with events, in day order."""
    out: dict[str, list[tuple[date, int]]] = defaultdict(list)
    for activity, day, n in store.fetchall(sql.DAILY_SQL):
        out[activity].append((day, n))
    return out


def _daily_volume(days: list[tuple[date, int]], events: int) -> dict[str, Any]:
    if not days:
        return {"mean": 0.0, "max": 0, "busiest_day": None, "active_days": 0, "span_days": 0}
    span = (days[-1][0] - days[0][0]).days + 1
    busiest = max(days, key=lambda d: (d[1], -d[0].toordinal()))
    return {
        "mean": round(events / span, 2),
        "max": busiest[1],
        "busiest_day": busiest[0].isoformat(),
        "active_days": len(days),
        "span_days": span,
    }


def _with_rates(features: list[dict[str, Any]], events: int) -> list[dict[str, Any]]:
    for f in features:
        f["fill_rate"] = round(f["filled"] / events, RATE_DIGITS) if events else 0.0
    return features


def list_activities(store: DuckDBStore, *, include_daily: bool = False) -> list[dict[str, Any]]:
    """The catalog: one JSON-serializable dict per activity, busiest first.

    This is what the MCP ``list_activities`` tool and the catalog resource return. With
    ``include_daily`` each row also has ``daily``: ``[[day, events], ...]`` for days with events.

    Example:
        >>> from activityschema.store.duckdb import DuckDBStore
        >>> list_activities(DuckDBStore(":memory:"))
        []
    """
    descriptions = dict(store.fetchall(sql.DESCRIPTIONS_SQL))
    schemas = {a: {"name": n, "mode": m} for a, n, m in store.fetchall(sql.SCHEMAS_SQL)}
    profiles = feature_profiles(store)
    daily = daily_counts(store)
    rows: list[dict[str, Any]] = []
    for r in store.fetch_dicts(sql.CATALOG_SQL):
        name, events = r["activity"], r["events"]
        row = {
            "activity": name,
            "description": descriptions.get(name),
            "events": events,
            "actors": r["actors"],
            "events_without_actor": r["events_without_actor"],
            "first_seen": _iso(r["first_seen"]),
            "last_seen": _iso(r["last_seen"]),
            "daily_volume": _daily_volume(daily.get(name, []), events),
            "revenue": {"total": r["revenue_total"], "events": r["revenue_events"]},
            "features": _with_rates(profiles.get(name, []), events),
            "schema": schemas.get(name),
        }
        if include_daily:
            row["daily"] = [[d.isoformat(), n] for d, n in daily.get(name, [])]
        rows.append(row)
    seen = {r["activity"] for r in rows}
    for name in sorted(set(descriptions) - seen):
        rows.append(_empty_row(name, descriptions[name], schemas.get(name), include_daily))
    return rows


def _empty_row(
    name: str, description: str, schema: dict[str, str] | None, include_daily: bool
) -> dict[str, Any]:
    row: dict[str, Any] = {
        "activity": name,
        "description": description,
        "events": 0,
        "actors": 0,
        "events_without_actor": 0,
        "first_seen": None,
        "last_seen": None,
        "daily_volume": _daily_volume([], 0),
        "revenue": {"total": None, "events": 0},
        "features": [],
        "schema": schema,
    }
    if include_daily:
        row["daily"] = []
    return row


def describe_activity(
    store: DuckDBStore, activity: str, description: str, *, now: datetime
) -> None:
    """Set the description of ``activity``; an empty (or blank) text removes it."""
    check_activity_name(activity)
    text = description.strip()
    if text:
        store.execute(sql.DESCRIBE_SQL, [activity, text, now])
    else:
        store.execute(sql.UNDESCRIBE_SQL, [activity])
