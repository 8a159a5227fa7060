"""``activityschema mask`` and ``activityschema encrypt``: masked copies and encryption settings."""

from __future__ import annotations

from pathlib import Path

import typer

from ...governance import crypto, masking, masterkey, policies
from ...store.encrypted_copy import encrypted_copy
from ._common import DbOption, JsonOption, console, db_path, open_db, print_json
from ._gov import actor, audit_read

encrypt_app = typer.Typer(help="Field encryption (AES-GCM, per-customer keys) and encrypted store copies.",
                          no_args_is_help=True)


def mask(
    output: str = typer.Argument(..., help="New DuckDB file for the masked copy."),
    key: list[str] = typer.Option(None, "--key", help="feature_json key to mask (repeat; default: policy mask_keys)."),
    salt: str = typer.Option("", help="Makes this copy's pseudonyms differ from other copies'."),
    db: str | None = DbOption,
    as_json: bool = JsonOption,
) -> None:
    """Write a masked copy for non-production: pseudonymous ids, masked keys, e-mails and phones."""
    with open_db(db) as store:
        summary = masking.mask_copy(store, output, mask_keys=key or None, salt=salt, actor=actor())
    if as_json:
        print_json(summary)
    else:
        console.print(f"Masked copy at {output}: {summary['activities']:,} events, "
                      f"{summary['rows_with_masked_values']:,} with masked values.")


@encrypt_app.command("keys")
def keys_(
    names: str | None = typer.Argument(None, help="Comma-separated top-level feature_json keys; omit to show."),
    clear: bool = typer.Option(False, "--clear", help="Stop encrypting any key."),
    db: str | None = DbOption,
) -> None:
    """Show or set the feature_json keys encrypted at ingest (needs the master key to ingest)."""
    with open_db(db) as store:
        if clear or names is not None:
            policies.set_policy(store, "encrypt_keys", [] if clear else names, actor=actor())
        current = policies.get_policy(store, "encrypt_keys")
    console.print("encrypt_keys = " + (", ".join(current) if current else "(none)"))


@encrypt_app.command("rotate")
def rotate(new_key_file: Path = typer.Option(..., help="File holding the new master key."),
           db: str | None = DbOption) -> None:
    """Re-wrap every data key under a new master key (then point master_key_file at it)."""
    new = masterkey.parse_key(new_key_file.read_text(), source=f"file '{new_key_file}'")
    old = masterkey.require_master_key(purpose="Rotating the master key")
    with open_db(db) as store:
        with store.write() as con:
            n = crypto.rotate_master_key(con, old, new)
        audit_read(store, "master_key_rotate", row_count=n, new_master_key_id=masterkey.key_id(new))
    console.print(f"Re-wrapped {n} data keys under master key {masterkey.key_id(new)}.")


@encrypt_app.command("db-copy")
def db_copy(
    output: str = typer.Argument(..., help="New encrypted DuckDB file."),
    key_file: Path = typer.Option(..., help="File holding the database encryption key (base64 or hex)."),
    allow_unsafe: bool = typer.Option(False, help="Without OpenSSL (httpfs), use DuckDB's mbedtls (not secure)."),
    install_httpfs: bool = typer.Option(False, help="Let DuckDB download httpfs (network)."),
    db: str | None = DbOption,
    as_json: bool = JsonOption,
) -> None:
    """Copy the store into a DuckDB-encrypted file (the store must not be open elsewhere)."""
    result = encrypted_copy(db_path(db), output, key_file.read_text().strip(), allow_unsafe=allow_unsafe,
                            try_install=install_httpfs)
    with open_db(db) as store:
        audit_read(store, "encrypted_copy", securely_encrypted=result["securely_encrypted"])
    if as_json:
        print_json(result)
    else:
        note = "" if result["securely_encrypted"] else " [yellow](mbedtls: not securely encrypted)[/yellow]"
        console.print(f"Encrypted copy at {output}{note}.")


def register(app: typer.Typer) -> None:
    app.command("mask")(mask)
    app.add_typer(encrypt_app, name="encrypt")
