"""Run a named template: validate, render, scope, record provenance, execute, return with its hash.

This is the only way analytics reach the store, so every answer is explainable (its SQL and
parameters) and reproducible (``rerun(hash)``), and a row scope (governance) applies to every
template alike.
"""

from __future__ import annotations

import functools
import json
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa
import sqlglot
from sqlglot import exp

from ..errors import PermissionDenied, UnsupportedFeature, ValidationError
from ..provenance import chain
from ..sql.templates import (
    PLACEHOLDER_RE,
    Builder,
    Params,
    Template,
    check_sql_is_parameterized,
    get_template,
    load_builtin_templates,
    validate_params,
)
from ..store.backend import tagged
from ..store.duckdb import DuckDBStore

SCOPE_PARAM = "__scope_actors"
TENANT_PARAM = "__scope_tenant"
# A tenant scope keeps the events tagged with the tenant in this feature_json key.
TENANT_KEY = "tenant_id"


@dataclass(frozen=True)
class Scope:
    """A row scope: the actors (customer or anonymous ids) a caller may read, and/or a tenant.

    ``actors=None`` and ``tenant=None`` mean everything. With a tenant, a caller sees the events
    whose ``feature_json.tenant_id`` is that tenant, and rows of other per-customer tables only for
    actors that have such events.
    """

    actors: frozenset[str] | None = None
    tenant: str | None = None

    @property
    def unrestricted(self) -> bool:
        return self.actors is None and self.tenant is None


UNRESTRICTED = Scope()

# Tables holding per-customer rows and the expression naming the row's actor; a scoped run sees them
# filtered. A scoped run may read only these, the tables of ``UNSCOPED_TABLES`` (no per-customer
# rows) and its own CTEs; anything else is refused, so a table added later cannot leak by default.
SCOPED_TABLES: dict[str, str] = {
    "activities": "coalesce(customer, anonymous_customer_id)",
    "identity_map": "customer",
    "rejected_activities": "coalesce(try(json_extract_string(payload, '$.customer')), "
                           "try(json_extract_string(payload, '$.anonymous_customer_id')))",
    "touched_actors": "actor",
    "insight_atoms": "customer_id",
    "context_cache": "customer_id",
}
UNSCOPED_TABLES = frozenset({"load_batches", "schema_meta", "retention_policies"})
# Templates whose SQL needs DuckDB constructs with no Snowflake form the dialect layer can write
# (list lambdas, list slicing and positions, struct arg_max, HUGEINT shifts, generate_subscripts):
# on a backend without its own builder for them (``register_dialect_build``) they are refused before
# anything is recorded, never approximated.
DUCKDB_ONLY_TEMPLATES: dict[str, str] = {
    "funnel": "the funnel analysis (it uses DuckDB list lambdas, struct arg_max and INTERVAL arithmetic)",
    "funnel_actors": "the funnel drill-down (it uses DuckDB list lambdas, struct arg_max and INTERVAL arithmetic)",
    "paths": "the paths analysis (it uses DuckDB list literals, slicing and list_position)",
    "paths_actors": "the paths drill-down (it uses DuckDB list literals, slicing and list_position)",
}
_TABLE_FUNCTIONS = (exp.GenerateSeries, exp.Unnest, exp.ExplodingGenerateSeries)
# (template, dialect) -> a builder of the same question in SQL that dialect can run (the DuckDB-only
# templates above get one each for Snowflake: funnels/portable_sql.py, paths/portable_sql.py). The
# template's own SQL is still what is hashed and recorded, so a question hashes the same everywhere.
_DIALECT_BUILDS: dict[tuple[str, str], Builder] = {}


def register_dialect_build(template: str, dialect: str, build: Builder) -> Builder:
    """Give ``template`` its own SQL on ``dialect`` (same parameters, same result columns)."""
    _DIALECT_BUILDS[(template, dialect)] = build
    return build


def dialect_build(template: str, dialect: str) -> Builder | None:
    load_builtin_templates()
    return _DIALECT_BUILDS.get((template, dialect))


def render_for(store: Any, template: Template, params: Params) -> tuple[str, dict[str, Any], str, dict[str, Any]]:
    """(hashed sql, its values, sql to run, its values): the last two differ when the store's dialect
    has its own builder for the template."""
    sql, bind = template.render(params)
    build = dialect_build(template.name, getattr(store, "dialect", "duckdb"))
    if build is None:
        return sql, bind, sql, bind
    run_sql, run_bind = build(params)
    check_sql_is_parameterized(template.name, run_sql, set(run_bind))
    return sql, bind, run_sql, run_bind


@functools.lru_cache(maxsize=1024)
def scoped_tables_of(sql: str) -> tuple[str, ...]:
    """The per-customer tables ``sql`` reads; PermissionDenied if a scoped run could not filter it."""
    try:
        tree = sqlglot.parse_one(PLACEHOLDER_RE.sub("NULL", sql), read="duckdb")
    except sqlglot.errors.ParseError:
        raise PermissionDenied("A scoped key cannot run this query: its SQL cannot be checked for row scope.",
                               code="scope_unverifiable") from None
    ctes = {c.alias_or_name.lower() for c in tree.find_all(exp.CTE)}
    found: set[str] = set()
    for table in tree.find_all(exp.Table):
        if not isinstance(table.this, exp.Identifier):
            if isinstance(table.this, _TABLE_FUNCTIONS):
                continue
            raise PermissionDenied("A scoped key cannot run this query: it reads a table function.", code="scope_violation")
        name = table.name.lower()
        if table.db or table.catalog:
            raise PermissionDenied(f"A scoped key cannot run this query: it names '{table.sql()}' with a schema.",
                                   code="scope_violation")
        if name in ctes and name in SCOPED_TABLES:
            raise PermissionDenied(f"A scoped key cannot run this query: it redefines '{name}'.", code="scope_violation")
        if name in SCOPED_TABLES:
            found.add(name)
        elif name not in ctes and name not in UNSCOPED_TABLES:
            raise PermissionDenied(f"A scoped key cannot run this query: table '{name}' has no row scope.",
                                   code="scope_violation")
    return tuple(sorted(found))


def check_backend(store: Any, template: Template) -> None:
    """Refuse a template the store's dialect cannot run (see ``DUCKDB_ONLY_TEMPLATES``)."""
    dialect = getattr(store, "dialect", "duckdb")
    if dialect != "duckdb" and template.name in DUCKDB_ONLY_TEMPLATES and dialect_build(template.name, dialect) is None:
        raise UnsupportedFeature(dialect, DUCKDB_ONLY_TEMPLATES[template.name])


def base_schema(store: Any) -> str:
    """The schema holding the store's own tables, so a scope CTE can read the table it shadows:
    ``main`` on DuckDB, the configured schema (checked as an identifier) on a warehouse."""
    dialect = getattr(store, "dialect", "duckdb")
    if dialect == "duckdb":
        return "main"
    from ..sql.dialect import get_dialect

    return get_dialect(dialect).quote(store.config.schema)


def _scope_filter(table: str, scope: Scope, base: str = "main") -> str:
    actor = SCOPED_TABLES[table]
    conditions = []
    if scope.actors is not None:
        conditions.append(f"list_contains(${SCOPE_PARAM}, {actor})")
    if scope.tenant is not None:
        tagged = f"json_extract_string(feature_json, '$.{TENANT_KEY}') = ${TENANT_PARAM}"
        conditions.append(tagged if table == "activities" else
                          f"{actor} IN (SELECT coalesce(customer, anonymous_customer_id) FROM {base}.activities WHERE {tagged})")
    return " AND ".join(conditions)


def apply_scope(sql: str, scope: Scope, bind: dict[str, Any], base: str = "main") -> str:
    """Shadow each per-customer table the query reads with a CTE of the same name keeping only
    in-scope rows; refuse queries whose tables cannot be scoped (see ``scoped_tables_of``)."""
    if scope.unrestricted:
        return sql
    tables = scoped_tables_of(sql)
    if scope.actors is not None:
        bind[SCOPE_PARAM] = sorted(scope.actors)
    if scope.tenant is not None:
        bind[TENANT_PARAM] = scope.tenant
    if not tables:
        return sql
    ctes = ", ".join(f"{t} AS (SELECT * FROM {base}.{t} WHERE {_scope_filter(t, scope, base)})" for t in tables)
    body = sql.lstrip()
    if body[:4].upper() == "WITH" and body[4:5].isspace():
        rest = body[4:].lstrip()
        if rest[:9].upper() == "RECURSIVE":
            return f"WITH RECURSIVE {ctes}, {rest[9:].lstrip()}"
        return f"WITH {ctes}, {rest}"
    return f"WITH {ctes} {body}"


@dataclass
class QueryResult:
    template: str
    query_hash: str
    sql: str
    params: dict[str, Any]
    table: pa.Table
    collision: bool = False
    meta: dict[str, Any] = field(default_factory=dict)

    def rows(self) -> list[dict[str, Any]]:
        return self.table.to_pylist()

    def to_dict(self, *, max_rows: int | None = None) -> dict[str, Any]:
        rows = self.rows()
        truncated = max_rows is not None and len(rows) > max_rows
        return {
            "template": self.template,
            "query_hash": self.query_hash,
            "params": self.params,
            "row_count": len(rows),
            "rows": rows[:max_rows] if truncated else rows,
            "truncated": truncated,
            "provenance_collision": self.collision,
            **self.meta,
        }


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def execute(store: DuckDBStore, template: Template, params: Params, *, created_by: str = "library",
            scope: Scope = UNRESTRICTED, now: datetime | None = None) -> QueryResult:
    """Render, record provenance and run validated parameters."""
    now = now or _now()
    check_backend(store, template)
    sql, _, run_sql, bind = render_for(store, template, params)
    scoped_sql = apply_scope(run_sql, scope, bind, base_schema(store))  # before recording: a refused run leaves no trace
    dumped = params.model_dump(mode="json")
    digest, collided = chain.record(store, template_name=template.name, query_text=sql, params=dumped,
                                    created_by=created_by, now=now)
    started = time.perf_counter()
    with tagged(store, template.name, digest):
        table = store.fetch_arrow(scoped_sql, bind)
    elapsed = (time.perf_counter() - started) * 1000
    chain.record_run(store, digest, run_by=created_by, row_count=table.num_rows, duration_ms=elapsed, now=now)
    return QueryResult(template.name, digest, sql, chain.flatten_params(dumped), table, collided)


def run_template(store: DuckDBStore, name: str, params: dict[str, Any] | None = None, *,
                 created_by: str = "library", scope: Scope = UNRESTRICTED, now: datetime | None = None) -> QueryResult:
    """Run the template ``name`` with raw parameters (validated here)."""
    template = get_template(name)
    return execute(store, template, validate_params(template, params or {}), created_by=created_by, scope=scope, now=now)


def unflatten(template: Template, flat: dict[str, Any]) -> dict[str, Any]:
    """Undo ``flatten_params`` for re-runs: JSON text back to lists/objects where the model wants them."""
    out: dict[str, Any] = {}
    for key, value in flat.items():
        info = template.params.model_fields.get(key)
        if info is not None and isinstance(value, str) and info.annotation is not str and value[:1] in "[{":
            try:
                value = json.loads(value)
            except ValueError:
                pass
        out[key] = value
    return out


def rerun(store: DuckDBStore, digest: str, *, created_by: str = "library", scope: Scope = UNRESTRICTED) -> QueryResult:
    """Re-run the query behind a recorded hash (same template, same parameters)."""
    entry = chain.lookup(store, digest)
    template = get_template(entry.template_name)
    result = run_template(store, template.name, unflatten(template, entry.parameters), created_by=created_by, scope=scope)
    if result.query_hash != digest:
        raise ValidationError(f"Re-running '{digest}' produced hash '{result.query_hash}': the template changed since.",
                              code="template_changed")
    return result
