"""Typed views over the spec's three feature_json patterns, for DuckDB and Snowflake.

A view is a fixed list of ``(column, key, kind)`` taken from the spec's Feature JSON Patterns; its
rows are the events whose feature_json carries the pattern's *marker* keys (for ``tool_executions``
both ``tool_name`` and ``result_type``). Each column is a *safe cast* of one top-level key:

- ``text``: a JSON string; any other non-null JSON value becomes NULL.
- ``number``: a JSON number, or a string that parses as a number; finite only (DOUBLE / FLOAT).
- ``integer``: like ``number`` but the value must be integral (BIGINT / NUMBER(38,0)).
- ``boolean``: JSON true/false, or the strings "true"/"false" (any case).
- ``json``: the value as is (never fails).

A value that is present and not JSON null but fails its cast becomes NULL and is *counted*
(``cast_failures_sql``), never an error. The keys and column names come only from the constants
below, so no user text ever reaches the generated SQL.
"""

from __future__ import annotations

from dataclasses import dataclass

TEXT, NUMBER, INTEGER, BOOLEAN, JSON = "text", "number", "integer", "boolean", "json"
KINDS = (TEXT, NUMBER, INTEGER, BOOLEAN, JSON)

# Columns every typed view starts with, straight from the activities table.
BASE_COLUMNS = (
    "activity_id",
    "ts",
    "activity",
    "customer",
    "anonymous_customer_id",
    "activity_occurrence",
)

# Anything beyond this magnitude (and NaN, which sorts above every number) is not a finite value.
FINITE_LIMIT = "1e308"
INTEGER_LIMIT = "9.2e18"


@dataclass(frozen=True)
class TypedView:
    """One view: its name, the spec pattern, the marker keys and the typed columns."""

    name: str
    pattern: str
    markers: tuple[str, ...]
    columns: tuple[tuple[str, str], ...]  # (key, kind); the column is named after the key

    def kind_of(self, key: str) -> str:
        return dict(self.columns)[key]


TYPED_VIEWS: tuple[TypedView, ...] = (
    TypedView(
        name="tool_executions",
        pattern="tool_execution",
        markers=("tool_name", "result_type"),
        columns=(
            ("tool_name", TEXT),
            ("result_type", TEXT),
            ("duration_ms", NUMBER),
            ("tokens_used", INTEGER),
            ("error_message", TEXT),
            ("parameters", JSON),
        ),
    ),
    TypedView(
        name="user_interactions",
        pattern="user_interaction",
        markers=("interaction_type",),
        columns=(
            ("interaction_type", TEXT),
            ("element_id", TEXT),
            ("page_url", TEXT),
            ("session_duration_ms", INTEGER),
            ("device_type", TEXT),
        ),
    ),
    TypedView(
        name="system_events",
        pattern="system_event",
        markers=("event_type",),
        columns=(
            ("event_type", TEXT),
            ("version", TEXT),
            ("environment", TEXT),
            ("deployment_id", TEXT),
            ("rollback", BOOLEAN),
            ("duration_seconds", NUMBER),
        ),
    ),
)

VIEWS_BY_NAME = {v.name: v for v in TYPED_VIEWS}


# -- rendering ------------------------------------------------------------------------------------
# A view is two stages: ``raw`` reads each key (numbers as DOUBLE), the outer SELECT keeps finite and,
# for integers, integral values. Only engine constants are formatted into the SQL.
@dataclass(frozen=True)
class _Dialect:
    value: str  # how to read a key: {key}
    raw_text: str  # {v}: a JSON string, else NULL
    raw_number: str  # {v}: a number or numeric string as a double, else NULL
    raw_boolean: str  # {v}: true/false or "true"/"false", else NULL
    present: str  # {v}: present and not JSON null
    marker: str  # {v}: the key exists
    to_integer: str  # {c}: an integral finite double as an integer
    count_if: str  # {c}: count rows where {c}


DUCKDB = _Dialect(
    value="json_extract(feature_json, '$.\"{key}\"')",
    raw_text="CASE WHEN json_type({v}) = 'VARCHAR' THEN json_extract_string({v}, '$') END",
    raw_number=(
        "CASE WHEN json_type({v}) IN ('BIGINT', 'UBIGINT', 'DOUBLE', 'VARCHAR') "
        "THEN TRY_CAST(trim(json_extract_string({v}, '$')) AS DOUBLE) END"
    ),
    raw_boolean=(
        "CASE WHEN json_type({v}) = 'BOOLEAN' THEN json_extract_string({v}, '$') = 'true' "
        "WHEN json_type({v}) = 'VARCHAR' AND lower(trim(json_extract_string({v}, '$'))) IN ('true', 'false') "
        "THEN lower(trim(json_extract_string({v}, '$'))) = 'true' END"
    ),
    present="coalesce(json_type({v}) <> 'NULL', false)",
    marker="{v} IS NOT NULL",
    to_integer="CAST({c} AS BIGINT)",
    count_if="count(*) FILTER (WHERE {c})",
)

SNOWFLAKE = _Dialect(
    value='feature_json:"{key}"',
    raw_text="CASE WHEN TYPEOF({v}) = 'VARCHAR' THEN {v}::STRING END",
    raw_number=(
        "CASE WHEN TYPEOF({v}) IN ('INTEGER', 'DECIMAL', 'DOUBLE', 'VARCHAR') "
        "THEN TRY_TO_DOUBLE(TRIM({v}::STRING)) END"
    ),
    raw_boolean=(
        "CASE WHEN TYPEOF({v}) = 'BOOLEAN' THEN {v}::BOOLEAN "
        "WHEN TYPEOF({v}) = 'VARCHAR' AND LOWER(TRIM({v}::STRING)) IN ('true', 'false') "
        "THEN LOWER(TRIM({v}::STRING)) = 'true' END"
    ),
    present="COALESCE(TYPEOF({v}) <> 'NULL_VALUE', FALSE)",
    marker="{v} IS NOT NULL",
    to_integer="{c}::NUMBER(38, 0)",
    count_if="COUNT_IF({c})",
)

DIALECTS = {"duckdb": DUCKDB, "snowflake": SNOWFLAKE}


def _value(d: _Dialect, key: str) -> str:
    return d.value.format(key=key)


def _raw(d: _Dialect, key: str, kind: str) -> str:
    v = _value(d, key)
    if kind == TEXT:
        return d.raw_text.format(v=v)
    if kind in (NUMBER, INTEGER):
        return d.raw_number.format(v=v)
    if kind == BOOLEAN:
        return d.raw_boolean.format(v=v)
    return v


def _final(d: _Dialect, key: str, kind: str) -> str:
    if kind == NUMBER:
        return f"CASE WHEN abs({key}) < {FINITE_LIMIT} THEN {key} END"
    if kind == INTEGER:
        whole = d.to_integer.format(c=key)
        return f"CASE WHEN abs({key}) < {INTEGER_LIMIT} AND {key} = floor({key}) THEN {whole} END"
    return ""


def view_sql(view: TypedView, dialect: str = "duckdb") -> str:
    """``CREATE OR REPLACE VIEW`` text of one typed view for ``dialect`` (duckdb or snowflake)."""
    d = DIALECTS[dialect]
    raw = [f"        {c}" for c in BASE_COLUMNS]
    raw += [f"        {_raw(d, key, kind)} AS {key}" for key, kind in view.columns]
    raw.append("        feature_json")
    out = [f"    {c}" for c in BASE_COLUMNS]
    out += [
        f"    {_final(d, key, kind) or key}" + (f" AS {key}" if _final(d, key, kind) else "")
        for key, kind in view.columns
    ]
    out.append("    feature_json")
    where = " AND ".join(d.marker.format(v=_value(d, k)) for k in view.markers)
    return (
        f"CREATE OR REPLACE VIEW {view.name} AS\nSELECT\n"
        + ",\n".join(out)
        + "\nFROM (\n    SELECT\n"
        + ",\n".join(raw)
        + f"\n    FROM activities\n    WHERE {where}\n) raw"
    )


def cast_failures_sql(view: TypedView, dialect: str = "duckdb") -> str:
    """One row over the view: ``row_count``, then per cast column the present values that became NULL."""
    d = DIALECTS[dialect]
    parts = ["count(*) AS row_count"]
    for key, kind in view.columns:
        if kind == JSON:
            continue
        present = d.present.format(v=_value(d, key))
        parts.append(f"{d.count_if.format(c=f'{present} AND {key} IS NULL')} AS {key}")
    return f"SELECT {', '.join(parts)}\nFROM {view.name}"


def duckdb_views_ddl() -> dict[str, str]:
    """``{view name: CREATE OR REPLACE VIEW ...}`` for DuckDB."""
    return {v.name: view_sql(v, "duckdb") for v in TYPED_VIEWS}


def snowflake_typed_views_ddl() -> list[str]:
    """The CREATE OR REPLACE VIEW statements for Snowflake, one per typed view."""
    return [view_sql(v, "snowflake") for v in TYPED_VIEWS]
