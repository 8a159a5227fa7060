"""``activityschema keys``: create, list and revoke API keys for the HTTP API and MCP over HTTP.

Run these while no server holds the store (DuckDB has one writing process), or use the admin
routes of a running server (``/v1/keys``).
"""

from __future__ import annotations

import typer

from ...governance.access import SCOPES, create_key, list_keys, revoke_key
from ._common import DbOption, JsonOption, console, err_console, open_db, print_json, print_table

keys_app = typer.Typer(help="API keys: create (the key is printed once), list, revoke.", no_args_is_help=True)


@keys_app.command("create")
def create(
    name: str = typer.Option(..., "--name", help="A label for the key (who or what uses it)."),
    scope: list[str] = typer.Option(..., "--scope", help=f"Repeat for each scope: {', '.join(SCOPES)}."),
    customer: list[str] = typer.Option(None, "--customer", help="Limit the key to these customers (repeat)."),
    tenant: str | None = typer.Option(None, "--tenant", help="Limit the key to events whose feature_json.tenant_id is this."),
    db: str | None = DbOption,
    as_json: bool = JsonOption,
) -> None:
    """Create a key. Its secret is shown once and stored only as a hash."""
    with open_db(db) as store:
        described, key = create_key(store, name, scope, customers=customer or None, tenant=tenant)
    if as_json:
        print_json({**described, "key": key})
        return
    console.print(f"Created key [bold]{described['key_id']}[/bold] ({name}; scopes: {', '.join(described['scopes'])}"
                  + (f"; customers: {len(described['customers'])}" if described["customers"] else "")
                  + (f"; tenant: {tenant}" if tenant else "") + ")")
    console.print(key, markup=False, highlight=False)
    err_console.print("Store it now: it cannot be shown again.")


@keys_app.command("list")
def list_(db: str | None = DbOption, as_json: bool = JsonOption) -> None:
    """List keys (never their secrets)."""
    with open_db(db, read_only=True) as store:
        rows = list_keys(store)
    if as_json:
        print_json(rows)
        return
    print_table("API keys", ["key_id", "name", "scopes", "customers", "tenant", "created_at", "revoked_at"],
                [[r["key_id"], r["name"], ",".join(r["scopes"]), len(r["customers"]) if r["customers"] else "all",
                  r["tenant"] or "all", r["created_at"], r["revoked_at"] or ""] for r in rows], max_rows=500)


@keys_app.command("revoke")
def revoke(key_id: str = typer.Argument(..., help="The key id (kXXXXXXXXXXXX)."), db: str | None = DbOption) -> None:
    """Revoke a key: it is refused from now on."""
    with open_db(db) as store:
        revoke_key(store, key_id)
    console.print(f"Revoked {key_id}.")


def register(app: typer.Typer) -> None:
    app.add_typer(keys_app, name="keys")
