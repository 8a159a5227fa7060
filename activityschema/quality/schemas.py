"""Feature schemas: at most one JSON Schema per activity, with an enforcement mode.

Modes (per activity):

- ``off``: registered for documentation and drift checks only; ingestion ignores it.
- ``warn``: a record whose feature_json fails is accepted, and a row with the reasons is kept in
  ``schema_warnings`` (once per activity_id).
- ``reject``: a record whose feature_json fails is rejected with reason ``schema_violation`` (kept
  whole in ``rejected_activities`` with every reason, like any other reject).

The spec's three feature_json patterns ship as built-in schemas (``tool_execution``,
``user_interaction``, ``system_event``; files in ``builtin_schemas/``).
"""

from __future__ import annotations

import json
from datetime import datetime
from importlib import resources
from typing import Any

from ..errors import NotFoundError, ValidationError, suggest
from ..schema.columns import ACTIVITY_RE
from ..schema.tables.quality import SCHEMA_MODES
from ..store.duckdb import DuckDBStore
from .validation import canonical, check_schema, compiled, violations

BUILTIN_SCHEMAS = ("tool_execution", "user_interaction", "system_event")
MODE_DEFAULT = "warn"
CUSTOM_SCHEMA_NAME = "custom"
CHECK_EXAMPLES_DEFAULT = 5

UPSERT_SQL = """
INSERT INTO feature_schemas (activity, schema_name, schema_json, mode, registered_at)
VALUES (?, ?, ?, ?, ?)
ON CONFLICT (activity) DO UPDATE SET
    schema_name = excluded.schema_name,
    schema_json = excluded.schema_json,
    mode = excluded.mode,
    registered_at = excluded.registered_at
"""

LIST_SQL = """
SELECT activity, schema_name, mode, registered_at, CAST(schema_json AS VARCHAR) AS schema_json
FROM feature_schemas
ORDER BY activity
"""

GET_SQL = (
    "SELECT schema_name, CAST(schema_json AS VARCHAR), mode FROM feature_schemas WHERE activity = ?"
)
MODE_SQL = "UPDATE feature_schemas SET mode = ? WHERE activity = ?"
REMOVE_SQL = "DELETE FROM feature_schemas WHERE activity = ?"

WARNINGS_SQL = """
SELECT activity_id, activity, ts, schema_name, CAST(reasons AS VARCHAR) AS reasons, recorded_at
FROM schema_warnings
WHERE (? IS NULL OR activity = ?)
ORDER BY recorded_at DESC, ts DESC, activity_id
LIMIT ?
"""

STORED_SQL = """
SELECT CAST(feature_json AS VARCHAR) AS feature, count(*) AS n, min(activity_id) AS example_id
FROM activities
WHERE activity = ?
GROUP BY 1
ORDER BY min(ts), example_id
"""


def builtin_schema(name: str) -> dict[str, Any]:
    """The built-in schema called ``name`` (one of ``BUILTIN_SCHEMAS``)."""
    if name not in BUILTIN_SCHEMAS:
        raise NotFoundError(
            f"Unknown built-in schema '{name}'. Built-in schemas: {', '.join(BUILTIN_SCHEMAS)}."
            + suggest(name, list(BUILTIN_SCHEMAS)),
            code="unknown_builtin_schema",
        )
    text = (
        resources.files(__package__)
        .joinpath("builtin_schemas")
        .joinpath(f"{name}.json")
        .read_text("utf-8")
    )
    schema: dict[str, Any] = json.loads(text)
    return schema


def check_mode(mode: str) -> str:
    if mode not in SCHEMA_MODES:
        raise ValidationError(
            f"Schema mode '{mode}' is not allowed. Use one of: {', '.join(SCHEMA_MODES)}."
            + suggest(mode, list(SCHEMA_MODES)),
            code="invalid_schema_mode",
        )
    return mode


def check_activity_name(activity: str) -> str:
    if not ACTIVITY_RE.match(activity) or len(activity) > 100:
        raise ValidationError(
            f"Activity '{activity}' is not a valid activity name: lowercase letters and digits in "
            "underscore-separated parts (verb_noun), at most 100 characters.",
            code="invalid_activity",
        )
    return activity


def register_schema(
    store: DuckDBStore,
    activity: str,
    *,
    schema: dict[str, Any] | None = None,
    builtin: str | None = None,
    name: str | None = None,
    mode: str = MODE_DEFAULT,
    now: datetime,
) -> dict[str, Any]:
    """Register (or replace) the schema of ``activity``: a built-in by name or a JSON Schema object.

    Returns the registry row as a dict. Records already stored are not re-checked (see
    ``check_stored``); the schema applies to records ingested from now on.
    """
    check_activity_name(activity)
    check_mode(mode)
    if (schema is None) == (builtin is None):
        raise ValidationError(
            "Give exactly one of a built-in schema name or a JSON Schema.",
            code="invalid_feature_schema",
        )
    if builtin is not None:
        schema, name = builtin_schema(builtin), builtin
    check_schema(schema, activity=activity)
    text = canonical(schema)
    store.execute(UPSERT_SQL, [activity, name or CUSTOM_SCHEMA_NAME, text, mode, now])
    return {
        "activity": activity,
        "schema_name": name or CUSTOM_SCHEMA_NAME,
        "mode": mode,
        "registered_at": now,
    }


def list_schemas(store: DuckDBStore) -> list[dict[str, Any]]:
    """Every registered schema: activity, schema_name, mode, registered_at, schema (parsed)."""
    rows = store.fetch_dicts(LIST_SQL)
    for row in rows:
        row["schema"] = json.loads(row.pop("schema_json"))
    return rows


def get_schema(store: DuckDBStore, activity: str) -> tuple[str, str, str] | None:
    """``(schema_name, canonical schema text, mode)`` of ``activity``, or None."""
    row = store.fetchone(GET_SQL, [activity])
    return (row[0], row[1], row[2]) if row else None


def registered_schema(store: DuckDBStore, activity: str) -> tuple[str, str, str]:
    """Like ``get_schema`` but a missing schema is a ``NotFoundError`` (``schema_not_registered``)."""
    found = get_schema(store, activity)
    if found is None:
        known = [r["activity"] for r in store.fetch_dicts("SELECT activity FROM feature_schemas")]
        raise NotFoundError(
            f"No feature schema is registered for activity '{activity}'."
            + suggest(activity, known),
            code="schema_not_registered",
        )
    return found


def set_schema_mode(store: DuckDBStore, activity: str, mode: str) -> None:
    check_mode(mode)
    registered_schema(store, activity)
    store.execute(MODE_SQL, [mode, activity])


def remove_schema(store: DuckDBStore, activity: str) -> None:
    registered_schema(store, activity)
    store.execute(REMOVE_SQL, [activity])


def list_schema_warnings(
    store: DuckDBStore, *, activity: str | None = None, limit: int = 100
) -> list[dict[str, Any]]:
    rows = store.fetch_dicts(WARNINGS_SQL, [activity, activity, limit])
    for row in rows:
        row["reasons"] = json.loads(row["reasons"])
    return rows


def check_stored(
    store: DuckDBStore,
    activity: str,
    *,
    schema: dict[str, Any] | None = None,
    examples: int = CHECK_EXAMPLES_DEFAULT,
) -> dict[str, Any]:
    """Validate the stored events of ``activity`` against its registered schema (or ``schema``).

    Useful after registering a schema on an activity that already has events: ingestion checks
    only new records. Each distinct feature_json text is validated once.
    """
    if schema is None:
        name, text, _mode = registered_schema(store, activity)
    else:
        check_schema(schema, activity=activity)
        name, text = CUSTOM_SCHEMA_NAME, canonical(schema)
    validator = compiled(text)
    checked = failed = 0
    samples: list[dict[str, Any]] = []
    for feature, n, example_id in store.fetchall(STORED_SQL, [activity]):
        checked += n
        errors = violations(validator, json.loads(feature))
        if errors:
            failed += n
            if len(samples) < examples:
                samples.append({"activity_id": example_id, "events": n, "errors": errors})
    return {
        "activity": activity,
        "schema_name": name,
        "events": checked,
        "violations": failed,
        "examples": samples,
    }
