"""``activityschema ddl``: print the CREATE statements of every table for a dialect."""

from __future__ import annotations

import sys

import typer

from ...schema import ddl_snowflake  # noqa: F401  (registers the snowflake renderer for suggestions)
from ...schema.ddl import render_ddl


def ddl(
    dialect: str = typer.Option("duckdb", "--dialect", help="duckdb or snowflake."),
    policies: bool = typer.Option(False, "--policies",
                                  help="Snowflake only: add the row access and masking policies."),
    admin_role: str = typer.Option("ACTIVITYSCHEMA_ADMIN", help="Role that sees every row and column."),
    pii_role: str = typer.Option("ACTIVITYSCHEMA_PII_READER", help="Role that sees PII feature keys and links."),
    pii_key: list[str] = typer.Option(None, "--pii-key",
                                      help="feature_json key to mask (repeatable; default: email, phone, ip_address, name)."),
) -> None:
    """Print the DDL of every table (valid Snowflake with --dialect snowflake)."""
    from ...errors import ConfigError

    statements = render_ddl(dialect)
    if policies:
        if dialect != "snowflake":
            raise ConfigError("--policies needs --dialect snowflake: DuckDB has no row access or masking policies.")
        from ...schema.ddl_snowflake import PII_KEYS_DEFAULT, PolicyOptions, policy_ddl

        options = PolicyOptions(admin_role=admin_role, pii_role=pii_role,
                                pii_keys=tuple(pii_key) if pii_key else PII_KEYS_DEFAULT)
        statements = [*statements, *policy_ddl(options)]
    sys.stdout.write("\n\n".join(statements) + "\n")


def register(app: typer.Typer) -> None:
    app.command("ddl")(ddl)
