"""The master key: where it comes from and how it wraps smaller secrets (AES-256-GCM).

The master key never enters the store. It is read from ``ACTIVITYSCHEMA_MASTER_KEY`` or from the file
named by the ``master_key_file`` setting, as 64 hex digits or the base64 of 32 bytes. It wraps the
per-customer data keys (``governance/crypto.py``) and, when one is configured at the time the store's
keyed-hash secret is created, that secret too.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
from collections.abc import Mapping
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from ..errors import ConfigError, GovernanceError
from ..settings import resolve

KEY_BYTES = 32
NONCE_BYTES = 12
KEY_ID_HEX = 16
_KEY_ID_CONTEXT = b"activityschema/master-key-id/v1"


def parse_key(text: str, *, source: str) -> bytes:
    """32 bytes from 64 hex digits or base64; anything else is a ConfigError naming the source."""
    raw = text.strip()
    try:
        if len(raw) == 2 * KEY_BYTES:
            return bytes.fromhex(raw)
        key = base64.b64decode(raw, validate=True)
        if len(key) == KEY_BYTES:
            return key
    except (ValueError, binascii.Error):
        pass
    raise ConfigError(f"Master key from {source} is not a valid key. "
                      "Give 64 hex digits or the base64 of 32 random bytes "
                      "(e.g. `python -c 'import os,base64;print(base64.b64encode(os.urandom(32)).decode())'`).",
                      code="invalid_master_key")


def load_master_key(env: Mapping[str, str] | None = None) -> bytes | None:
    """The configured master key, or None when none is configured."""
    env = os.environ if env is None else env
    inline = str(resolve("master_key", env=env) or "")
    if inline:
        return parse_key(inline, source="ACTIVITYSCHEMA_MASTER_KEY")
    path = str(resolve("master_key_file", env=env) or "")
    if not path:
        return None
    try:
        text = Path(path).read_text()
    except OSError as exc:
        raise ConfigError(f"Master key file '{path}' cannot be read: {exc.strerror or exc}.",
                          code="invalid_master_key") from None
    return parse_key(text, source=f"file '{path}'")


def require_master_key(env: Mapping[str, str] | None = None, *, purpose: str) -> bytes:
    key = load_master_key(env)
    if key is None:
        raise GovernanceError(f"{purpose} needs the master key: set ACTIVITYSCHEMA_MASTER_KEY or the "
                              "master_key_file setting.", code="master_key_missing")
    return key


def key_id(master: bytes) -> str:
    """A short public fingerprint of a master key (never the key itself)."""
    return hashlib.sha256(_KEY_ID_CONTEXT + master).hexdigest()[:KEY_ID_HEX]


def wrap(master: bytes, secret: bytes, aad: bytes) -> bytes:
    nonce = os.urandom(NONCE_BYTES)
    return nonce + AESGCM(master).encrypt(nonce, secret, aad)


def unwrap(master: bytes, blob: bytes, aad: bytes) -> bytes:
    try:
        return AESGCM(master).decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:], aad)
    except InvalidTag:
        raise GovernanceError("A wrapped key does not open with this master key (wrong key, or the "
                              "stored key was altered).", code="master_key_mismatch") from None
