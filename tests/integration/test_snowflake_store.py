"""The Snowflake store on the fakesnow emulator: schema, reads, writes, tags, errors, the registry."""

from __future__ import annotations

import json
from datetime import datetime

import pytest

from activityschema.errors import StoreError, UnsupportedFeature
from activityschema.ingest.importer import ingest_records
from activityschema.store.backend import Backend, open_backend, tagged
from activityschema.store.snowflake import SnowflakeStore
from tests.backends import TEST_DATABASE, fake_snowflake, snowflake_config
from tests.conftest import NOW, event

TABLES = {"activities", "rejected_activities", "identity_map", "load_batches", "touched_actors", "schema_meta"}


class RecordingCursor:
    """The driver's cursor, recording each statement and the statement parameters sent with it."""

    def __init__(self, cursor, log):
        self._cursor, self._log = cursor, log

    def execute(self, sql, params=None, **kwargs):
        self._log.append((sql, kwargs.get("_statement_params")))
        self._cursor.execute(sql, params, **kwargs)
        return self

    def executemany(self, sql, rows, **kwargs):
        self._log.append((sql, kwargs.get("_statement_params")))
        self._cursor.executemany(sql, rows, **kwargs)
        return self

    def __getattr__(self, name):
        return getattr(self._cursor, name)


class RecordingConnection:
    def __init__(self, connection, log):
        self._connection, self._log = connection, log

    def cursor(self, *args, **kwargs):
        return RecordingCursor(self._connection.cursor(*args, **kwargs), self._log)

    def __getattr__(self, name):
        return getattr(self._connection, name)


@pytest.fixture
def fs():
    with fake_snowflake() as instance:
        yield instance


@pytest.fixture
def sf(fs):
    store = SnowflakeStore(snowflake_config(), connect=fs.connect)
    yield store
    store.close()


def test_opening_creates_every_table_once_and_records_the_version(fs, sf):
    names = {r[0] for r in sf.fetchall("SELECT lower(table_name) FROM information_schema.tables "
                                       "WHERE table_schema = current_schema()")}
    assert TABLES <= names
    assert sf.schema_version() == 1 and sf.dialect == "snowflake" and isinstance(sf, Backend)
    again = SnowflakeStore(snowflake_config(), connect=fs.connect)
    try:
        assert again.fetchone("SELECT count(*) FROM schema_meta")[0] == 1
    finally:
        again.close()


def test_results_look_like_duckdb_results(sf):
    ingest_records(sf, [event("order_completed", "2026-01-01T10:00:00.250Z", "c1", 1, revenue_impact=12.5,
                              feature_json={"plan": "pro", "items": [1, 2]})], now=NOW)
    row = sf.fetch_dicts("SELECT activity_id, ts, feature_json, revenue_impact, activity_occurrence, "
                         "avg(revenue_impact) OVER () AS avg_revenue FROM activities")[0]
    assert row["ts"] == datetime(2026, 1, 1, 10, 0, 0, 250000)
    assert json.loads(row["feature_json"]) == {"plan": "pro", "items": [1, 2]}
    assert (row["revenue_impact"], row["activity_occurrence"], row["avg_revenue"]) == (12.5, 1, 12.5)
    table = sf.fetch_arrow("SELECT activity, count(*) AS n FROM activities GROUP BY activity")
    assert table.column_names == ["activity", "n"] and table.to_pylist() == [{"activity": "order_completed", "n": 1}]
    nulls = sf.fetch_arrow("SELECT anonymous_customer_id, link, ts FROM activities")
    assert [str(t) for t in nulls.schema.types] == ["string", "string", "timestamp[us]"]


def test_every_statement_carries_a_query_tag_and_templates_add_their_hash(fs):
    log = []
    store = SnowflakeStore(snowflake_config(), connect=lambda **kw: RecordingConnection(fs.connect(**kw), log))
    try:
        ingest_records(store, [event("visited_page", "2026-01-01T00:00:00Z", "c1", 1)], now=NOW)
        assert log and all(params == {"QUERY_TAG": "activityschema"} for _, params in log)
        log.clear()
        with tagged(store, "funnel", "0123456789abcdef") as tag:
            store.fetchall("SELECT count(*) FROM activities WHERE activity = ?", ["visited_page"])
        assert json.loads(tag) == {"app": "activityschema", "template": "funnel", "query_hash": "0123456789abcdef"}
        assert log == [("SELECT COUNT(*) FROM activities WHERE activity = ?", {"QUERY_TAG": tag})]
        store.fetchall("SELECT 1")
        assert log[-1][1] == {"QUERY_TAG": "activityschema"}
    finally:
        store.close()


def test_a_failed_write_rolls_back_and_driver_errors_are_store_errors(sf):
    with pytest.raises(StoreError, match="NO_SUCH_TABLE"), sf.write() as s:
        s.execute("INSERT INTO schema_meta (key, value) VALUES ('probe', 'x')")
        s.execute("INSERT INTO no_such_table VALUES (1)")
    assert sf.fetchone("SELECT count(*) FROM schema_meta WHERE key = 'probe'")[0] == 0
    with pytest.raises(StoreError, match="Query failed") as info:
        sf.fetchall("SELECT no_such_column FROM activities")
    assert info.value.details["sql"].startswith("SELECT no_such_column")
    with pytest.raises(UnsupportedFeature, match="ad-hoc SQL"):
        sf.cursor()


def test_read_only_store_refuses_writes_and_creates_nothing(fs):
    store = SnowflakeStore(snowflake_config(), connect=fs.connect, read_only=True)
    try:
        with pytest.raises(StoreError, match="read-only"), store.write():
            pass
        tables = store.fetchall("SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()")
        assert tables == []
    finally:
        store.close()


def test_one_setting_switches_the_backend(fs):
    env = {"ACTIVITYSCHEMA_BACKEND": "snowflake", "ACTIVITYSCHEMA_SNOWFLAKE_ACCOUNT": "acme",
           "ACTIVITYSCHEMA_SNOWFLAKE_USER": "loader", "ACTIVITYSCHEMA_SNOWFLAKE_DATABASE": TEST_DATABASE,
           "ACTIVITYSCHEMA_SNOWFLAKE_PASSWORD": "not-a-real-secret"}
    store = open_backend(env=env, connect=fs.connect)
    try:
        assert store.dialect == "snowflake" and store.path == f"snowflake://acme/{TEST_DATABASE}/PUBLIC"
        assert ingest_records(store, [event("visited_page", "2026-01-01T00:00:00Z")], now=NOW).accepted == 1
    finally:
        store.close()


def test_connection_failures_name_the_account_but_not_the_secret():
    def refuse(**kwargs):
        import snowflake.connector.errors

        raise snowflake.connector.errors.DatabaseError(msg="Incorrect username or password was specified.")

    with pytest.raises(StoreError, match="Cannot connect to snowflake://test-account/ASTEST/PUBLIC as user "
                                         "'tester' \\(password auth\\)") as info:
        SnowflakeStore(snowflake_config(), connect=refuse)
    assert info.value.code == "store_unavailable" and "not-a-real-secret" not in str(info.value)
