"""Typed views of the feature_json patterns: safe casts on DuckDB, failures counted, Snowflake DDL."""

from __future__ import annotations

import pytest
import sqlglot

from activityschema.ingest.importer import ingest_records
from activityschema.quality.views import (
    cast_failures,
    create_typed_views,
    snowflake_typed_views_ddl,
)
from activityschema.schema.typed_views import BASE_COLUMNS, TYPED_VIEWS, cast_failures_sql
from activityschema.store.duckdb import DuckDBStore
from tests.conftest import NOW, event

TOOL = {"tool_name": "read_file", "result_type": "success"}


def tool(n: int, **features) -> dict:
    return event(
        "claude_tool_call", f"2026-05-01T00:00:{n:02d}Z", "c1", n, feature_json={**TOOL, **features}
    )


@pytest.fixture
def loaded(store: DuckDBStore) -> DuckDBStore:
    records = [
        tool(
            1,
            duration_ms=125,
            tokens_used=450,
            error_message=None,
            parameters={"file_path": "/a.py"},
        ),
        tool(2, duration_ms="125", tokens_used="450", error_message="boom"),
        tool(3, duration_ms="fast", tokens_used=1.5, tool_name=7, error_message={"x": 1}),
        tool(4, duration_ms="1e999", tokens_used="12.0"),
        tool(5, tokens_used=1e19),
        tool(6),
        event(
            "claude_error_encountered",
            "2026-05-01T00:01:00Z",
            "c1",
            7,
            feature_json={"tool_name": "read_file"},
        ),
        event(
            "deployment_completed",
            "2026-05-01T00:02:00Z",
            "system",
            8,
            feature_json={
                "event_type": "deployment",
                "rollback": "TRUE",
                "duration_seconds": 30.5,
                "version": "2.0.1",
            },
        ),
        event(
            "deployment_completed",
            "2026-05-01T00:03:00Z",
            "system",
            9,
            feature_json={
                "event_type": "deployment",
                "rollback": "yes",
                "duration_seconds": True,
                "version": 2,
            },
        ),
        event(
            "deployment_completed",
            "2026-05-01T00:04:00Z",
            "system",
            10,
            feature_json={
                "event_type": "deployment",
                "rollback": False,
                "duration_seconds": "  42 ",
            },
        ),
        event(
            "button_clicked",
            "2026-05-01T00:05:00Z",
            "c1",
            11,
            feature_json={
                "interaction_type": "click",
                "element_id": "buy",
                "session_duration_ms": -5,
            },
        ),
    ]
    report = ingest_records(store, records, now=NOW)
    assert report.accepted == len(records)
    return store


def rows(store: DuckDBStore, view: str, *cols: str) -> list[tuple]:
    return store.fetchall(f"SELECT {', '.join(cols)} FROM {view} ORDER BY ts")


def test_tool_executions_casts_safely(loaded):
    got = rows(
        loaded, "tool_executions", "tool_name", "duration_ms", "tokens_used", "error_message"
    )
    assert got == [
        ("read_file", 125.0, 450, None),
        ("read_file", 125.0, 450, "boom"),
        (None, None, None, None),
        ("read_file", None, 12, None),
        ("read_file", None, None, None),
        ("read_file", None, None, None),
    ]
    assert loaded.fetchone(
        "SELECT CAST(parameters AS VARCHAR) FROM tool_executions ORDER BY ts LIMIT 1"
    ) == ('{"file_path":"/a.py"}',)


def test_views_select_rows_by_marker_keys_and_keep_base_columns(loaded):
    cols = [
        r[0]
        for r in loaded.fetchall(
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_name = 'tool_executions' ORDER BY ordinal_position"
        )
    ]
    assert cols[: len(BASE_COLUMNS)] == list(BASE_COLUMNS) and cols[-1] == "feature_json"
    # claude_error_encountered has tool_name but no result_type: not a tool execution.
    assert loaded.fetchone(
        "SELECT count(*) FROM tool_executions WHERE activity <> 'claude_tool_call'"
    ) == (0,)
    assert rows(loaded, "user_interactions", "interaction_type", "session_duration_ms") == [
        ("click", -5)
    ]


def test_system_events_booleans_and_numbers(loaded):
    assert rows(loaded, "system_events", "rollback", "duration_seconds", "version") == [
        (True, 30.5, "2.0.1"),
        (None, None, None),
        (False, 42.0, None),
    ]


def test_cast_failures_count_every_bad_value_and_never_missing_ones(loaded):
    failed = {(r["view"], r["column"]): r["failed"] for r in cast_failures(loaded)}
    assert failed[("tool_executions", "tool_name")] == 1
    assert failed[("tool_executions", "duration_ms")] == 2  # "fast", "1e999" (not finite)
    assert failed[("tool_executions", "tokens_used")] == 2  # 1.5, 1e19
    assert (
        failed[("tool_executions", "error_message")] == 1
    )  # an object; JSON null is not a failure
    assert failed[("system_events", "rollback")] == 1
    assert failed[("system_events", "duration_seconds")] == 1
    assert failed[("system_events", "version")] == 1
    assert failed[("user_interactions", "session_duration_ms")] == 0
    sizes = {r["view"]: r["rows"] for r in cast_failures(loaded)}
    assert sizes == {"tool_executions": 6, "user_interactions": 1, "system_events": 3}


def test_views_exist_on_open_and_can_be_recreated(store):
    names = {
        r[0] for r in store.fetchall("SELECT view_name FROM duckdb_views() WHERE NOT internal")
    }
    assert {v.name for v in TYPED_VIEWS} <= names
    assert create_typed_views(store) == [v.name for v in TYPED_VIEWS]


def test_snowflake_ddl_parses_and_runs_on_fakesnow():
    """fakesnow runs the statements (TYPEOF is only emulated there, so values are not checked)."""
    fakesnow = pytest.importorskip("fakesnow")
    import snowflake.connector

    statements = snowflake_typed_views_ddl()
    assert len(statements) == len(TYPED_VIEWS)
    for statement in statements:
        assert sqlglot.parse_one(statement, read="snowflake") is not None
        assert "TRY_TO_DOUBLE" in statement or "TYPEOF" in statement
    with fakesnow.patch():
        conn = snowflake.connector.connect(database="db", schema="public")
        cur = conn.cursor()
        cur.execute(
            "CREATE TABLE activities (activity_id VARCHAR, ts TIMESTAMP_NTZ, activity VARCHAR, customer VARCHAR, "
            "anonymous_customer_id VARCHAR, feature_json VARIANT, revenue_impact FLOAT, link VARCHAR, "
            "activity_occurrence INT, activity_repeated_at TIMESTAMP_NTZ)"
        )
        cur.execute(
            "INSERT INTO activities (activity_id, ts, activity, feature_json) SELECT 'a', '2026-01-01', "
            '\'claude_tool_call\', PARSE_JSON(\'{"tool_name": "x", "result_type": "ok"}\')'
        )
        for statement in statements:
            cur.execute(statement)
        cur.execute("SELECT * FROM tool_executions")
        assert len(cur.fetchall()) == 1
        assert [d[0].lower() for d in cur.description][: len(BASE_COLUMNS)] == list(BASE_COLUMNS)
        cur.execute(cast_failures_sql(TYPED_VIEWS[0], "snowflake"))
        assert cur.fetchone()[0] == 1
        conn.close()
