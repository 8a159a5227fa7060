"""Keyed hashes of identifiers: HMAC-SHA256 under a per-store secret.

Wherever governance must remember a customer without keeping a readable identifier (the suppression
list, audit entries, erasure receipts, provenance parameters after an erasure, data-key ids), it keeps
``keyed_hash(secret, id)``. Without the secret the hash cannot be tested against a guessed id.

The secret is 32 random bytes created once per store, on first use, in ``governance_secrets``. If a
master key is configured at that moment, the secret is stored wrapped by it (and the master key is
then needed for every governance action); otherwise it is stored as is. It never changes afterwards:
a new secret would silently empty the suppression list.

The same HMAC runs inside DuckDB (``keyed_hash_sql``), built from ``sha256`` on blobs, so ingest can
hash a whole batch column-wise; ``tests/unit/test_governance_keys.py`` pins both to ``hmac``.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

import duckdb

from ..errors import GovernanceError
from . import masterkey

SECRET_NAME = "keyed_hash"
SECRET_BYTES = 32
SECRET_AAD = b"activityschema/keyed-hash-secret/v1"
HMAC_BLOCK = 64
TOKEN_PREFIX = "hmac:"
TOKEN_HEX = 32

GET_SECRET_SQL = "SELECT value, wrapped_by FROM governance_secrets WHERE name = ?"
PUT_SECRET_SQL = "INSERT INTO governance_secrets VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING"


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def existing_secret(con: duckdb.DuckDBPyConnection, env: Mapping[str, str] | None = None) -> bytes | None:
    """The secret if the store has one (works on a read-only connection)."""
    row = con.execute(GET_SECRET_SQL, [SECRET_NAME]).fetchone()
    return None if row is None else _open_secret(bytes(row[0]), row[1], env)


def hash_secret(con: duckdb.DuckDBPyConnection, env: Mapping[str, str] | None = None) -> bytes:
    """The store's keyed-hash secret, created on first use (needs a writable connection then)."""
    row = con.execute(GET_SECRET_SQL, [SECRET_NAME]).fetchone()
    if row is None:
        _create_secret(con, env)
        row = con.execute(GET_SECRET_SQL, [SECRET_NAME]).fetchone()
        assert row is not None
    return _open_secret(bytes(row[0]), row[1], env)


def _open_secret(value: bytes, wrapped_by: str | None, env: Mapping[str, str] | None) -> bytes:
    if wrapped_by is None:
        return value
    master = masterkey.require_master_key(env, purpose="This store's keyed-hash secret (wrapped at creation)")
    if masterkey.key_id(master) != wrapped_by:
        raise GovernanceError(f"The keyed-hash secret is wrapped by master key '{wrapped_by}', but the "
                              f"configured master key is '{masterkey.key_id(master)}'.", code="master_key_mismatch")
    return masterkey.unwrap(master, value, SECRET_AAD)


def _create_secret(con: duckdb.DuckDBPyConnection, env: Mapping[str, str] | None) -> None:
    secret = os.urandom(SECRET_BYTES)
    master = masterkey.load_master_key(env)
    stored, wrapped_by = (masterkey.wrap(master, secret, SECRET_AAD), masterkey.key_id(master)) if master else (secret, None)
    try:
        con.execute(PUT_SECRET_SQL, [SECRET_NAME, stored, wrapped_by, _now()])
    except duckdb.Error as exc:
        raise GovernanceError("The store has no keyed-hash secret yet and cannot create one here "
                              f"(read-only?): {str(exc).splitlines()[0]}", code="hash_secret_missing") from exc


def rewrap_secret(con: duckdb.DuckDBPyConnection, old: bytes, new: bytes) -> bool:
    """Re-wrap the keyed-hash secret from master key ``old`` to ``new`` (if it is wrapped by ``old``)."""
    row = con.execute(GET_SECRET_SQL, [SECRET_NAME]).fetchone()
    if row is None or row[1] != masterkey.key_id(old):
        return False
    secret = masterkey.unwrap(old, bytes(row[0]), SECRET_AAD)
    con.execute("UPDATE governance_secrets SET value = ?, wrapped_by = ? WHERE name = ?",
                [masterkey.wrap(new, secret, SECRET_AAD), masterkey.key_id(new), SECRET_NAME])
    return True


def keyed_hash(secret: bytes, value: str) -> str:
    """HMAC-SHA256 of ``value`` (UTF-8) under ``secret``, as 64 hex digits."""
    return hmac.new(secret, value.encode("utf-8"), hashlib.sha256).hexdigest()


def keyed_hashes(secret: bytes, values: Iterable[str]) -> dict[str, str]:
    return {v: keyed_hash(secret, v) for v in values}


def token(secret: bytes, value: str) -> str:
    """The readable stand-in for an erased identifier: ``hmac:`` and 128 bits of its keyed hash."""
    return TOKEN_PREFIX + keyed_hash(secret, value)[:TOKEN_HEX]


def derived_key(secret: bytes, purpose: str) -> bytes:
    """A separate key for one purpose (masking, audit seals), so outputs cannot be cross-linked."""
    return hmac.new(secret, b"activityschema/derived/" + purpose.encode("utf-8"), hashlib.sha256).digest()


def keyed_hash_sql(expr: str, prefix: str = "hk") -> str:
    """SQL for HMAC-SHA256(secret, expr) as hex; bind ``keyed_hash_params(secret, prefix)``.

    ``expr`` is an engine-written column expression, never user input.
    """
    return f"sha256(${prefix}_opad || unhex(sha256(${prefix}_ipad || encode({expr}))))"


def keyed_hash_params(secret: bytes, prefix: str = "hk") -> dict[str, Any]:
    padded = secret.ljust(HMAC_BLOCK, b"\0") if len(secret) <= HMAC_BLOCK else hashlib.sha256(secret).digest().ljust(HMAC_BLOCK, b"\0")
    return {f"{prefix}_ipad": bytes(b ^ 0x36 for b in padded), f"{prefix}_opad": bytes(b ^ 0x5C for b in padded)}
