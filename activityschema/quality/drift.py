"""Schema drift in feature_json: new keys, vanished keys and type changes, per activity over time.

Events are grouped per activity into calendar windows (``day``, ``week`` = ISO week from Monday,
``month``; UTC). Only top-level keys are profiled; ``integer`` and ``number`` are one type class
(``number``) here, and JSON ``null`` is not a type (a key that is sometimes null has not changed type).

**Against the previous windows.** For one key, each window has ``n`` events of which ``k`` have the
key. An *onset* is a window where the key is present after ``REFERENCE_WINDOWS`` (4) windows without
it (not the activity's first window); the *reference* is those windows, pooled (``n_ref`` events).
If nothing had changed, each occurrence of the key would fall before or after the onset with
probability proportional to the event counts, so the chance that all of them fell after it is
``p = (n_after / (n_ref + n_after)) ** k_after``. Evidence accumulates from the onset over up to 4
windows (a change that starts late in a window is still caught in the next one):

- ``new_key``: at an onset, ``p < DRIFT_ALPHA`` over the onset window and the ones after it;
- ``vanished_key``: the mirror image — the key was in the window before and is absent from this one
  (and those after it), ``p = (n_ref / (n_ref + n_absent)) ** k_ref`` with the reference being the
  4 windows up to the last one that had the key;
- ``type_change``: the same two tests on one type class among the key's non-null values (``n`` =
  events with a non-null value of the key, ``k`` = those of the class), for keys present on both
  sides. The finding shows the type distributions before and after.

A finding is dated by its onset window (``window_start``) and names the window where the evidence
became significant (``detail.detected_in``). ``DRIFT_ALPHA`` is 1e-6: with ~20 activities × ~20
windows × ~6 keys (a few thousand tests) the expected number of false findings on stable data is far
below one; a key in 20 events after an onset, with as many events in the reference, is reported
(0.5 ** 20 ≈ 1e-6). A window must hold enough events for a change to show: with ``day`` windows a
rare activity may never reach that.

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
    store: DuckDBStore,
    *,
    window: str,
    activity: str | None,
    since: datetime | None,
    until: datetime | None,
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


Counts = list[tuple[int, int]]  # per window: (n, k)


def appearances(seq: Counts) -> list[tuple[int, int, float]]:
    """``(onset, detected_in, p)`` for each significant appearance in ``seq`` (see the docstring)."""
    out = []
    for i in range(1, len(seq)):
        ref = seq[max(0, i - REFERENCE_WINDOWS) : i]
        if seq[i][1] == 0 or any(k for _, k in ref):
            continue
        n_ref, n_after, k_after = sum(n for n, _ in ref), 0, 0
        for j in range(i, min(len(seq), i + REFERENCE_WINDOWS)):
            n_after, k_after = n_after + seq[j][0], k_after + seq[j][1]
            if (p := one_sided(n_after, n_ref, k_after)) < DRIFT_ALPHA:
                out.append((i, j, p))
                break
    return out


def disappearances(seq: Counts) -> list[tuple[int, int, float]]:
    """``(offset, detected_in, p)`` for each significant disappearance in ``seq``."""
    out = []
    for i in range(1, len(seq)):
        if seq[i][1] != 0 or seq[i - 1][1] == 0:
            continue
        ref = seq[max(0, i - REFERENCE_WINDOWS) : i]
        n_ref, k_ref, n_absent = sum(n for n, _ in ref), sum(k for _, k in ref), 0
        for j in range(i, min(len(seq), i + REFERENCE_WINDOWS)):
            if seq[j][1]:
                break
            n_absent += seq[j][0]
            if (p := one_sided(n_ref, n_absent, k_ref)) < DRIFT_ALPHA:
                out.append((i, j, p))
                break
    return out


def _finding(
    activity: str, kind: str, key: str, w: Window, baseline: str, message: str, **detail: Any
) -> dict[str, Any]:
    return {
        "activity": activity,
        "kind": kind,
        "key": key,
        "window_start": w.start.isoformat(),
        "window_events": w.events,
        "baseline": baseline,
        "message": message,
        "detail": detail,
    }


def _pool_types(windows: list[Window], key: str) -> dict[str, int]:
    out: dict[str, int] = {}
    for w in windows:
        for t, n in w.typed(key).items():
            out[t] = out.get(t, 0) + n
    return out


def key_findings(activity: str, windows: list[Window], key: str) -> list[dict[str, Any]]:
    """New/vanished findings of one key over an activity's windows."""
    seq = [(w.events, w.present(key)) for w in windows]
    found = []
    for i, j, p in appearances(seq):
        k = sum(c for _, c in seq[i : j + 1])
        n = sum(c for c, _ in seq[i : j + 1])
        found.append(
            _finding(
                activity,
                "new_key",
                key,
                windows[i],
                "previous_windows",
                f"new key '{key}': in {k:,} of {n:,} events since {windows[i].start}",
                detected_in=windows[j].start.isoformat(),
                events_with_key=k,
                events=n,
                p_value=p,
            )
        )
    for i, j, p in disappearances(seq):
        ref = seq[max(0, i - REFERENCE_WINDOWS) : i]
        found.append(
            _finding(
                activity,
                "vanished_key",
                key,
                windows[i],
                "previous_windows",
                f"key '{key}' vanished (was in {sum(k for _, k in ref):,} of "
                f"{sum(n for n, _ in ref):,} events before)",
                detected_in=windows[j].start.isoformat(),
                p_value=p,
            )
        )
    return found


def type_findings(activity: str, windows: list[Window], key: str) -> list[dict[str, Any]]:
    """Type-class changes of one key; one finding per onset window (the most significant class)."""
    classes = sorted({t for w in windows for t in w.typed(key)})
    by_onset: dict[int, tuple[int, float]] = {}
    for t in classes:
        seq = [(sum(w.typed(key).values()), w.typed(key).get(t, 0)) for w in windows]
        for i, j, p in appearances(seq) + disappearances(seq):
            if i not in by_onset or p < by_onset[i][1]:
                by_onset[i] = (j, p)
    found = []
    for i, (j, p) in sorted(by_onset.items()):
        before = _pool_types(windows[max(0, i - REFERENCE_WINDOWS) : i], key)
        after = _pool_types(windows[i : j + 1], key)
        found.append(
            _finding(
                activity,
                "type_change",
                key,
                windows[i],
                "previous_windows",
                f"'{key}' type {_types(before)} -> {_types(after)}",
                detected_in=windows[j].start.isoformat(),
                types_before=before,
                types_after=after,
                p_value=p,
            )
        )
    return found


def compare_windows(activity: str, windows: list[Window]) -> list[dict[str, Any]]:
    """Every previous-windows finding of one activity (the rules in the module docstring)."""
    found: list[dict[str, Any]] = []
    for key in sorted({k for w in windows for k in w.keys}):
        found += key_findings(activity, windows, key)
        found += type_findings(activity, windows, key)
    return found


def _types(types: dict[str, int]) -> str:
    total = sum(types.values()) or 1
    return (
        "{"
        + ", ".join(f"{t} {n / total:.0%}" for t, n in sorted(types.items(), key=lambda x: -x[1]))
        + "}"
    )


def _schema_types(prop: Any) -> set[str] | None:
    if not isinstance(prop, dict) or "type" not in prop:
        return None
    types = prop["type"] if isinstance(prop["type"], list) else [prop["type"]]
    return {TYPE_CLASSES.get(t, t) for t in types if isinstance(t, str)}


def compare_schema(
    activity: str, windows: list[Window], schema: dict[str, Any]
) -> list[dict[str, Any]]:
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
    return [
        _schema_finding(activity, kind, key, h)
        for (kind, key), h in sorted(hits.items(), key=lambda x: (x[1]["first"].start, x[0]))
    ]


def _schema_finding(activity: str, kind: str, key: str, h: dict[str, Any]) -> dict[str, Any]:
    detail = h["detail"]
    text = {
        "undeclared_key": f"key '{key}' is not declared by the schema",
        "type_mismatch": f"'{key}' has {detail.get('found')} values; the schema allows {detail.get('expected')}",
        "missing_required_key": f"required key '{key}' is missing",
    }[kind]
    return _finding(
        activity,
        kind,
        key,
        h["first"],
        "schema",
        f"{text} ({h['events']} events)",
        events=h["events"],
        last_window_start=h["last"].start.isoformat(),
        **detail,
    )


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
    schemas = {
        a: json.loads(text)
        for a, text in store.fetchall(
            "SELECT activity, CAST(schema_json AS VARCHAR) FROM feature_schemas"
        )
    }
    findings: list[dict[str, Any]] = []
    compared = 0
    for name, windows in sorted(data.items()):
        findings += compare_windows(name, windows)
        compared += max(0, len(windows) - 1)
        if name in schemas:
            findings += compare_schema(name, windows, schemas[name])
    findings.sort(key=lambda f: (f["window_start"], f["activity"], f["key"], f["kind"]))
    return {
        "window": window,
        "activities": len(data),
        "windows_compared": compared,
        "findings": findings,
    }


def window_end(start: date, window: str) -> date:
    """The last day of the window that starts on ``start``."""
    if window == "day":
        return start
    if window == "week":
        return start + timedelta(days=6)
    nxt = date(start.year + start.month // 12, start.month % 12 + 1, 1)
    return nxt - timedelta(days=1)
