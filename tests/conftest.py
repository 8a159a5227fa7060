"""Shared fixtures: a real DuckDB file per test, event builders and declarative timelines."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from activityschema.store.duckdb import DuckDBStore

NOW = datetime(2026, 6, 1, 12, 0, 0)


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "test.duckdb"


@pytest.fixture
def store(db_path: Path):
    s = DuckDBStore(db_path)
    yield s
    s.close()


def uid(n: int) -> str:
    """A stable, readable UUID for test number n."""
    return str(uuid.UUID(int=n, version=4))


def event(activity: str, ts: str | datetime, customer: str | None = "c1", n: int | None = None, **extra: Any) -> dict[str, Any]:
    rec: dict[str, Any] = {"activity": activity, "ts": ts if isinstance(ts, str) else ts.isoformat()}
    if customer is not None:
        rec["customer"] = customer
    if n is not None:
        rec["activity_id"] = uid(n)
    rec.update(extra)
    return rec


def timeline(spec: dict[str, list[tuple[str, str]]], start_id: int = 1) -> list[dict[str, Any]]:
    """Events from {customer: [(activity, ts), ...]} with sequential stable ids."""
    out, n = [], start_id
    for customer, items in spec.items():
        for activity, ts in items:
            out.append(event(activity, ts, customer, n))
            n += 1
    return out


def minutes(base: datetime, m: float) -> str:
    return (base + timedelta(minutes=m)).isoformat()


# Parametrized over DuckDB and Snowflake (fakesnow): see tests/backends.py.
from tests.backends import any_store, backend, backend_store, module_snowflake_store  # noqa: E402,F401
