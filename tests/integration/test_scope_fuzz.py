"""Row scope and injection, fuzzed over *every* registered template (today's and those added later).

Oracle for the scope: store A holds everyone; store B is A with every row of out-of-scope actors
removed from each per-customer table. A scoped run on A must give exactly what an unrestricted run on
B gives (rows, aggregates, drill-downs, provenance re-runs), or be refused. Parameters are generated
from each template's own parameter model, seeded with injection strings.
"""

from __future__ import annotations

import enum
import json
import shutil
import subprocess
import sys
import types
import typing
from pathlib import Path
from datetime import date, datetime
from typing import Any, Literal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from activityschema.analytics.runner import SCOPED_TABLES, Scope, rerun, run_template
from activityschema.errors import ActivitySchemaError, PermissionDenied, StoreError
from activityschema.ingest.importer import ingest_records
from activityschema.provenance import chain
from activityschema.sql.templates import list_templates
from activityschema.store.duckdb import DuckDBStore
from tests.conftest import NOW, event

IN_CUST, IN_ANON = "in-cust-1", "in-anon-1"
OUT_CUST, OUT_ANON, LONE_ANON = "out-cust-2", "out-anon-2", "lone-anon-3"
OUT_SECRET = "OUT-SECRET-FEATURE"
OUT_TOKENS = (OUT_CUST, OUT_ANON, LONE_ANON, OUT_SECRET)
SCOPE = Scope(frozenset({IN_CUST}))
INJECTIONS = [
    "' OR '1'='1", f"{IN_CUST}' OR customer <> '", "x'); DROP TABLE activities; --", OUT_CUST, IN_CUST, OUT_ANON,
    "$__scope_actors", "%", "*", "\\", "' UNION SELECT customer, 1 FROM main.activities --", '"; SELECT 1; --',
    "page_viewed", "order_completed", "plan", "", "NULL", "0 OR 1=1", "main.activities", "activities",
    "in-cust-1\x00", "invalid_ts",
]
BAD_STORE_ERRORS = ("Parser Error", "Catalog Error", "Binder Error", "syntax error")


# Templates of every shape (tests/scope_templates.py) join whatever the registry holds.
import tests.scope_templates  # noqa: E402,F401


# -- the two stores ---------------------------------------------------------------------------------------
def stream() -> list[dict[str, Any]]:
    return [
        event("page_viewed", "2026-01-01T00:00:00Z", None, 1, anonymous_customer_id=IN_ANON, feature_json={"plan": "free"}),
        event("user_signed_up", "2026-01-01T00:05:00Z", IN_CUST, 2, anonymous_customer_id=IN_ANON, feature_json={"plan": "pro"}),
        event("order_completed", "2026-01-02T00:00:00Z", IN_CUST, 3, revenue_impact=10.0),
        event("page_viewed", "2026-01-03T00:00:00Z", IN_CUST, 4),
        event("page_viewed", "2026-01-01T00:00:00Z", None, 5, anonymous_customer_id=OUT_ANON, feature_json={"plan": OUT_SECRET}),
        event("user_signed_up", "2026-01-01T01:00:00Z", OUT_CUST, 6, anonymous_customer_id=OUT_ANON, feature_json={"plan": "zzz"}),
        event("order_completed", "2026-01-02T00:00:00Z", OUT_CUST, 7, revenue_impact=99.0),
        event("page_viewed", "2026-01-04T00:00:00Z", None, 8, anonymous_customer_id=LONE_ANON),
        event("page_viewed", "oops", IN_CUST, 9),
        event("page_viewed", "oops", OUT_CUST, 10, feature_json={"k": OUT_SECRET}),
    ]


@pytest.fixture(scope="module")
def stores(tmp_path_factory):
    base = tmp_path_factory.mktemp("scope")
    a_path, b_path = base / "a.duckdb", base / "b.duckdb"
    with DuckDBStore(a_path) as a:
        ingest_records(a, stream(), now=NOW)
        chain.record(a, template_name="fuzz_customer_events", query_text="SELECT 1", params={"customer": OUT_CUST},
                     created_by="t", now=NOW)
    shutil.copy(a_path, b_path)
    with DuckDBStore(b_path) as b:
        tables = {r[0] for r in b.fetchall("SELECT table_name FROM information_schema.tables WHERE table_schema = 'main'")}
        for table, actor in SCOPED_TABLES.items():
            if table in tables:
                b.execute(f"DELETE FROM {table} WHERE NOT coalesce(list_contains($keep, {actor}), false)",
                          {"keep": sorted(SCOPE.actors or ())})
    a, b = DuckDBStore(a_path), DuckDBStore(b_path)
    checksum = a.fetchone("SELECT count(*), sum(hash(activity_id || customer)) FROM activities")
    yield a, b
    assert a.fetchone("SELECT count(*), sum(hash(activity_id || customer)) FROM activities") == checksum
    a.close()
    b.close()


# -- parameters from a template's own model ---------------------------------------------------------------
TEXT = st.one_of(st.sampled_from(INJECTIONS), st.text(max_size=12))


def strategy_for(annotation: Any) -> st.SearchStrategy[Any]:
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if annotation is str:
        return TEXT
    if annotation is bool:
        return st.booleans()
    if annotation is int:
        return st.one_of(st.integers(-3, 12), st.integers(-(2**40), 2**40))
    if annotation is float:
        return st.floats(allow_nan=False, allow_infinity=False, width=32)
    if annotation is datetime:
        return st.datetimes(min_value=datetime(2025, 6, 1), max_value=datetime(2026, 6, 1))
    if annotation is date:
        return st.dates(min_value=date(2025, 6, 1), max_value=date(2026, 6, 1))
    if annotation is type(None):
        return st.none()
    if origin is Literal:
        return st.sampled_from(args)
    if origin is typing.Annotated:
        return strategy_for(args[0])
    if origin in (typing.Union, types.UnionType):
        return st.one_of(*[strategy_for(a) for a in args])
    if origin in (list, tuple, set, frozenset):
        return st.lists(strategy_for(args[0] if args else str), max_size=4)
    if origin is dict:
        return st.dictionaries(TEXT, st.one_of(TEXT, st.integers(0, 5)), max_size=3)
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return st.sampled_from([m.value for m in annotation])
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return model_strategy(annotation)
    return st.one_of(TEXT, st.integers(0, 5), st.none())


def model_strategy(model: type[BaseModel]) -> st.SearchStrategy[dict[str, Any]]:
    required = {n: strategy_for(f.annotation) for n, f in model.model_fields.items() if f.is_required()}
    optional = {n: strategy_for(f.annotation) for n, f in model.model_fields.items() if not f.is_required()}
    return st.fixed_dictionaries(required, optional=optional).map(lambda d: json.loads(json.dumps(d, default=str)))


# -- outcomes ---------------------------------------------------------------------------------------------
def _norm(value: Any) -> Any:
    if isinstance(value, float):
        return round(value, 9)
    return value


def outcome(fn) -> tuple[str, Any]:  # type: ignore[no-untyped-def]
    try:
        result = fn()
    except PermissionDenied as exc:
        return "refused", exc.code
    except StoreError as exc:
        return "store_error", exc.message.splitlines()[0]
    except ActivitySchemaError as exc:
        return "invalid", exc.code
    rows = sorted(json.dumps({k: _norm(v) for k, v in r.items()}, sort_keys=True, default=str) for r in result.rows())
    return "ok", (result.query_hash, rows)


def leaks(rows: list[str], params: dict[str, Any]) -> list[str]:
    echoed = json.dumps(params)
    return [t for t in OUT_TOKENS if t not in echoed and any(t in r for r in rows)]


@pytest.mark.parametrize("name", [t.name for t in list_templates()])
def test_scoped_runs_see_only_in_scope_rows_and_injection_is_harmless(stores, name):
    a, b = stores
    template = next(t for t in list_templates() if t.name == name)

    @settings(max_examples=15, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                    HealthCheck.too_slow])
    @given(params=model_strategy(template.params))
    def check(params: dict[str, Any]) -> None:
        scoped = outcome(lambda: run_template(a, name, params, scope=SCOPE))
        oracle = outcome(lambda: run_template(b, name, params))
        unrestricted = outcome(lambda: run_template(a, name, params))
        for kind, detail in (scoped, oracle, unrestricted):
            assert kind != "store_error" or not any(s in detail for s in BAD_STORE_ERRORS), detail
        if scoped[0] == "refused":
            return
        assert scoped[0] == oracle[0]
        if scoped[0] == "ok":
            assert scoped[1] == oracle[1]
            assert leaks(scoped[1][1], params) == []
            again = outcome(lambda: rerun(a, scoped[1][0], scope=SCOPE))
            assert again == scoped or again[0] == "invalid"  # a re-run may refuse a changed template

    check()


def test_tables_without_row_scope_are_refused_for_scoped_keys(stores):
    a, _ = stores
    with pytest.raises(PermissionDenied, match="provenance_chain"):
        run_template(a, "fuzz_provenance", {"template": "fuzz_customer_events"}, scope=SCOPE)
    assert run_template(a, "fuzz_provenance", {"template": "fuzz_customer_events"}).rows()  # unrestricted: fine


def test_tenant_scope(tmp_path):
    with DuckDBStore(tmp_path / "t.duckdb") as s:
        ingest_records(s, [event("page_viewed", "2026-01-01T00:00:00Z", "c1", 1, feature_json={"tenant_id": "t1"}),
                           event("page_viewed", "2026-01-02T00:00:00Z", "c2", 2, feature_json={"tenant_id": "t2"}),
                           event("order_completed", "2026-01-03T00:00:00Z", "c1", 3, revenue_impact=5.0)], now=NOW)
        tenant = run_template(s, "fuzz_totals", {}, scope=Scope(tenant="t1")).rows()
        assert tenant == [{"events": 1, "actors": 1, "revenue": None}]
        both = run_template(s, "fuzz_totals", {}, scope=Scope(frozenset({"c2"}), tenant="t1")).rows()
        assert both[0]["events"] == 0


# The CLI, in a real subprocess, with the fixture templates registered first (as a plugin would).
CLI = [sys.executable, "-c", "import sys, tests.scope_templates; from activityschema.interfaces.cli import main; "
       "sys.argv[0] = 'activityschema'; main()"]


def test_cli_template_run_honours_scope_and_audits(tmp_path):
    db = str(tmp_path / "cli.duckdb")
    with DuckDBStore(db) as s:
        ingest_records(s, stream(), now=NOW)
    root = str(Path(__file__).resolve().parents[2])
    run = lambda *args: subprocess.run([*CLI, *args, "--db", db], capture_output=True, text=True, timeout=120, cwd=root)  # noqa: E731
    out = run("template", "run", "fuzz_customer_events", "--params", json.dumps({"customer": OUT_CUST}), "--scope", IN_CUST, "--json")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["rows"] == []
    out = run("template", "run", "fuzz_totals", "--scope", IN_CUST, "--json")
    totals = json.loads(out.stdout)
    assert totals["rows"] == [{"events": 4, "actors": 1, "revenue": 10.0}]
    again = run("template", "rerun", totals["query_hash"], "--scope", IN_CUST, "--json")
    assert json.loads(again.stdout)["rows"] == totals["rows"]
    refused = run("template", "run", "fuzz_provenance", "--params", '{"template": "x"}', "--scope", IN_CUST)
    assert refused.returncode == 1 and refused.stderr.startswith("error [scope_violation]")
    with DuckDBStore(db) as s:
        actions = [r[0] for r in s.fetchall("SELECT action FROM audit_log ORDER BY seq")]
        assert actions == ["query", "query", "rerun", "query_refused"]
        assert s.fetchone("SELECT count(*) FROM activities")[0] == 8
