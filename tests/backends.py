"""Stores for tests that must hold on every backend: a DuckDB file, and Snowflake via fakesnow.

``any_store`` is parametrized over ``BACKENDS``; a test that uses it runs once per backend and must
see identical results. The Snowflake store talks to the fakesnow emulator through the real
connector API (``SnowflakeStore(connect=FakeSnow().connect)``); no live account is used.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from activityschema.store.duckdb import DuckDBStore

BACKENDS = ("duckdb", "snowflake")
TEST_DATABASE = "ASTEST"
# sqlglot logs "Unsupported property" while fakesnow translates CLUSTER BY; it is expected noise.
logging.getLogger("sqlglot").setLevel(logging.ERROR)


def snowflake_config(**overrides: Any):
    from activityschema.store.snowflake_config import SnowflakeConfig

    values = {"account": "test-account", "user": "tester", "database": TEST_DATABASE,
              "password": "not-a-real-secret", **overrides}
    return SnowflakeConfig(**values)


@contextmanager
def fake_snowflake(**fakesnow_options: Any) -> Iterator[Any]:
    """A fresh in-memory fakesnow instance (one emulated account)."""
    from fakesnow.instance import FakeSnow

    fs = FakeSnow(**fakesnow_options)
    try:
        yield fs
    finally:
        fs.duck_conn.close()


@contextmanager
def open_test_store(kind: str, tmp_path: Path) -> Iterator[Any]:
    if kind == "duckdb":
        store = DuckDBStore(tmp_path / "test.duckdb")
        try:
            yield store
        finally:
            store.close()
        return
    from activityschema.store.snowflake import SnowflakeStore

    with fake_snowflake() as fs:
        store = SnowflakeStore(snowflake_config(), connect=fs.connect)
        try:
            yield store
        finally:
            store.close()


@pytest.fixture(params=BACKENDS)
def any_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    with open_test_store(request.param, tmp_path) as store:
        yield store


def as_list(value: Any) -> Any:
    """An ARRAY column as a list (fakesnow reports ARRAY columns as VARIANT text)."""
    return json.loads(value) if isinstance(value, str) else value
