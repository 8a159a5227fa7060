"""Drift rules on synthetic windows (docs/quality.md, "Schema drift")."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import date, timedelta

from activityschema.quality.drift import (
    Window,
    appearances,
    compare_schema,
    compare_windows,
    one_sided,
)

START = date(2026, 1, 5)
Maker = Callable[[random.Random, int, int], dict[str, str]]  # (rng, window, event) -> {key: type}


def windows(make: Maker, *, count: int = 16, events: int = 60, seed: int = 1) -> list[Window]:
    rng = random.Random(seed)
    out = []
    for w in range(count):
        win = Window(START + timedelta(weeks=w), events)
        for e in range(events):
            for key, json_type in make(rng, w, e).items():
                types = win.keys.setdefault(key, {})
                types[json_type] = types.get(json_type, 0) + 1
        out.append(win)
    return out


def base(rng: random.Random, w: int, e: int) -> dict[str, str]:
    keys = {"tool_name": "string", "duration_ms": "number"}
    if rng.random() < 0.03:
        keys["retry"] = "boolean"  # a rare optional key
    keys["error_message"] = "string" if rng.random() < 0.1 else "null"
    keys["size"] = "number" if rng.random() < 0.5 else "string"  # a key of mixed type, always
    return keys


def kinds(found: list[dict]) -> list[tuple[str, str, str]]:
    return [(f["kind"], f["key"], f["window_start"]) for f in found]


def test_stable_stream_with_rare_and_mixed_keys_is_quiet_over_many_seeds():
    for seed in range(25):
        assert compare_windows("tool_called", windows(base, seed=seed)) == [], seed


def test_new_key_is_reported_once_at_its_onset():
    def make(rng, w, e):
        return {**base(rng, w, e), **({"form_version": "string"} if w >= 10 else {})}

    assert kinds(compare_windows("tool_called", windows(make))) == [
        ("new_key", "form_version", "2026-03-16")
    ]


def test_new_key_starting_late_in_a_window_is_dated_by_its_onset():
    def make(rng, w, e):
        late = w == 10 and e >= 58
        return {**base(rng, w, e), **({"form_version": "string"} if w > 10 or late else {})}

    found = compare_windows("tool_called", windows(make))
    assert kinds(found) == [("new_key", "form_version", "2026-03-16")]
    assert found[0]["detail"]["detected_in"] == "2026-03-23"


def test_vanished_key_is_reported():
    def make(rng, w, e):
        keys = base(rng, w, e)
        if w >= 9:
            del keys["duration_ms"]
        return keys

    assert kinds(compare_windows("tool_called", windows(make))) == [
        ("vanished_key", "duration_ms", "2026-03-09")
    ]


def test_partial_type_change_is_reported_with_both_distributions():
    def make(rng, w, e):
        keys = base(rng, w, e)
        if w >= 8 and rng.random() < 0.3:
            keys["duration_ms"] = "string"
        return keys

    found = compare_windows("tool_called", windows(make))
    assert kinds(found) == [("type_change", "duration_ms", "2026-03-02")]
    assert found[0]["detail"]["types_before"] == {"number": 240}
    assert set(found[0]["detail"]["types_after"]) == {"number", "string"}


def test_key_that_becomes_null_is_not_a_type_change():
    def make(rng, w, e):
        keys = base(rng, w, e)
        if w >= 8:
            keys["error_message"] = "null"
        return keys

    assert compare_windows("tool_called", windows(make)) == []


def test_small_windows_need_enough_evidence():
    # 5 events in the reference and 5 after: (5/10) ** 5 = 0.03, far from significant.
    assert appearances([(5, 0), (5, 5)]) == []
    assert appearances([(40, 0), (40, 40)]) == [(1, 1, one_sided(40, 40, 40))]


def test_schema_baseline_reports_undeclared_keys_type_mismatches_and_missing_required():
    schema = {
        "type": "object",
        "required": ["tool_name", "result_type"],
        "properties": {
            "tool_name": {"type": "string"},
            "result_type": {"type": "string"},
            "duration_ms": {"type": "number"},
            "error_message": {"type": ["string", "null"]},
            "retry": {"type": "boolean"},
        },
    }
    found = compare_schema("tool_called", windows(base, count=3), schema)
    assert sorted((f["kind"], f["key"]) for f in found) == [
        ("missing_required_key", "result_type"),
        ("undeclared_key", "size"),
    ]
    missing = next(f for f in found if f["kind"] == "missing_required_key")
    assert (
        missing["detail"]["events"] == 180
        and missing["detail"]["last_window_start"] == "2026-01-19"
    )

    schema["properties"]["duration_ms"] = {"type": "integer"}  # integer and number are one class
    schema["properties"]["tool_name"] = {"type": "integer"}
    found = compare_schema("tool_called", windows(base, count=3), schema)
    mismatch = [f for f in found if f["kind"] == "type_mismatch"]
    assert [(f["key"], f["detail"]["found"]) for f in mismatch] == [("tool_name", "string")]
