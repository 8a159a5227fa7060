"""Schema drift in feature_json: new keys, vanished keys and type changes, per activity over time.

Events are grouped per activity into calendar windows (``day``, ``week`` = ISO week from Monday,
``month``; UTC). Only top-level keys are profiled; ``integer`` and ``number`` are one type class
(``number``) here, and JSON ``null`` is not a type (a key that is sometimes null has not changed type).

**Against the previous windows.** Each window with events is compared with a *reference*: the
activity's previous ``REFERENCE_WINDOWS`` (4) windows with events, pooled. ``n`` is the number of
events; for a key, ``k`` is the number of events that have it. If nothing changed, each occurrence of
the key falls in the reference or the current window with probability proportional to their event
counts, so the chance that all of them fell on one side is ``(n_side / (n_ref + n_cur)) ** k``:

- ``new_key``: the key is absent from the reference and ``(n_cur / (n_ref + n_cur)) ** k_cur`` is
  below ``DRIFT_ALPHA``;
- ``vanished_key``: the key was in the window just before, is absent from the current one, and
  ``(n_ref / (n_ref + n_cur)) ** k_ref`` is below ``DRIFT_ALPHA``;
- ``type_change``: a type class appears among the key's non-null values that the reference does not
  have, or one that the window just before had disappears — the same test on the counts of non-null
  values of the key. The finding shows both type distributions.

A change is reported once, in the window where it happens (afterwards the reference has it too).
``DRIFT_ALPHA`` is 1e-6: with ~20 activities × ~20 windows × ~6 keys (a few thousand tests) the
expected number of false findings on stable data is far below one. So a window must hold enough
events for a change to show: a key in all of 20 events of a window as large as the reference is
reported (0.5 ** 20 ≈ 1e-6); with ``day`` windows a rare activity may never reach that.

**Against the registered schema** (activities with a feature schema whose ``properties`` are listed):
``undeclared_key`` (a key the schema does not declare), ``type_mismatch`` (a type class the
property's ``type`` does not allow), ``missing_required_key`` (events without a ``required`` key).
Any event counts; each finding names the first and last window where it occurs.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from ..errors import ValidationError, suggest
from ..store.duckdb import DuckDBStore
from . import sql

WINDOWS = ("day", "week", "month")
WINDOW_DEFAULT = "week"
REFERENCE_WINDOWS = 4
DRIFT_ALPHA = 1e-6
TYPE_CLASSES = {"integer": "number"}
FAR_PAST = datetime(1, 1, 1)
FAR_FUTURE = datetime(9999, 12, 31)

Profile = dict[str, dict[str, int]]  # key -> type class -> events (null counted as "null")


@dataclass
class Window:
    start: date
    events: int
    keys: Profile = field(default_factory=dict)

    def present(self, key: str) -> int:
        return sum(self.keys.get(key, {}).values())

    def typed(self, key: str) -> dict[str, int]:
        return {t: n for t, n in self.keys.get(key, {}).items() if t != "null"}


def _check_window(window: str) -> str:
    if window not in WINDOWS:
        raise ValidationError(
            f"Drift window '{window}' is not allowed. Use one of: {', '.join(WINDOWS)}."
            + suggest(window, list(WINDOWS)),
            code="invalid_window",
        )
    return window


def _as_date(value: datetime | date) -> date:
    return value.date() if isinstance(value, datetime) else value


def load_windows(
    store: DuckDBStore, *, window: str, activity: str | None, since: datetime | None, until: datetime | None
) -> dict[str, list[Window]]:
    """Per activity, its windows with events (in order) and their key profiles."""
    params = [_check_window(window), since or FAR_PAST, until or FAR_FUTURE, activity, activity]
    out: dict[str, dict[date, Window]] = defaultdict(dict)
    for name, start, n in store.fetchall(sql.WINDOW_EVENTS_SQL, params):
        out[name][_as_date(start)] = Window(_as_date(start), n)
    for name, start, key, duck_type, n in store.fetchall(sql.WINDOW_KEYS_SQL, params):
        json_type = sql.JSON_TYPES.get(duck_type, duck_type.lower())
        cls = TYPE_CLASSES.get(json_type, json_type)
        types = out[name][_as_date(start)].keys.setdefault(key, {})
        types[cls] = types.get(cls, 0) + n
    return {name: [w for _, w in sorted(ws.items())] for name, ws in out.items()}


def one_sided(n_side: int, n_other: int, k: int) -> float:
    """Chance that all ``k`` occurrences fell in the side with ``n_side`` of ``n_side + n_other``."""
    if k == 0 or n_side + n_other == 0:
        return 1.0
    return float((n_side / (n_side + n_other)) ** k)


def _finding(activity: str, kind: str, key: str, w: Window, baseline: str, message: str, **detail: Any) -> dict[str, Any]:
    return {"activity": activity, "kind": kind, "key": key, "window_start": w.start.isoformat(),
            "window_events": w.events, "baseline": baseline, "message": message, "detail": detail}


def pooled(windows: list[Window]) -> Window:
    """The reference: several windows added up (its ``start`` is the earliest)."""
    ref = Window(windows[0].start, 0)
    for w in windows:
        ref.events += w.events
        for key, types in w.keys.items():
            into = ref.keys.setdefault(key, {})
            for t, n in types.items():
                into[t] = into.get(t, 0) + n
    return ref


def compare_windows(activity: str, previous: list[Window], cur: Window) -> list[dict[str, Any]]:
    """Findings of ``cur`` against the windows before it (the rules in the module docstring)."""
    ref, prev = pooled(previous), previous[-1]
    found: list[dict[str, Any]] = []
    for key in sorted(set(ref.keys) | set(cur.keys)):
        k_ref, k_cur = ref.present(key), cur.present(key)
        if k_ref == 0 and (p := one_sided(cur.events, ref.events, k_cur)) < DRIFT_ALPHA:
            found.append(_finding(activity, "new_key", key, cur, "previous_windows",
                                  f"new key '{key}' in {k_cur} of {cur.events} events",
                                  events_with_key=k_cur, p_value=p))
        elif k_cur == 0 and prev.present(key) and (p := one_sided(ref.events, cur.events, k_ref)) < DRIFT_ALPHA:
            found.append(_finding(activity, "vanished_key", key, cur, "previous_windows",
                                  f"key '{key}' vanished (was in {k_ref} of {ref.events} events before)",
                                  reference_events_with_key=k_ref, p_value=p))
        elif k_ref and k_cur:
            change = _type_change(ref.typed(key), prev.typed(key), cur.typed(key))
            if change is not None:
                found.append(_finding(activity, "type_change", key, cur, "previous_windows",
                                      f"'{key}' type {_types(ref.typed(key))} -> {_types(cur.typed(key))}",
                                      types_before=ref.typed(key), types_after=cur.typed(key), p_value=change))
    return found


def _type_change(ref: dict[str, int], prev: dict[str, int], cur: dict[str, int]) -> float | None:
    """The p-value of the most significant type class that appeared or disappeared, if significant."""
    m_ref, m_cur = sum(ref.values()), sum(cur.values())
    p_values = [one_sided(m_cur, m_ref, n) for t, n in cur.items() if t not in ref]
    p_values += [one_sided(m_ref, m_cur, ref[t]) for t in prev if t not in cur]
    p = min(p_values, default=1.0)
    return p if p < DRIFT_ALPHA else None


def _types(types: dict[str, int]) -> str:
    total = sum(types.values()) or 1
    return "{" + ", ".join(f"{t} {n / total:.0%}" for t, n in sorted(types.items(), key=lambda x: -x[1])) + "}"


def _schema_types(prop: Any) -> set[str] | None:
    if not isinstance(prop, dict) or "type" not in prop:
        return None
    types = prop["type"] if isinstance(prop["type"], list) else [prop["type"]]
    return {TYPE_CLASSES.get(t, t) for t in types if isinstance(t, str)}


def compare_schema(activity: str, windows: list[Window], schema: dict[str, Any]) -> list[dict[str, Any]]:
    """Findings of an activity's windows against its registered schema (aggregated over windows)."""
    props = schema.get("properties")
    if not isinstance(props, dict) or not windows:
        return []
    required = [k for k in schema.get("required", []) if isinstance(k, str)]
    hits: dict[tuple[str, str], dict[str, Any]] = {}

    def hit(kind: str, key: str, w: Window, n: int, **detail: Any) -> None:
        h = hits.setdefault((kind, key), {"first": w, "last": w, "events": 0, "detail": detail})
        h["last"], h["events"] = w, h["events"] + n

    for w in windows:
        for key in w.keys:
            if key not in props:
                hit("undeclared_key", key, w, w.present(key))
                continue
            allowed = _schema_types(props[key])
            for t, n in w.typed(key).items():
                if allowed is not None and t not in allowed:
                    hit("type_mismatch", key, w, n, expected=sorted(allowed), found=t)
        for key in required:
            if (missing := w.events - w.present(key)) > 0:
                hit("missing_required_key", key, w, missing)
    return [_schema_finding(activity, kind, key, h) for (kind, key), h in sorted(hits.items(), key=lambda x: (x[1]["first"].start, x[0]))]


def _schema_finding(activity: str, kind: str, key: str, h: dict[str, Any]) -> dict[str, Any]:
    detail = h["detail"]
    text = {
        "undeclared_key": f"key '{key}' is not declared by the schema",
        "type_mismatch": f"'{key}' has {detail.get('found')} values; the schema allows {detail.get('expected')}",
        "missing_required_key": f"required key '{key}' is missing",
    }[kind]
    return _finding(activity, kind, key, h["first"], "schema", f"{text} ({h['events']} events)",
                    events=h["events"], last_window_start=h["last"].start.isoformat(), **detail)


def detect_drift(
    store: DuckDBStore,
    *,
    window: str = WINDOW_DEFAULT,
    activity: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> dict[str, Any]:
    """Drift findings for every activity (or one), ordered by window, activity and key.

    Returns ``{"window", "activities", "windows_compared", "findings": [...]}``; each finding has
    ``activity, kind, key, window_start, window_events, baseline ('previous_windows' | 'schema'),
    message, detail``.
    """
    data = load_windows(store, window=window, activity=activity, since=since, until=until)
    schemas = {a: json.loads(text) for a, text in store.fetchall(
        "SELECT activity, CAST(schema_json AS VARCHAR) FROM feature_schemas")}
    findings: list[dict[str, Any]] = []
    compared = 0
    for name, windows in sorted(data.items()):
        for i in range(1, len(windows)):
            findings += compare_windows(name, windows[max(0, i - REFERENCE_WINDOWS):i], windows[i])
            compared += 1
        if name in schemas:
            findings += compare_schema(name, windows, schemas[name])
    findings.sort(key=lambda f: (f["window_start"], f["activity"], f["key"], f["kind"]))
    return {"window": window, "activities": len(data), "windows_compared": compared, "findings": findings}


def window_end(start: date, window: str) -> date:
    """The last day of the window that starts on ``start``."""
    if window == "day":
        return start
    if window == "week":
        return start + timedelta(days=6)
    nxt = date(start.year + start.month // 12, start.month % 12 + 1, 1)
    return nxt - timedelta(days=1)
