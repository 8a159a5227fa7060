"""The ``activityschema`` command line (Typer + Rich).

Commands live in ``interfaces/commands/<name>.py``; each module exposes ``register(app)``. This file
only builds the app, discovers those modules and renders errors: one line on stderr, exit code 1
(2 for usage errors), a traceback only with ``--debug``.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys

import typer

from ..errors import ActivitySchemaError
from . import commands
from .envelope import cli_message

app = typer.Typer(
    name="activityschema",
    help="ActivitySchema v2.0: validated activity streams, temporal analytics and agent memory.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)

_DEBUG = {"on": False}


@app.callback()
def _root(debug: bool = typer.Option(False, "--debug", help="Show tracebacks for errors.")) -> None:
    _DEBUG["on"] = debug


def _register_all() -> None:
    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{commands.__name__}.{info.name}")
        module.register(app)


_register_all()


def main() -> None:
    debug = "--debug" in sys.argv
    try:
        app(standalone_mode=True)
    except ActivitySchemaError as exc:
        if debug:
            raise
        print(cli_message(exc), file=sys.stderr)
        sys.exit(1)
