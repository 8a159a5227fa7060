"""Run a named template: validate, render, scope, record provenance, execute, return with its hash.

This is the only way analytics reach the store, so every answer is explainable (its SQL and
parameters) and reproducible (``rerun(hash)``), and a row scope (governance) applies to every
template alike.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa

from ..errors import ValidationError
from ..provenance import chain
from ..sql.templates import Params, Template, get_template, validate_params
from ..store.duckdb import DuckDBStore

SCOPE_PARAM = "__scope_actors"


@dataclass(frozen=True)
class Scope:
    """A row scope: the actors (customer or anonymous ids) a caller may read. ``None`` means all."""

    actors: frozenset[str] | None = None

    @property
    def unrestricted(self) -> bool:
        return self.actors is None


UNRESTRICTED = Scope()

# Tables holding per-customer rows and the column naming the actor; a scoped run sees them filtered.
SCOPED_TABLES: dict[str, str] = {
    "activities": "coalesce(customer, anonymous_customer_id)",
}


def apply_scope(sql: str, scope: Scope, bind: dict[str, Any]) -> str:
    """Shadow each per-customer table with a CTE of the same name that keeps only in-scope rows."""
    if scope.unrestricted:
        return sql
    bind[SCOPE_PARAM] = sorted(scope.actors or ())
    ctes = ", ".join(
        f"{table} AS (SELECT * FROM main.{table} WHERE list_contains(${SCOPE_PARAM}, {actor}))"
        for table, actor in SCOPED_TABLES.items()
    )
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
    sql, bind = template.render(params)
    dumped = params.model_dump(mode="json")
    digest, collided = chain.record(store, template_name=template.name, query_text=sql, params=dumped,
                                    created_by=created_by, now=now)
    scoped_sql = apply_scope(sql, scope, bind)
    started = time.perf_counter()
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
