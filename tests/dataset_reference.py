"""A brute-force dataset builder: SEMANTICS §4 read literally, in plain Python, slow on purpose.

It shares nothing with the engine but the request format, so agreement on random streams means
the SQL does what the rules say. Events are dicts as stored (``ts`` a naive UTC datetime,
``feature_json`` a dict). Feature values are read as DuckDB's ``json_extract_string`` would for
the values the tests generate: strings as is, integers in decimal, booleans as true/false, null
and missing as None.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

SPEC = ("activity_id", "ts", "activity", "customer", "anonymous_customer_id", "feature_json", "revenue_impact", "link")
UNIT = {"minutes": 60, "hours": 3600, "days": 86400}


def actor(e: dict[str, Any]) -> str | None:
    return e["customer"] if e.get("customer") is not None else e.get("anonymous_customer_id")


def order(e: dict[str, Any]) -> tuple[datetime, str]:
    return (e["ts"], e["activity_id"])


def feature_text(e: dict[str, Any], key: str) -> str | None:
    value: Any = e.get("feature_json") or {}
    for part in key.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


def read(e: dict[str, Any], column: str) -> Any:
    if column.startswith("feature_json."):
        return feature_text(e, column[len("feature_json."):])
    if column == "feature_json":
        return json.dumps(e.get("feature_json") or {}, separators=(",", ":"))
    return e.get(column)


def as_number(text: Any) -> float | None:
    try:
        return float(text) if text is not None else None
    except ValueError:
        return None


def as_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    return str(value)


def passes(e: dict[str, Any], flt: dict[str, Any]) -> bool:
    column, op, want = flt["column"], flt.get("op", "="), flt.get("value")
    value = read(e, column)
    if op == "is_null":
        return value is None
    if op == "is_not_null":
        return value is not None
    feature = column.startswith("feature_json.")
    sample = want[0] if isinstance(want, list) else want
    if feature and isinstance(sample, bool):
        want = [("true" if w else "false") for w in want] if isinstance(want, list) else ("true" if want else "false")
    elif feature and isinstance(sample, (int, float)):
        value = as_number(value)
    elif column == "ts":
        want = [_ts(w) for w in want] if isinstance(want, list) else _ts(want)
    if value is None:
        return False
    if op in ("in", "not_in"):
        return (value in want) == (op == "in")
    return {"=": value == want, "!=": value != want, "<": value < want, "<=": value <= want,
            ">": value > want, ">=": value >= want}[op]


def _ts(text: str) -> datetime:
    from activityschema.schema.record import parse_ts

    parsed = parse_ts(text)
    assert parsed is not None
    return parsed


def cohort_rows(events: list[dict[str, Any]], cohort: dict[str, Any]) -> list[dict[str, Any]]:
    """Every (filtered) cohort row with its occurrence and next_P, then the selected ones."""
    rows = [e for e in events if e["activity"] == cohort["activity"] and actor(e) is not None
            and all(passes(e, f) for f in cohort.get("filters", []))]
    by_actor: dict[str, list[dict[str, Any]]] = {}
    for e in sorted(rows, key=order):
        by_actor.setdefault(actor(e), []).append(e)  # type: ignore[arg-type]
    out = []
    for seq in by_actor.values():
        for i, e in enumerate(seq):
            nxt = seq[i + 1]["ts"] if i + 1 < len(seq) else None
            out.append({**e, "_occ": i + 1, "_next": nxt, "_last": i + 1 == len(seq)})
    select, n = cohort.get("select", "all_ever"), cohort.get("n")
    keep = {"all_ever": lambda r: True, "first_ever": lambda r: r["_occ"] == 1,
            "last_ever": lambda r: r["_last"], "nth_ever": lambda r: r["_occ"] == n}[select]
    return sorted([r for r in out if keep(r)], key=order)


def span(limit: dict[str, Any] | None) -> timedelta | None:
    if limit is None:
        return None
    (unit, amount), = limit.items()
    return timedelta(microseconds=round(amount * UNIT[unit] * 1_000_000))


def in_window(p: dict[str, Any], a: dict[str, Any], window: str, within: timedelta | None, at_least: timedelta | None) -> bool:
    t, pt = a["ts"], p["ts"]
    if window == "before" and not t < pt:
        return False
    if window == "after" and not t > pt:
        return False
    if window == "in_between" and not (t > pt and (p["_next"] is None or t <= p["_next"])):
        return False
    if within is not None:
        if window in ("before", "ever", "all_ever") and t < pt - within:
            return False
        if window != "before" and t > pt + within:
            return False
    if at_least is not None:
        if window == "before" and t > pt - at_least:
            return False
        if window != "before" and t < pt + at_least:
            return False
    return True


def join_value(e: dict[str, Any], column: str, other: str) -> Any:
    """Two spec columns of one kind compare as they are; with a number on either side, as numbers;
    otherwise as text."""
    value = read(e, column)
    kinds = {_kind(column), _kind(other)}
    if len(kinds) == 1 and not column.startswith("feature_json."):
        return value
    if "number" in kinds:
        return as_number(value)
    return as_text(value)


def _kind(column: str) -> str:
    if column.startswith("feature_json."):
        return "feature"
    return {"ts": "timestamp", "revenue_impact": "number"}.get(column, "text")


def label(column: str) -> str:
    return column[len("feature_json."):].replace(".", "_") if column.startswith("feature_json.") else column


def append_values(p: dict[str, Any], events: list[dict[str, Any]], spec: dict[str, Any]) -> dict[str, Any]:
    rel, act = spec["relationship"], spec["activity"]
    pick, window = rel.split("_", 1)
    cands = sorted([e for e in events if e["activity"] == act and actor(e) == actor(p)], key=order)
    for cond in spec.get("join", []):
        want = join_value(p, cond["cohort"], cond["append"])
        cands = [e for e in cands if want is not None and join_value(e, cond["append"], cond["cohort"]) == want]
    hits = [a for a in cands if in_window(p, a, window, span(spec.get("within")), span(spec.get("at_least")))]
    if pick == "aggregate":
        return aggregate(hits, spec, window)
    n = spec.get("n")
    chosen = None
    if hits:
        chosen = {"first": hits[0], "last": hits[-1]}.get(pick) or (hits[n - 1] if n and len(hits) >= n else None)
    relname = f"nth_{window}_{n}" if pick == "nth" else rel
    prefix = spec.get("name") or f"{relname}_{act}"
    return {f"{prefix}_{label(c)}": (read(chosen, c) if chosen else None) for c in spec.get("columns") or ["ts", "activity_id"]}


def aggregate(hits: list[dict[str, Any]], spec: dict[str, Any], window: str) -> dict[str, Any]:
    agg, column = spec["aggregate"], spec.get("column")
    prefix = spec.get("name") or f"aggregate_{window}_{spec['activity']}"
    if agg == "count":
        return {f"{prefix}_count": len(hits)}
    assert column is not None
    name = f"{prefix}_{agg}_{label(column)}"
    if not hits:
        return {name: None}
    values = [read(a, column) for a in hits]
    if column.startswith("feature_json.") and agg != "count_distinct":
        values = [as_number(v) for v in values]
    values = [v for v in values if v is not None]
    if agg == "count_distinct":
        return {name: len(set(values))}
    if not values:
        return {name: None}
    result = {"sum": lambda: sum(values), "avg": lambda: sum(values) / len(values),
              "min": lambda: min(values), "max": lambda: max(values)}[agg]()
    return {name: result}


def build(events: list[dict[str, Any]], request: dict[str, Any]) -> list[dict[str, Any]]:
    """The dataset rows, in output order ``(P.ts, P.activity_id)``."""
    cohort = request["cohort"]
    out = []
    for p in cohort_rows(events, cohort):
        row = {label(c): read(p, c) for c in cohort.get("columns", ["activity_id", "customer", "ts"])}
        for spec in request.get("append", []):
            row.update(append_values(p, events, spec))
        out.append(row)
    return out
