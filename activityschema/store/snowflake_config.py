"""Snowflake connection settings: who connects, where, and with which secret.

Read from the settings table (``settings.py``): explicit argument, ``ACTIVITYSCHEMA_SNOWFLAKE_*``
environment variables, the config file, the default. Two ways to authenticate:

- **key pair** (preferred): ``snowflake_private_key_file`` names a PKCS#8 key (PEM or DER), with an
  optional passphrase from ``snowflake_private_key_passphrase`` or ``…_passphrase_file``;
- **password**: ``snowflake_password`` (environment) or ``snowflake_password_file``.

Secrets are read when a connection is opened and are never part of ``repr``, ``describe()`` or an
error message. Setting both a key and a password is an error, so it is always clear which one is used.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from ..settings import resolve

REQUIRED = ("account", "user", "database")
SECRET_FIELDS = frozenset({"password", "private_key_passphrase"})
# Connector arguments ``snowflake_connect_args`` may not set: secrets, and what the settings own.
RESERVED_CONNECT_ARGS = frozenset({
    "password", "private_key", "private_key_file", "private_key_file_pwd", "token", "passcode",
    "oauth_client_secret", "account", "user", "database", "schema", "role", "warehouse", "paramstyle",
})
# Every statement runs with these session parameters: UTC so CURRENT_TIMESTAMP agrees with DuckDB's.
SESSION_PARAMETERS: dict[str, Any] = {"TIMEZONE": "UTC"}


@dataclass(frozen=True)
class SnowflakeConfig:
    account: str
    user: str
    database: str
    schema: str = "PUBLIC"
    role: str = ""
    warehouse: str = ""
    password: str = field(default="", repr=False)
    password_file: str = ""
    private_key_file: str = ""
    private_key_passphrase: str = field(default="", repr=False)
    private_key_passphrase_file: str = ""
    query_tag: str = "activityschema"
    connect_args: str = ""

    @classmethod
    def from_settings(cls, env: Mapping[str, str] | None = None, **explicit: Any) -> SnowflakeConfig:
        """Resolve every ``snowflake_*`` setting; ``explicit`` values win (``account="xy12345"``)."""
        values = {f.name: resolve(f"snowflake_{f.name}", explicit.get(f.name), env) for f in fields(cls)}
        config = cls(**{k: "" if v is None else str(v) for k, v in values.items()})
        config.check()
        return config

    def check(self) -> None:
        missing = [name for name in REQUIRED if not getattr(self, name)]
        if missing:
            names = ", ".join(f"snowflake_{m} (ACTIVITYSCHEMA_SNOWFLAKE_{m.upper()})" for m in missing)
            raise ConfigError(f"The snowflake backend needs {names}. See docs/snowflake.md.")
        has_key = bool(self.private_key_file)
        has_password = bool(self.password or self.password_file)
        if has_key and has_password:
            raise ConfigError("Set either snowflake_private_key_file (key-pair auth) or a password "
                              "(snowflake_password / snowflake_password_file), not both.")
        if not has_key and not has_password:
            raise ConfigError("The snowflake backend needs a secret: snowflake_private_key_file "
                              "(key-pair auth, preferred) or snowflake_password / snowflake_password_file.")

    def describe(self) -> str:
        """Where the store lives, without any secret: ``snowflake://account/DATABASE/SCHEMA``."""
        return f"snowflake://{self.account}/{self.database}/{self.schema}"

    @property
    def auth_method(self) -> str:
        return "key_pair" if self.private_key_file else "password"

    def connect_kwargs(self) -> dict[str, Any]:
        """Arguments for ``snowflake.connector.connect`` (reads the secret files now)."""
        kwargs: dict[str, Any] = {
            "account": self.account,
            "user": self.user,
            "database": self.database,
            "schema": self.schema,
            "paramstyle": "qmark",
            "application": "activityschema",
            "session_parameters": {**SESSION_PARAMETERS, "QUERY_TAG": self.query_tag},
        }
        extra = self.extra_connect_args()
        kwargs["session_parameters"].update(extra.pop("session_parameters", {}))
        kwargs.update(extra)
        if self.role:
            kwargs["role"] = self.role
        if self.warehouse:
            kwargs["warehouse"] = self.warehouse
        if self.private_key_file:
            kwargs["private_key"] = load_private_key(self.private_key_file, self._passphrase())
        else:
            kwargs["password"] = self.password or read_secret(self.password_file, "snowflake_password_file")
        return kwargs

    def extra_connect_args(self) -> dict[str, Any]:
        """``snowflake_connect_args`` parsed and checked (no secrets, nothing the settings own)."""
        if not self.connect_args:
            return {}
        try:
            extra = json.loads(self.connect_args)
        except ValueError:
            raise ConfigError("Setting 'snowflake_connect_args' is not a JSON object.") from None
        if not isinstance(extra, dict):
            raise ConfigError("Setting 'snowflake_connect_args' must be a JSON object, e.g. "
                              '{"host": "myorg-myaccount.privatelink.snowflakecomputing.com"}.')
        refused = sorted(set(extra) & RESERVED_CONNECT_ARGS)
        if refused:
            raise ConfigError(f"Setting 'snowflake_connect_args' may not set {', '.join(refused)}: use the "
                              "snowflake_* settings (secrets from the environment or a file).")
        if not isinstance(extra.get("session_parameters", {}), dict):
            raise ConfigError("snowflake_connect_args.session_parameters must be a JSON object.")
        return dict(extra)

    def _passphrase(self) -> bytes | None:
        if self.private_key_passphrase_file:
            text = read_secret(self.private_key_passphrase_file, "snowflake_private_key_passphrase_file")
        else:
            text = self.private_key_passphrase
        return text.encode() if text else None


def read_secret(path: str, setting_name: str) -> str:
    """The first line of a secret file, without its line ending."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"Setting '{setting_name}': cannot read '{path}' ({exc.strerror}).") from None
    secret = text.splitlines()[0] if text else ""
    if not secret:
        raise ConfigError(f"Setting '{setting_name}': the file '{path}' is empty.")
    return secret


def load_private_key(path: str, passphrase: bytes | None) -> bytes:
    """A PEM or DER private key as the unencrypted PKCS#8 DER bytes the connector takes."""
    from cryptography.hazmat.primitives import serialization

    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise ConfigError(f"Setting 'snowflake_private_key_file': cannot read '{path}' ({exc.strerror}).") from None
    loader = serialization.load_pem_private_key if b"-----BEGIN" in data else serialization.load_der_private_key
    try:
        key = loader(data, password=passphrase)
    except TypeError:
        hint = "it is encrypted: set snowflake_private_key_passphrase(_file)" if passphrase is None \
            else "it is not encrypted: remove the passphrase"
        raise ConfigError(f"Cannot load the private key '{path}': {hint}.") from None
    except ValueError:
        raise ConfigError(f"Cannot load the private key '{path}': not a PKCS#8 key, or the passphrase "
                          "is wrong.") from None
    return key.private_bytes(
        encoding=serialization.Encoding.DER,
        format=serialization.PrivateFormat.PKCS8,
        encryption_algorithm=serialization.NoEncryption(),
    )
