"""Regenerate the generated parts of the docs: the CLI reference (from real --help output) and the
settings table. `python scripts/gen_docs.py` writes them; `--check` fails if they are stale (CI)."""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
MARK = "<!-- settings-table -->"


def _help(args: list[str]) -> str:
    from typer.testing import CliRunner

    from activityschema.interfaces.cli import app

    result = CliRunner().invoke(app, [*args, "--help"], env={**os.environ, "COLUMNS": "100", "NO_COLOR": "1", "TERM": "dumb"})
    return result.output.rstrip()


def command_paths() -> list[list[str]]:
    import typer.main

    from activityschema.interfaces.cli import app

    click_app = typer.main.get_command(app)
    paths: list[list[str]] = []

    def walk(cmd, prefix: list[str]) -> None:  # type: ignore[no-untyped-def]
        for name, sub in sorted(getattr(cmd, "commands", {}).items()):
            paths.append([*prefix, name])
            walk(sub, [*prefix, name])

    walk(click_app, [])
    return paths


def cli_reference() -> str:
    parts = ["# CLI reference", "", "Generated from the real `--help` output by `scripts/gen_docs.py`; "
             "`tests/unit/test_docs.py` fails when it is stale. Every command takes `--db PATH` "
             "(or `ACTIVITYSCHEMA_DB`) where it reads a store, and `--debug` (before the command) shows "
             "tracebacks. Errors are one line on stderr with exit code 1 (2 for usage errors).", "",
             "## activityschema", "", "```", _help([]), "```", ""]
    for path in command_paths():
        parts += [f"## activityschema {' '.join(path)}", "", "```", _help(path), "```", ""]
    return "\n".join(parts)


def settings_table() -> str:
    from activityschema.settings import SETTINGS

    lines = ["| setting | environment | default | meaning |", "|---|---|---|---|"]
    for s in SETTINGS:
        lines.append(f"| `{s.name}` | `{s.env}` | `{s.default!r}` | {s.help} |")
    return "\n".join(lines)


def render() -> dict[Path, str]:
    config = (ROOT / "docs/configuration.md").read_text()
    head = config.split(MARK)[0]
    return {ROOT / "docs/cli.md": cli_reference() + "\n",
            ROOT / "docs/configuration.md": head + MARK + "\n\n" + settings_table() + "\n"}


def main() -> int:
    check = "--check" in sys.argv
    stale = []
    for path, text in render().items():
        if check:
            if not path.exists() or path.read_text() != text:
                stale.append(str(path.relative_to(ROOT)))
        else:
            path.write_text(text)
    if stale:
        print("stale generated docs: " + ", ".join(stale) + " (run: python scripts/gen_docs.py)")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
