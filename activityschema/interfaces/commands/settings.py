"""``activityschema settings``: every setting, its effective value here, and where it came from."""

from __future__ import annotations

import os

import typer

from ...settings import SETTINGS, resolve
from ._common import JsonOption, print_json, print_table

SECRET_WORDS = ("password", "key")


def _source(name: str, env_name: str) -> str:
    if env_name in os.environ:
        return "environment"
    return "config file / default"


def settings(as_json: bool = JsonOption) -> None:
    """Show every setting with its value (secrets hidden) and its environment variable."""
    rows = []
    for s in SETTINGS:
        value = resolve(s.name)
        if any(w in s.name for w in SECRET_WORDS) and value:
            value = "***"
        rows.append({"name": s.name, "value": value, "env": s.env, "source": _source(s.name, s.env), "help": s.help})
    if as_json:
        print_json(rows)
    else:
        print_table("Settings", ["name", "value", "env", "source", "help"],
                    [[r["name"], r["value"], r["env"], r["source"], r["help"]] for r in rows], max_rows=500)


def register(app: typer.Typer) -> None:
    app.command("settings")(settings)
