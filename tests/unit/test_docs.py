"""Docs stay true: generated parts are fresh; every error class, reason code and setting is documented."""

from __future__ import annotations

import inspect
import subprocess
import sys
from pathlib import Path

from activityschema import errors
from activityschema.schema.columns import REASONS
from activityschema.settings import SETTINGS

ROOT = Path(__file__).resolve().parents[2]


def test_generated_docs_are_fresh():
    out = subprocess.run([sys.executable, str(ROOT / "scripts/gen_docs.py"), "--check"], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr


def test_every_error_class_and_reason_code_is_documented():
    text = (ROOT / "docs/errors.md").read_text()
    for _, cls in inspect.getmembers(errors, inspect.isclass):
        if issubclass(cls, errors.ActivitySchemaError) and cls is not errors.ActivitySchemaError:
            assert f"`{cls.__name__}`" in text and f"`{cls.code}`" in text, cls
    for code in REASONS:
        assert f"`{code}`" in text, code


def test_every_setting_is_documented():
    text = (ROOT / "docs/configuration.md").read_text()
    for s in SETTINGS:
        assert f"`{s.name}`" in text and s.env in text


def test_readme_quickstart_is_the_two_commands():
    readme = (ROOT / "README.md").read_text()
    assert "make demo" in readme and "make test" in readme
