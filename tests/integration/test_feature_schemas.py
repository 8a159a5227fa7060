"""Feature schemas and their modes: off / warn / reject, with the reasons kept (docs/quality.md)."""

from __future__ import annotations

import json

import pytest

from activityschema.errors import NotFoundError, ValidationError
from activityschema.ingest.importer import ingest_records
from activityschema.ingest.rejects import list_rejects
from activityschema.quality import schemas as S
from activityschema.quality.validation import canonical, compiled, violations
from activityschema.store.duckdb import DuckDBStore
from tests.conftest import NOW, event

SPEC_TOOL = {
    "tool_name": "read_file",
    "parameters": {"file_path": "/src/main.py"},
    "result_type": "success",
    "duration_ms": 125,
    "tokens_used": 450,
    "error_message": None,
}
SPEC_INTERACTION = {
    "interaction_type": "click",
    "element_id": "submit_button",
    "page_url": "https://app.example.com/checkout",
    "session_duration_ms": 45000,
    "device_type": "mobile",
}
SPEC_SYSTEM = {
    "event_type": "deployment",
    "version": "2.0.1",
    "environment": "production",
    "deployment_id": "dep_123",
    "rollback": False,
    "duration_seconds": 300,
}
BAD_TOOL = {**SPEC_TOOL, "duration_ms": "125"}


def tool_call(n: int, features: dict) -> dict:
    return event("claude_tool_call", f"2026-05-01T00:00:{n:02d}Z", "c1", n, feature_json=features)


def counts(store: DuckDBStore) -> tuple[int, int, int]:
    stored = store.fetchone("SELECT count(*) FROM activities")[0]
    rejected = store.fetchone("SELECT count(*) FROM rejected_activities")[0]
    warned = store.fetchone("SELECT count(*) FROM schema_warnings")[0]
    return stored, rejected, warned


@pytest.mark.parametrize(
    ("name", "example"),
    [
        ("tool_execution", SPEC_TOOL),
        ("user_interaction", SPEC_INTERACTION),
        ("system_event", SPEC_SYSTEM),
    ],
)
def test_builtin_schemas_accept_the_spec_examples(name, example):
    schema = S.builtin_schema(name)
    from activityschema.quality.validation import check_schema

    check_schema(schema)
    assert violations(compiled(canonical(schema)), example) == []
    assert violations(compiled(canonical(schema)), {}) != []  # the marker key is required


def test_without_a_schema_nothing_changes(store):
    report = ingest_records(store, [tool_call(1, BAD_TOOL)], now=NOW)
    assert (report.accepted, report.rejected) == (1, 0)
    assert counts(store) == (1, 0, 0)


def test_off_mode_registers_but_does_not_check(store):
    S.register_schema(store, "claude_tool_call", builtin="tool_execution", mode="off", now=NOW)
    report = ingest_records(store, [tool_call(1, BAD_TOOL)], now=NOW)
    assert (report.accepted, report.rejected) == (1, 0)
    assert counts(store) == (1, 0, 0)


def test_reject_mode_rejects_with_schema_violation_and_keeps_every_reason(store):
    S.register_schema(store, "claude_tool_call", builtin="tool_execution", mode="reject", now=NOW)
    bad_ts = {**tool_call(3, {"tool_name": "x"}), "ts": "yesterday"}
    report = ingest_records(
        store, [tool_call(1, SPEC_TOOL), tool_call(2, BAD_TOOL), bad_ts], now=NOW
    )
    assert (report.accepted, report.rejected) == (1, 2)
    assert report.reasons["schema_violation"] == 2 and report.reasons["invalid_ts"] == 1
    rejects = {r["activity_id"]: r for r in list_rejects(store)}
    assert rejects[tool_call(2, {})["activity_id"]]["reason_codes"] == ["schema_violation"]
    assert rejects[bad_ts["activity_id"]]["reason_codes"] == ["invalid_ts", "schema_violation"]
    reasons = json.loads(
        store.fetchone(
            "SELECT CAST(reasons AS VARCHAR) FROM rejected_activities WHERE activity_id = ?",
            [tool_call(2, {})["activity_id"]],
        )[0]
    )
    assert reasons == [
        {
            "code": "schema_violation",
            "field": "feature_json",
            "message": "feature_json does not match the registered schema for this activity "
            "('tool_execution'): $.duration_ms: '125' is not of type 'number'",
        }
    ]
    assert counts(store) == (1, 2, 0)


def test_reject_mode_only_touches_its_activity(store):
    S.register_schema(store, "claude_tool_call", builtin="tool_execution", mode="reject", now=NOW)
    other = event("button_clicked", "2026-05-01T00:00:00Z", "c1", 9, feature_json={"anything": 1})
    report = ingest_records(store, [other], now=NOW)
    assert report.accepted == 1


def test_warn_mode_accepts_and_records_one_warning_per_record(store):
    S.register_schema(store, "claude_tool_call", builtin="tool_execution", mode="warn", now=NOW)
    records = [
        tool_call(1, SPEC_TOOL),
        tool_call(2, BAD_TOOL),
        tool_call(2, BAD_TOOL),
    ]  # an in-batch duplicate
    report = ingest_records(store, records, now=NOW)
    assert (report.accepted, report.duplicate, report.rejected) == (2, 1, 0)
    warnings = S.list_schema_warnings(store)
    assert [(w["activity_id"], w["schema_name"]) for w in warnings] == [
        (records[1]["activity_id"], "tool_execution")
    ]
    assert warnings[0]["reasons"][0]["code"] == "schema_violation"
    assert "$.duration_ms" in warnings[0]["reasons"][0]["message"]
    # Re-sending the same record (a duplicate) does not warn again.
    ingest_records(store, [tool_call(2, BAD_TOOL)], now=NOW)
    assert counts(store) == (2, 0, 1)


def test_warn_mode_does_not_warn_about_records_rejected_for_other_reasons(store):
    S.register_schema(store, "claude_tool_call", builtin="tool_execution", mode="warn", now=NOW)
    bad = {**tool_call(1, BAD_TOOL), "ts": "not a time"}
    report = ingest_records(store, [bad], now=NOW)
    assert report.reasons == {"invalid_ts": 1}
    assert counts(store) == (0, 1, 0)


def test_mode_change_and_remove(store):
    S.register_schema(store, "claude_tool_call", builtin="tool_execution", mode="warn", now=NOW)
    S.set_schema_mode(store, "claude_tool_call", "reject")
    assert ingest_records(store, [tool_call(1, BAD_TOOL)], now=NOW).rejected == 1
    S.remove_schema(store, "claude_tool_call")
    assert ingest_records(store, [tool_call(1, BAD_TOOL)], now=NOW).accepted == 1
    assert S.list_schemas(store) == []
    with pytest.raises(
        NotFoundError, match="No feature schema is registered for activity 'claude_tool_call'"
    ):
        S.remove_schema(store, "claude_tool_call")


def test_custom_schema_registration_and_errors(store):
    schema = {
        "type": "object",
        "properties": {"plan": {"enum": ["pro", "team"]}},
        "required": ["plan"],
    }
    S.register_schema(
        store, "subscription_started", schema=schema, name="plans", mode="reject", now=NOW
    )
    listed = S.list_schemas(store)
    assert [(r["activity"], r["schema_name"], r["mode"], r["schema"]) for r in listed] == [
        ("subscription_started", "plans", "reject", schema)
    ]
    bad = event(
        "subscription_started", "2026-05-01T00:00:00Z", "c1", 1, feature_json={"plan": "free"}
    )
    report = ingest_records(store, [bad], now=NOW)
    assert report.reasons == {"schema_violation": 1}
    with pytest.raises(
        ValidationError, match="Schema mode 'strict' is not allowed. Use one of: off, warn, reject"
    ):
        S.register_schema(store, "subscription_started", schema=schema, mode="strict", now=NOW)
    with pytest.raises(ValidationError, match="not a valid JSON Schema"):
        S.register_schema(store, "subscription_started", schema={"type": "objekt"}, now=NOW)
    with pytest.raises(ValidationError, match=r"\$ref that cannot be resolved"):
        S.register_schema(
            store, "subscription_started", schema={"$ref": "https://example.com/s.json"}, now=NOW
        )
    with pytest.raises(ValidationError, match="not a valid activity name"):
        S.register_schema(store, "Bad Name", builtin="system_event", now=NOW)
    with pytest.raises(NotFoundError, match="Did you mean 'tool_execution'"):
        S.register_schema(store, "claude_tool_call", builtin="tool_executon", now=NOW)


def test_check_stored_validates_existing_events(store):
    ingest_records(
        store,
        [
            tool_call(1, SPEC_TOOL),
            tool_call(2, BAD_TOOL),
            tool_call(3, BAD_TOOL | {"tokens_used": 3}),
        ],
        now=NOW,
    )
    S.register_schema(store, "claude_tool_call", builtin="tool_execution", mode="reject", now=NOW)
    result = S.check_stored(store, "claude_tool_call")
    assert (result["events"], result["violations"]) == (3, 2)
    assert result["examples"][0]["errors"] == ["$.duration_ms: '125' is not of type 'number'"]
    # Against another schema given directly:
    assert (
        S.check_stored(store, "claude_tool_call", schema=S.builtin_schema("system_event"))[
            "violations"
        ]
        == 3
    )


def test_no_schema_means_one_tiny_query(store):
    """With no schema in warn/reject mode the check reads nothing but the registry."""
    from activityschema.ingest.checks import feature_schema

    seen = []

    class Spy:
        def __init__(self, con):
            self.con = con

        def execute(self, sql, params=None):
            seen.append(sql)
            return self.con.execute(sql, params)

    S.register_schema(store, "claude_tool_call", builtin="tool_execution", mode="off", now=NOW)
    with store.write() as con:
        con.execute("CREATE TEMP TABLE _t AS SELECT 1 AS _seq")
        feature_schema.check(Spy(con), "_t")
    assert seen == [feature_schema.ACTIVE_SQL]
