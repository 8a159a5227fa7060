"""The catalog and the detectors on generated streams: catalog numbers equal direct counts; drift
and anomaly detection find what the generator planted and stay quiet on clean streams (several
seeds). bench/bench_quality.py measures the same at full size."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from activityschema.demo.generator import PLANTED, write_ndjson
from activityschema.ingest.importer import import_file
from activityschema.quality.anomalies import detect_anomalies
from activityschema.quality.catalog import describe_activity, list_activities
from activityschema.quality.drift import detect_drift
from activityschema.store.duckdb import DuckDBStore

CUSTOMERS = 500
CLEAN_SEEDS = (1, 2, 3)
NOW = datetime(2027, 1, 1)


def build(root: Path, seed: int, plant: bool) -> DuckDBStore:
    src = root / f"s{seed}{plant}.ndjson"
    write_ndjson(src, seed=seed, customers=CUSTOMERS, plant_anomalies=plant)
    store = DuckDBStore(root / f"s{seed}{plant}.duckdb")
    import_file(store, src, now=NOW)
    return store


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    store = build(tmp_path_factory.mktemp("planted"), 1, True)
    yield store
    store.close()


@pytest.fixture(scope="module")
def clean_stores(tmp_path_factory):
    root = tmp_path_factory.mktemp("clean")
    stores = [build(root, seed, False) for seed in CLEAN_SEEDS]
    yield stores
    for s in stores:
        s.close()


def test_catalog_numbers_equal_direct_counts(planted):
    rows = {r["activity"]: r for r in list_activities(planted)}
    direct = planted.fetchall(
        "SELECT activity, count(*), count(DISTINCT coalesce(customer, anonymous_customer_id)), min(ts), max(ts), "
        "sum(revenue_impact), count(revenue_impact), count(DISTINCT CAST(ts AS DATE)) FROM activities GROUP BY 1"
    )
    assert set(rows) == {d[0] for d in direct}
    for activity, events, actors, first, last, revenue, revenue_events, days in direct:
        r = rows[activity]
        assert (r["events"], r["actors"], r["first_seen"], r["last_seen"]) == (
            events,
            actors,
            first.isoformat(),
            last.isoformat(),
        )
        assert r["revenue"] == {"total": revenue, "events": revenue_events}
        assert r["daily_volume"]["active_days"] == days
        span = (last.date() - first.date()).days + 1
        assert r["daily_volume"]["span_days"] == span and r["daily_volume"]["mean"] == round(
            events / span, 2
        )
    assert (
        sum(r["events"] for r in rows.values())
        == planted.fetchone("SELECT count(*) FROM activities")[0]
    )


def test_catalog_feature_keys_equal_direct_counts(planted):
    tool = next(r for r in list_activities(planted) if r["activity"] == "claude_tool_call")
    keys = {f["key"]: f for f in tool["features"]}
    assert set(keys) == {
        "tool_name",
        "parameters",
        "result_type",
        "duration_ms",
        "tokens_used",
        "error_message",
    }
    for key, f in keys.items():
        present, filled, strings = planted.fetchone(
            "SELECT count(*) FILTER (WHERE json_exists(feature_json, '$.' || ?)), "
            "count(*) FILTER (WHERE json_type(feature_json, '$.' || ?) <> 'NULL'), "
            "count(*) FILTER (WHERE json_type(feature_json, '$.' || ?) = 'VARCHAR') "
            "FROM activities WHERE activity = 'claude_tool_call'",
            [key, key, key],
        )
        assert (f["present"], f["filled"]) == (present, filled), key
        assert f["fill_rate"] == round(filled / tool["events"], 4)
        assert f["types"].get("string", 0) == strings
        assert 1 <= len(f["examples"]) <= 3
    # The planted type drift shows in the catalog: duration_ms is mostly integer, sometimes string.
    assert set(keys["duration_ms"]["types"]) == {"integer", "string"}
    assert keys["error_message"]["types"]["null"] > 0


def test_catalog_descriptions_and_undocumented_activities(planted):
    describe_activity(planted, "claude_tool_call", "  One tool call made by an agent.  ", now=NOW)
    describe_activity(planted, "invoice_sent", "Planned: not emitted yet.", now=NOW)
    rows = {r["activity"]: r for r in list_activities(planted)}
    assert rows["claude_tool_call"]["description"] == "One tool call made by an agent."
    assert rows["invoice_sent"]["events"] == 0 and rows["invoice_sent"]["first_seen"] is None
    describe_activity(planted, "invoice_sent", "", now=NOW)
    assert "invoice_sent" not in {r["activity"] for r in list_activities(planted)}


def test_drift_finds_the_planted_changes_and_nothing_else(planted):
    findings = detect_drift(planted)["findings"]
    key, typed = PLANTED["new_feature_key"], PLANTED["type_drift"]
    got = sorted((f["activity"], f["kind"], f["key"]) for f in findings)
    assert got == sorted(
        [(key["activity"], "new_key", key["key"]), (typed["activity"], "type_change", typed["key"])]
    )
    start = datetime(2026, 1, 5)
    for f in findings:
        onset = datetime.fromisoformat(f["window_start"])
        assert (
            0 <= (start.toordinal() + key["from_day"]) - onset.toordinal() < 7
        )  # the week of day 80
    change = next(f for f in findings if f["kind"] == "type_change")
    assert change["detail"]["types_before"].keys() == {"number"}
    assert change["detail"]["types_after"].keys() == {"number", "string"}


def test_anomalies_find_the_planted_spike_and_stop_and_nothing_else(planted):
    result = detect_anomalies(planted, now=NOW)
    got = [(f["activity"], f["kind"], f["day"]) for f in result["findings"]]
    spike, stop = PLANTED["volume_spike"], PLANTED["activity_stopped"]
    assert got[0] == (spike["activity"], "spike", "2026-03-06")  # day 60
    assert got[1][:2] == (stop["activity"], "stopped") and "2026-04-13" <= got[1][2] <= "2026-04-15"
    assert len(got) == 2


@pytest.mark.parametrize("window", ["week", "month"])
def test_detectors_are_quiet_on_clean_streams(clean_stores, window):
    for store in clean_stores:
        assert detect_drift(store, window=window)["findings"] == []
        assert detect_anomalies(store, now=NOW)["findings"] == []


def test_demo_section_shows_the_catalog_and_every_planted_signal(planted):
    from rich.console import Console

    from activityschema.demo.sections import s50_quality

    console = Console(record=True, width=200, color_system=None)
    s50_quality.show(planted, console)
    text = console.export_text()
    assert "Activity catalog: 2" in text and "form_version*" in text
    assert "new key 'form_version'" in text and "'duration_ms' type {number 100%}" in text
    assert "spike 2026-03-06" in text and "stopped: no events since" in text
    assert "Typed views: tool_executions" in text


def test_drift_rejects_unknown_windows(planted):
    from activityschema.errors import ValidationError

    with pytest.raises(
        ValidationError,
        match="Drift window 'fortnight' is not allowed. Use one of: day, week, month",
    ):
        detect_drift(planted, window="fortnight")


def test_drift_against_a_registered_schema(planted):
    from activityschema.quality.schemas import register_schema, remove_schema

    register_schema(planted, "claude_tool_call", builtin="tool_execution", mode="off", now=NOW)
    try:
        findings = detect_drift(planted, activity="claude_tool_call")["findings"]
    finally:
        remove_schema(planted, "claude_tool_call")
    by_baseline = {(f["baseline"], f["kind"], f["key"]): f for f in findings}
    mismatch = by_baseline[("schema", "type_mismatch", "duration_ms")]
    strings = planted.fetchone(
        "SELECT count(*) FROM activities WHERE activity = 'claude_tool_call' "
        "AND json_type(feature_json, '$.duration_ms') = 'VARCHAR'"
    )[0]
    assert mismatch["detail"]["events"] == strings and mismatch["detail"]["found"] == "string"
    assert ("previous_windows", "type_change", "duration_ms") in by_baseline
    assert len(findings) == 2
