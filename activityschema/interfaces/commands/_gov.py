"""Helpers shared by the governance commands: who is acting, and auditing a CLI read."""

from __future__ import annotations

import getpass
from typing import Any

from ...governance.audit import audit_event
from ...store.duckdb import DuckDBStore

CLI_ACTOR_PREFIX = "cli:"


def actor() -> str:
    """The audit actor of this CLI process: ``cli:<login name>``."""
    try:
        return CLI_ACTOR_PREFIX + getpass.getuser()
    except (KeyError, OSError):
        return CLI_ACTOR_PREFIX + "unknown"


def audit_read(store: DuckDBStore, action: str, *, row_count: int | None = None, template: str | None = None,
               query_hash: str | None = None, **details: Any) -> None:
    """Record a read done by a CLI command (governance writes record themselves in the library)."""
    audit_event(store, actor(), action, template=template, query_hash=query_hash, row_count=row_count,
                details=details or None)
