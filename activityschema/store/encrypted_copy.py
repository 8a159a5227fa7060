"""DuckDB's own file encryption: write an encrypted copy of a store, read one back.

DuckDB (1.4+) encrypts a database file with AES-GCM when it is attached with ``ENCRYPTION_KEY``.
What this build of DuckDB (2.0.1) does, measured here (docs/governance.md, "DuckDB file encryption"):

- *writing* an encrypted file needs OpenSSL, which DuckDB takes from its ``httpfs`` extension. Without
  it DuckDB refuses ("read-only crypto module loaded") unless ``force_mbedtls_unsafe`` is set, which
  uses its bundled mbedtls and which DuckDB itself labels *not securely encrypted*;
- *reading* an encrypted file works with the bundled module, read-only;
- a wrong key is refused ("Wrong encryption key"), a missing key too; the file holds no plaintext.

So ``encrypted_copy`` loads ``httpfs`` when it can (installed, or installable online) and otherwise
refuses, unless the caller accepts the unsafe mode explicitly. The store itself keeps working on an
unencrypted file; field encryption (``governance/crypto.py``) protects the sensitive values inside it.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import duckdb

from ..errors import GovernanceError, StoreError, ValidationError

KEY_RE = re.compile(r"^[A-Za-z0-9+/=_\-]{16,256}$")
SOURCE_ALIAS = "plain_src"
TARGET_ALIAS = "encrypted_dst"


def _literal(text: str) -> str:
    """A quoted SQL literal for a path or a validated key (ATTACH takes no bound parameters)."""
    return "'" + text.replace("'", "''") + "'"


def _check_key(key: str) -> None:
    if not KEY_RE.match(key):
        raise ValidationError("The database encryption key must be 16-256 characters of base64 or hex "
                              "(letters, digits, + / = _ -).", code="invalid_encryption_key")


def _load_openssl(con: duckdb.DuckDBPyConnection, try_install: bool) -> bool:
    statements = ("LOAD httpfs", "INSTALL httpfs", "LOAD httpfs") if try_install else ("LOAD httpfs",)
    for statement in statements:
        try:
            con.execute(statement)
            if statement.startswith("LOAD"):
                return True
        except duckdb.Error:
            continue
    return False


def encrypted_copy(source: str | Path, dest: str | Path, key: str, *, allow_unsafe: bool = False,
                   try_install: bool = False) -> dict[str, Any]:
    """Copy the store file ``source`` (not open elsewhere) into a new encrypted file ``dest``.

    ``try_install`` lets DuckDB download httpfs (network) when it is not installed yet.
    """
    _check_key(key)
    if Path(dest).exists():
        raise ValidationError(f"'{dest}' already exists; write the encrypted copy to a new file.", code="file_exists")
    con = duckdb.connect()
    try:
        secure = _load_openssl(con, try_install)
        if not secure:
            if not allow_unsafe:
                raise GovernanceError(
                    "DuckDB cannot write a securely encrypted file here: its httpfs extension (OpenSSL) is not "
                    "installed (or could not be downloaded). Install it (INSTALL httpfs, or try_install) where you "
                    "have network access, or pass allow_unsafe to use DuckDB's bundled mbedtls, which DuckDB says is not "
                    "securely encrypted.", code="duckdb_encryption_unavailable")
            con.execute("SET force_mbedtls_unsafe = 'true'")
        con.execute(f"ATTACH {_literal(str(source))} AS {SOURCE_ALIAS} (READ_ONLY)")
        con.execute(f"ATTACH {_literal(str(dest))} AS {TARGET_ALIAS} (ENCRYPTION_KEY {_literal(key)})")
        con.execute(f"COPY FROM DATABASE {SOURCE_ALIAS} TO {TARGET_ALIAS}")
        con.execute(f"DETACH {TARGET_ALIAS}")
    except duckdb.Error as exc:
        raise StoreError(f"Encrypted copy failed: {str(exc).splitlines()[0]}", code="encrypted_copy_failed") from exc
    finally:
        con.close()
    return {"path": str(dest), "cipher": "AES-GCM (DuckDB)", "openssl": secure, "securely_encrypted": secure}


def read_encrypted(path: str | Path, key: str, sql: str) -> list[tuple[Any, ...]]:
    """Run one read on an encrypted store file, attached read-only with ``key``."""
    _check_key(key)
    con = duckdb.connect()
    try:
        con.execute(f"ATTACH {_literal(str(path))} AS enc (ENCRYPTION_KEY {_literal(key)}, READ_ONLY)")
        con.execute("USE enc")
        return con.execute(sql).fetchall()
    except duckdb.Error as exc:
        raise StoreError(f"Cannot read encrypted store '{path}': {str(exc).splitlines()[0]}",
                         code="encrypted_read_failed") from exc
    finally:
        con.close()
