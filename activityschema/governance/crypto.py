"""Field encryption: configured feature_json keys, AES-256-GCM under per-customer data keys.

Format of an encrypted value (it replaces the value in feature_json)::

    {"$enc": "v1:<key id>:<base64url(nonce ‖ ciphertext ‖ tag)>"}

- the data key is per actor (customer, else anonymous id; one shared key for events with neither),
  32 random bytes kept in the key store wrapped by the master key; ``key id`` is the first 32 hex of
  the keyed hash of the actor id, so the key store holds no readable id;
- the plaintext is the canonical JSON of the original value, so numbers and objects round-trip;
- the associated data is ``activityschema/v1|<key id>|<feature key>``: a value cannot be moved to
  another key or another customer unnoticed;
- the 96-bit nonce is derived from the data key, the associated data and the plaintext (synthetic
  IV): re-sending an identical event gives identical ciphertext, so it is still a *duplicate*, not a
  conflict. Equal values under the same customer and key are therefore recognisable as equal; a nonce
  is never reused for two different plaintexts.

Erasure deletes the data keys of the customer and its anonymous ids (crypto-shredding): its values
are then unreadable everywhere, even with the master key.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import duckdb
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from ..errors import GovernanceError
from ..settings import resolve
from ..store.keystore import KeyStore, keystore_path
from . import keys, masterkey

ENC_FIELD = "$enc"
VERSION = "v1"
DATA_KEY_BYTES = 32
NONCE_BYTES = 12
KEY_ID_HEX = 32
NO_ACTOR = ""
_AAD_PREFIX = b"activityschema/" + VERSION.encode()
_DK_AAD = b"activityschema/data-key/v1|"

DB_PATH_SQL = "SELECT path FROM duckdb_databases() WHERE database_name = current_database()"


class KeyShredded(GovernanceError):
    code = "key_shredded"


def is_encrypted(value: Any) -> bool:
    return isinstance(value, dict) and len(value) == 1 and isinstance(value.get(ENC_FIELD), str)


def data_key_id(secret: bytes, actor: str | None) -> str:
    return keys.keyed_hash(secret, actor or NO_ACTOR)[:KEY_ID_HEX]


def _canonical(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def _aad(kid: str, feature_key: str) -> bytes:
    return _AAD_PREFIX + b"|" + kid.encode() + b"|" + feature_key.encode("utf-8")


@dataclass
class FieldCipher:
    """Encrypts and decrypts feature values; caches unwrapped data keys for one operation."""

    keystore: KeyStore
    master: bytes | None
    secret: bytes
    _keys: dict[str, bytes] = field(default_factory=dict)

    def _unwrap(self, kid: str, wrapped: bytes, master_id: str) -> bytes:
        master = self.master
        if master is None:
            raise GovernanceError("Reading encrypted fields needs the master key: set ACTIVITYSCHEMA_MASTER_KEY "
                                  "or master_key_file.", code="master_key_missing")
        if masterkey.key_id(master) != master_id:
            raise GovernanceError(f"Data key '{kid}' is wrapped by master key '{master_id}', not the configured "
                                  f"'{masterkey.key_id(master)}'.", code="master_key_mismatch")
        return masterkey.unwrap(master, wrapped, _DK_AAD + kid.encode())

    def ensure(self, kids: Iterable[str]) -> None:
        """Load (creating when missing) the data keys ``kids``."""
        missing = sorted(set(kids) - set(self._keys))
        if not missing:
            return
        master = self.master
        if master is None:
            raise GovernanceError("Encrypting fields needs the master key: set ACTIVITYSCHEMA_MASTER_KEY or "
                                  "master_key_file.", code="master_key_missing")
        stored = self.keystore.get(missing)
        new = [k for k in missing if k not in stored]
        if new:
            mkid = masterkey.key_id(master)
            self.keystore.add([(k, masterkey.wrap(master, os.urandom(DATA_KEY_BYTES), _DK_AAD + k.encode()), mkid)
                               for k in new])
            stored = self.keystore.get(missing)
        for kid, (wrapped, mkid) in stored.items():
            self._keys[kid] = self._unwrap(kid, wrapped, mkid)

    def _key(self, kid: str) -> bytes:
        if kid not in self._keys:
            stored = self.keystore.get([kid])
            if kid not in stored:
                raise KeyShredded(f"Data key '{kid}' does not exist (erased: the value is unreadable).")
            self._keys[kid] = self._unwrap(kid, *stored[kid])
        return self._keys[kid]

    def encrypt(self, kid: str, feature_key: str, value: Any) -> dict[str, str]:
        dk = self._key(kid)
        aad, plain = _aad(kid, feature_key), _canonical(value)
        nonce = hmac.new(dk, b"nonce|" + aad + b"|" + plain, hashlib.sha256).digest()[:NONCE_BYTES]
        blob = nonce + AESGCM(dk).encrypt(nonce, plain, aad)
        return {ENC_FIELD: f"{VERSION}:{kid}:{base64.urlsafe_b64encode(blob).decode()}"}

    def decrypt(self, feature_key: str, token: Mapping[str, Any]) -> Any:
        version, kid, body = str(token[ENC_FIELD]).split(":", 2)
        if version != VERSION:
            raise GovernanceError(f"Unknown encrypted-field version '{version}'. Known: {VERSION}.", code="bad_ciphertext")
        blob = base64.urlsafe_b64decode(body)
        try:
            plain = AESGCM(self._key(kid)).decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:], _aad(kid, feature_key))
        except InvalidTag:
            raise GovernanceError(f"Encrypted value of '{feature_key}' fails authentication (altered or moved).",
                                  code="bad_ciphertext") from None
        return json.loads(plain)


def encrypt_features(cipher: FieldCipher, kid: str, features: Mapping[str, Any], wanted: Iterable[str]) -> tuple[dict[str, Any], int]:
    """``features`` with the top-level keys in ``wanted`` encrypted (already-encrypted values kept)."""
    out, n = dict(features), 0
    for key in wanted:
        if key in out and out[key] is not None and not is_encrypted(out[key]):
            out[key] = cipher.encrypt(kid, key, out[key])
            n += 1
    return out, n


@dataclass
class DecryptStats:
    decrypted: int = 0
    shredded: int = 0


def decrypt_features(cipher: FieldCipher, features: Mapping[str, Any], stats: DecryptStats) -> dict[str, Any]:
    """``features`` with encrypted values opened; a shredded value stays as it is, marked."""
    out = dict(features)
    for key, value in features.items():
        if is_encrypted(value):
            try:
                out[key] = cipher.decrypt(key, value)
                stats.decrypted += 1
            except KeyShredded:
                out[key] = {**value, "shredded": True}
                stats.shredded += 1
    return out


def db_path(con: duckdb.DuckDBPyConnection) -> str | None:
    rows = con.execute(DB_PATH_SQL).fetchall()  # fetch all: a half-read result blocks register()
    return rows[0][0] if rows else None


def keystore_for(con: duckdb.DuckDBPyConnection, env: Mapping[str, str] | None = None) -> KeyStore:
    return KeyStore(keystore_path(db_path(con), str(resolve("keystore_file", env=env) or "")))


def cipher_for(con: duckdb.DuckDBPyConnection, *, secret: bytes, env: Mapping[str, str] | None = None) -> FieldCipher:
    return FieldCipher(keystore_for(con, env), masterkey.load_master_key(env), secret)


def destroy_keys(con: duckdb.DuckDBPyConnection, secret: bytes, ids: Iterable[str],
                 env: Mapping[str, str] | None = None) -> int:
    """Crypto-shred: delete the data keys of these actor ids. Returns how many existed."""
    return keystore_for(con, env).delete(data_key_id(secret, i) for i in ids)


def rotate_master_key(con: duckdb.DuckDBPyConnection, old: bytes, new: bytes,
                      env: Mapping[str, str] | None = None) -> int:
    """Re-wrap every data key, and the store's keyed-hash secret, under a new master key.

    Call it inside a write transaction on the store (``con``); the data itself is not touched.
    Returns how many data keys were re-wrapped.
    """
    store = keystore_for(con, env)
    old_id, new_id = masterkey.key_id(old), masterkey.key_id(new)
    rows = []
    for kid, wrapped, mkid in store.all():
        if mkid == new_id:
            continue
        if mkid != old_id:
            raise GovernanceError(f"Data key '{kid}' is wrapped by master key '{mkid}', not '{old_id}'.",
                                  code="master_key_mismatch")
        dk = masterkey.unwrap(old, wrapped, _DK_AAD + kid.encode())
        rows.append((kid, masterkey.wrap(new, dk, _DK_AAD + kid.encode()), new_id))
    keys.rewrap_secret(con, old, new)
    store.replace(rows)
    return len(rows)
