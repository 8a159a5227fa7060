"""Portable SQL rendered per dialect: golden cases in tests/golden/snowflake_transpile.json."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from activityschema.errors import ConfigError, QueryError, UnsupportedFeature
from activityschema.sql import get_dialect, transpile
from activityschema.sql.dialect import bind_named

CASES = json.loads((Path(__file__).parents[1] / "golden" / "snowflake_transpile.json").read_text())


@pytest.mark.parametrize("case", CASES, ids=[c["case"] for c in CASES])
def test_snowflake_rendering(case):
    if "unsupported" in case:
        with pytest.raises(UnsupportedFeature, match=case["unsupported"]) as info:
            transpile(case["sql"], to="snowflake")
        assert info.value.dialect == "snowflake"
    else:
        assert transpile(case["sql"], to="snowflake") == case["snowflake"]


def test_duckdb_rendering_is_the_portable_text_itself():
    sql = "SELECT my_macro(ts) FROM activities ASOF JOIN x ON a = b AND c >= d"
    assert transpile(sql, to="duckdb") == sql


def test_unknown_dialect_suggests_the_closest():
    with pytest.raises(ConfigError, match="Unknown dialect 'snowflak'. Did you mean 'snowflake'?"):
        get_dialect("snowflak")


def test_unparsable_sql_is_a_query_error():
    with pytest.raises(QueryError, match="does not parse"):
        transpile("SELECT FROM WHERE (", to="snowflake")


def test_capability_flags_and_identifier_quoting():
    snow = get_dialect("snowflake")
    assert snow.SUPPORTS_ASOF_JOIN and snow.SUPPORTS_QUALIFY and snow.MERGE_STYLE == "merge"
    assert snow.quote("activities") == "activities"
    with pytest.raises(QueryError, match="not a valid identifier"):
        snow.quote("activities; DROP TABLE x")


def test_named_parameters_become_numbered_binds():
    snow = get_dialect("snowflake")
    text, names = snow.transpile_named("SELECT * FROM activities WHERE activity = $a AND ts >= $since AND customer <> $a")
    assert text == "SELECT * FROM activities WHERE activity = :1 AND ts >= :2 AND customer <> :1"
    assert names == ("a", "since")
    assert bind_named(names, {"a": "x_y", "since": 1}) == ["x_y", 1]
    with pytest.raises(QueryError, match="Missing value for parameter"):
        bind_named(names, {"a": "x_y"})
    with pytest.raises(QueryError, match="not both"):
        snow.transpile_named("SELECT * FROM t WHERE a = $a AND b = ?")


def test_numbered_binds_do_not_depend_on_clause_order():
    # A positional LIMIT ? may be numbered before WHERE by the database; :n never is.
    text, names = get_dialect("snowflake").transpile_named("SELECT * FROM activities WHERE ts >= $since LIMIT $limit")
    assert text == f"SELECT * FROM activities WHERE ts >= :{names.index('since') + 1} LIMIT :{names.index('limit') + 1}"


def test_list_parameter_membership_becomes_in_flatten():
    text, names = get_dialect("snowflake").transpile_named(
        "SELECT * FROM activities WHERE list_contains($names, activity)", lists=frozenset({"names"}))
    assert text == ("SELECT * FROM activities WHERE activity IN "
                    "(SELECT CAST(value AS VARCHAR) FROM TABLE(FLATTEN(INPUT => PARSE_JSON(:1))))")
    assert names == ("names",)


def test_list_parameter_elsewhere_is_parsed_json_and_scalars_stay():
    text, _ = get_dialect("snowflake").transpile_named(
        "SELECT list_contains(done, $step), $names AS n FROM t", lists=frozenset({"names"}))
    assert text == "SELECT ARRAY_CONTAINS(CAST(:1 AS VARIANT), done), PARSE_JSON(:2) AS n FROM t"


def test_epoch_us_becomes_date_part():
    assert transpile("SELECT epoch_us(ts) - epoch_us(prev_ts) FROM t", to="snowflake") == (
        "SELECT DATE_PART(EPOCH_MICROSECOND, ts) - DATE_PART(EPOCH_MICROSECOND, prev_ts) FROM t")


def test_a_placeholder_inside_a_list_membership_is_numbered_too():
    text, names = get_dialect("snowflake").transpile_named(
        "SELECT 1 FROM t WHERE a = $a AND list_contains($vals, json_extract_string(f, $path)) AND b >= $b",
        lists=frozenset({"vals"}))
    assert names == ("a", "vals", "path", "b")
    assert ":path" not in text and "JSON_EXTRACT_PATH_TEXT(f, :3) IN" in text and "b >= :4" in text


def test_timestamp_plus_to_microseconds_becomes_dateadd():
    assert transpile("SELECT ts + to_microseconds(5), ts - to_microseconds(n + 1), to_microseconds(2) + ts FROM t",
                     to="snowflake") == ("SELECT DATEADD(MICROSECOND, 5, ts), DATEADD(MICROSECOND, -(n + 1), ts), "
                                         "DATEADD(MICROSECOND, 2, ts) FROM t")
    with pytest.raises(UnsupportedFeature, match="to_microseconds"):
        transpile("SELECT min(ts) OVER (ORDER BY ts RANGE BETWEEN CURRENT ROW AND to_microseconds(5) FOLLOWING) "
                  "FROM t", to="snowflake")


def test_try_cast_stays_a_try_cast_of_text_and_infinity_is_finite():
    assert transpile("SELECT TRY_CAST(json_extract_string(f, '$.a') AS DOUBLE), TRY_CAST(customer AS DOUBLE) FROM t",
                     to="snowflake") == ("SELECT TRY_CAST(CAST(JSON_EXTRACT_PATH_TEXT(f, 'a') AS VARCHAR) AS DOUBLE), "
                                         "TRY_CAST(CAST(customer AS VARCHAR) AS DOUBLE) FROM t")
    assert transpile("SELECT CAST('infinity' AS TIMESTAMP)", to="snowflake") == (
        "SELECT CAST('9999-12-31 23:59:59.999999' AS TIMESTAMPNTZ)")
