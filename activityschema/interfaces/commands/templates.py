"""``activityschema template``: list and run named SQL templates, optionally under a row scope.

``--scope`` / ``--tenant`` run a template exactly as a scoped API key would (same runner, same
filtering); every run and every refusal is audited.
"""

from __future__ import annotations

import json
from typing import Any

import typer

from ...analytics.runner import Scope, rerun, run_template
from ...errors import ActivitySchemaError, ValidationError
from ...sql.templates import Template, list_templates
from ._common import DbOption, JsonOption, open_db, print_json, print_table
from ._gov import actor, audit_read

template_app = typer.Typer(help="Named SQL templates: list, run, re-run by hash.", no_args_is_help=True)
ScopeOption = typer.Option(None, "--scope", help="Only these actors' rows (repeat), as a scoped key would see.")
TenantOption = typer.Option(None, "--tenant", help="Only rows of this tenant (feature_json.tenant_id).")


def _scope(actors: list[str] | None, tenant: str | None) -> Scope:
    return Scope(frozenset(actors) if actors else None, tenant)


def _params(text: str) -> dict[str, object]:
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise ValidationError(f"--params is not JSON: {exc}.", code="invalid_params") from None
    if not isinstance(value, dict):
        raise ValidationError("--params must be a JSON object.", code="invalid_params")
    return value


def _describe(template: Template) -> dict[str, Any]:
    schema = template.params.model_json_schema()
    return {"name": template.name, "description": template.description,
            "parameters": sorted(schema.get("properties", {})), "required": sorted(schema.get("required", [])),
            "schema": schema}


@template_app.command("list")
def list_(as_json: bool = JsonOption) -> None:
    """Every registered template: its parameters (required ones marked *) and what it answers."""
    described = [_describe(t) for t in list_templates()]
    if as_json:
        print_json(described)
        return
    print_table("Named SQL templates", ["name", "parameters", "description"],
                [[d["name"], ", ".join(p + ("*" if p in d["required"] else "") for p in d["parameters"]),
                  d["description"]] for d in described], max_rows=500)


def _run(store, action: str, name: str | None, fn, as_json: bool) -> None:  # type: ignore[no-untyped-def]
    try:
        result = fn()
    except ActivitySchemaError as exc:
        audit_read(store, action + "_refused", template=name, code=exc.code)
        raise
    audit_read(store, action, row_count=result.table.num_rows, template=result.template, query_hash=result.query_hash)
    if as_json:
        print_json(result.to_dict())
    else:
        rows = result.rows()
        print_table(f"{result.template} · hash {result.query_hash}", list(result.table.column_names),
                    [list(r.values()) for r in rows])


@template_app.command("run")
def run(
    name: str = typer.Argument(...),
    params: str = typer.Option("{}", help="Parameters as a JSON object."),
    scope: list[str] = ScopeOption,
    tenant: str | None = TenantOption,
    db: str | None = DbOption,
    as_json: bool = JsonOption,
) -> None:
    """Run a template; prints its rows and query hash."""
    with open_db(db) as store:
        _run(store, "query", name, lambda: run_template(store, name, _params(params), created_by=actor(),
                                                         scope=_scope(scope, tenant)), as_json)


@template_app.command("rerun")
def rerun_(
    query_hash: str = typer.Argument(..., help="A hash from an earlier run."),
    scope: list[str] = ScopeOption,
    tenant: str | None = TenantOption,
    db: str | None = DbOption,
    as_json: bool = JsonOption,
) -> None:
    """Re-run the query behind a provenance hash (same template and parameters)."""
    with open_db(db) as store:
        _run(store, "rerun", None, lambda: rerun(store, query_hash, created_by=actor(), scope=_scope(scope, tenant)), as_json)


def register(app: typer.Typer) -> None:
    app.add_typer(template_app, name="template")
    # ``templates`` is the short spelling of ``template list`` (one implementation, two names).
    app.command("templates", help="List the named SQL templates (same as `template list`).")(list_)
