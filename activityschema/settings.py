"""One table of settings, read by the CLI, the servers, the docs and the tests.

Precedence (highest first): an explicit argument, the environment (``ACTIVITYSCHEMA_*``), the config
file named by ``ACTIVITYSCHEMA_CONFIG`` (TOML, flat keys), the default. The environment is passed in
as a mapping so tests never touch ``os.environ``.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import ConfigError, suggest


@dataclass(frozen=True)
class Setting:
    name: str
    default: Any
    help: str

    @property
    def env(self) -> str:
        return "ACTIVITYSCHEMA_" + self.name.upper()


SETTINGS: tuple[Setting, ...] = (
    Setting("db", "activityschema.duckdb", "Path of the embedded DuckDB store file."),
    Setting("duckdb_memory_limit", "2GB", "DuckDB memory limit; larger work spills to disk beside the store."),
    Setting("backend", "duckdb", "Store backend: 'duckdb' (embedded) or 'snowflake'."),
    Setting("max_future_hours", 24, "Events whose ts is further than this in the future are rejected."),
    Setting("spool_dir", "", "Spool directory; empty means '<db>.spool' beside the store."),
    Setting("spool_segment_bytes", 16 * 1024 * 1024, "Rotate a spool segment at this size."),
    Setting("spool_segment_seconds", 60, "Rotate a spool segment at this age."),
    Setting("spool_max_backlog_bytes", 1024 * 1024 * 1024, "Backpressure bound on unloaded spool bytes."),
    Setting("spool_max_backlog_seconds", 0.0, "Backpressure bound on the age of the oldest unloaded event; 0 = no bound."),
    Setting("spool_backpressure_timeout", 10.0, "Seconds log() waits under backpressure before failing."),
    Setting("logger_flush_ms", 0, "0 = fsync before every acknowledgement (group commit); N = flush at most every N ms."),
    Setting("loader_batch_events", 50_000, "Largest batch the loader merges at once."),
    Setting("audit_sync_ms", 50, "How a server makes each request's audit entries durable: 0 = fdatasync the audit journal before answering; N > 0 = write them before answering (they survive a crash of the server) and fdatasync them in the background within N ms (a power failure can lose the last N ms of entries), like auditd's incremental_async."),
    Setting("loader_linger_ms", 250, "After a batch smaller than loader_batch_events, the loader waits this long before merging the next, so a trickle of events is merged in groups (one merge per event costs CPU that requests need). 0 = merge as soon as events arrive."),
    Setting("loader_nice", 10, "Niceness of the loader thread of a server (serve, mcp) on Linux: requests come first under CPU contention. 0 = same priority."),
    Setting("context_max_staleness", 5.0, "Seconds a cached customer context may be served stale."),
    Setting("http_max_body_bytes", 16 * 1024 * 1024, "Largest accepted HTTP request body."),
    Setting("http_max_batch", 10_000, "Largest number of records in one POST /v1/activities."),
    Setting("master_key_file", "", "File holding the master key for field encryption."),
    Setting("master_key", "", "Master key for field encryption (64 hex digits or base64 of 32 bytes); prefer master_key_file."),
    Setting("keystore_file", "", "Per-customer data-key store (SQLite); empty means '<db>.keys' beside the store."),
    Setting("snowflake_account", "", "Snowflake account identifier."),
    Setting("snowflake_user", "", "Snowflake user."),
    Setting("snowflake_password", "", "Snowflake password (prefer key-pair auth)."),
    Setting("snowflake_private_key_file", "", "Path of a PKCS#8 private key for key-pair auth."),
    Setting("snowflake_role", "", "Snowflake role."),
    Setting("snowflake_warehouse", "", "Snowflake warehouse."),
    Setting("snowflake_database", "", "Snowflake database."),
    Setting("snowflake_schema", "PUBLIC", "Snowflake schema."),
    Setting("snowflake_password_file", "", "File holding the Snowflake password (read at connect, never logged)."),
    Setting("snowflake_private_key_passphrase", "", "Passphrase of an encrypted private key (prefer the _file form)."),
    Setting("snowflake_private_key_passphrase_file", "", "File holding the private key's passphrase."),
    Setting("snowflake_connect_args", "", "Extra snowflake.connector.connect arguments as a JSON object (host, port, protocol, login_timeout …); never secrets."),
    Setting("snowflake_query_tag", "activityschema", "QUERY_TAG prefix of every statement; templates add their name and query hash."),
)

_BY_NAME = {s.name: s for s in SETTINGS}


def setting(name: str) -> Setting:
    try:
        return _BY_NAME[name]
    except KeyError:
        raise ConfigError(f"Unknown setting '{name}'." + suggest(name, list(_BY_NAME))) from None


def _coerce(s: Setting, raw: Any) -> Any:
    if isinstance(s.default, bool) or raw is None or isinstance(raw, type(s.default)):
        return raw
    try:
        return type(s.default)(raw)
    except (TypeError, ValueError):
        raise ConfigError(
            f"Setting '{s.name}' has value {raw!r}. Not a valid {type(s.default).__name__}."
        ) from None


def _config_file(env: Mapping[str, str]) -> dict[str, Any]:
    path = env.get("ACTIVITYSCHEMA_CONFIG")
    if not path:
        return {}
    try:
        return tomllib.loads(Path(path).read_text())
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"Config file '{path}' cannot be read: {exc}") from None


def resolve(name: str, explicit: Any = None, env: Mapping[str, str] | None = None) -> Any:
    """Value of a setting by the documented precedence."""
    s = setting(name)
    env = os.environ if env is None else env
    if explicit is not None:
        return _coerce(s, explicit)
    if s.env in env:
        return _coerce(s, env[s.env])
    file_values = _config_file(env)
    if name in file_values:
        return _coerce(s, file_values[name])
    return s.default
