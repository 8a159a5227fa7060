"""Helpers shared by the governance commands: who is acting, and auditing a CLI read."""

from __future__ import annotations

import getpass
from typing import Any

import logging

import click

from ...governance.audit import HEAD_ID, audit_event
from ...governance.audit_trail import Entry, append_now, audit_cli_read
from ...store.duckdb import DuckDBStore

log = logging.getLogger(__name__)

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


def head_seq(store: DuckDBStore) -> int | None:
    """The audit chain's last sequence number (to tell whether a command audited itself)."""
    try:
        row = store.fetchone("SELECT seq FROM audit_head WHERE id = ?", [HEAD_ID])
    except Exception:  # a store too old to have the table: nothing to compare
        return None
    return int(row[0]) if row else None


def command_name() -> str:
    """``stats``, ``rejects list``... : the running command without the program name."""
    ctx = click.get_current_context(silent=True)
    if ctx is None:
        return "unknown"
    parts = ctx.command_path.split()
    return " ".join(parts[1:]) or parts[0]


def audit_command(path: str, store: DuckDBStore | None, *, refused: str | None = None) -> None:
    """The generic entry of a CLI command that did not write its own: action ``cli``, the command
    in ``details``. ``store`` open read-write: appended there; None (the command opened the store
    read-only, now closed): reopened read-write, or left in the sidecar when another process holds
    the file (``governance/audit_trail.py``). Auditing never turns a done command into a failure."""
    details = {"command": command_name(), **({"refused": refused} if refused else {})}
    entry = Entry(actor(), "cli", details=details)
    try:
        if store is None:
            audit_cli_read(path, entry)
        else:
            append_now(store, [entry])
    except Exception:
        log.exception("could not audit the command %s", details["command"])
