"""The store interface and the registry that picks a backend from one setting.

``backend = "duckdb"`` (the default) opens the embedded file named by ``db``; ``backend =
"snowflake"`` opens the warehouse named by the ``snowflake_*`` settings. Code above ``store/`` asks
for ``open_backend()`` and uses only the ``Backend`` protocol, so moving a team to the warehouse is
a settings change, not a code change. Built-in backends register through ``register_backend`` like
any extension would.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import Any, Protocol, runtime_checkable

import pyarrow as pa

from ..errors import ConfigError, suggest
from ..settings import resolve

Params = Sequence[Any] | dict[str, Any] | None


@runtime_checkable
class Backend(Protocol):
    """What every store offers: reads with bound parameters, a write transaction, close."""

    dialect: str
    path: str
    read_only: bool

    def fetchall(self, sql: str, params: Any = None) -> list[tuple[Any, ...]]: ...

    def fetchone(self, sql: str, params: Any = None) -> tuple[Any, ...] | None: ...

    def fetch_dicts(self, sql: str, params: Any = None) -> list[dict[str, Any]]: ...

    def fetch_arrow(self, sql: str, params: Any = None) -> pa.Table: ...

    def write(self) -> AbstractContextManager[Any]: ...

    def schema_version(self) -> int: ...

    def close(self) -> None: ...


# A factory gets (env, read_only, overrides) and returns an open store.
BackendFactory = Callable[[Mapping[str, str] | None, bool, dict[str, Any]], Backend]
_BACKENDS: dict[str, BackendFactory] = {}


def register_backend(name: str, factory: BackendFactory) -> BackendFactory:
    """Make ``backend = name`` open stores with ``factory``."""
    _BACKENDS[name] = factory
    return factory


def backend_names() -> list[str]:
    return sorted(_BACKENDS)


def open_backend(
    name: str | None = None,
    *,
    env: Mapping[str, str] | None = None,
    read_only: bool = False,
    **overrides: Any,
) -> Backend:
    """Open the store the settings name (or ``name``): ``open_backend()`` in application code.

    ``overrides`` are passed to the factory: ``db=`` for DuckDB, ``connect=`` and ``snowflake_*``
    values (without the prefix) for Snowflake.
    """
    chosen = str(resolve("backend", name, env))
    try:
        factory = _BACKENDS[chosen]
    except KeyError:
        raise ConfigError(f"Unknown backend '{chosen}'." + suggest(chosen, backend_names())
                          + f" Choose one of: {', '.join(backend_names())}.") from None
    return factory(env, read_only, overrides)


def tagged(store: Any, template: str, query_hash: str) -> AbstractContextManager[Any]:
    """Tag the statements run inside the block with a template and its query hash, where the
    backend supports tags (Snowflake's QUERY_TAG); a no-op elsewhere."""
    tagger = getattr(store, "tagged", None)
    return tagger(template, query_hash) if tagger else nullcontext()


def _open_duckdb(env: Mapping[str, str] | None, read_only: bool, overrides: dict[str, Any]) -> Backend:
    from .duckdb import DuckDBStore

    return DuckDBStore(resolve("db", overrides.get("db"), env), read_only=read_only)


def _open_snowflake(env: Mapping[str, str] | None, read_only: bool, overrides: dict[str, Any]) -> Backend:
    from .snowflake import SnowflakeStore
    from .snowflake_config import SnowflakeConfig

    connect = overrides.pop("connect", None)
    overrides.pop("db", None)
    config = SnowflakeConfig.from_settings(env, **overrides)
    return SnowflakeStore(config, connect=connect, read_only=read_only)


register_backend("duckdb", _open_duckdb)
register_backend("snowflake", _open_snowflake)


@contextmanager
def opened(name: str | None = None, **kwargs: Any) -> Iterator[Backend]:
    """``open_backend`` as a context manager that closes the store."""
    store = open_backend(name, **kwargs)
    try:
        yield store
    finally:
        store.close()
