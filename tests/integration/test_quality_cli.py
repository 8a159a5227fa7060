"""``activityschema catalog`` and ``activityschema quality``, run as real subprocesses."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from datetime import datetime

import pytest

from activityschema.demo.generator import write_ndjson
from activityschema.ingest.importer import import_file
from activityschema.store.duckdb import DuckDBStore

CLI = [sys.executable, "-m", "activityschema.interfaces.cli_entry"]


ENV = {**os.environ, "COLUMNS": "200"}


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=120, env=ENV)


def ok(*args: str) -> str:
    out = run(*args)
    assert out.returncode == 0, out.stderr
    return out.stdout


def one_line_error(*args: str) -> str:
    out = run(*args)
    assert out.returncode == 1, out.stdout
    assert out.stderr.startswith("error [") and len(out.stderr.strip().splitlines()) == 1, (
        out.stderr
    )
    return out.stderr.strip()


@pytest.fixture(scope="module")
def db(tmp_path_factory) -> str:
    root = tmp_path_factory.mktemp("cli")
    src = root / "planted.ndjson"
    write_ndjson(src, seed=1, customers=500, plant_anomalies=True)
    path = root / "q.duckdb"
    with DuckDBStore(path) as store:
        import_file(store, src, now=datetime(2027, 1, 1))
    return str(path)


def test_catalog_outputs_and_descriptions(db, tmp_path):
    ok("catalog", "describe", "claude_tool_call", "One <tool> call by an agent.", "--db", db)
    rows = json.loads(ok("catalog", "--db", db, "--json"))
    tool = next(r for r in rows if r["activity"] == "claude_tool_call")
    assert tool["description"] == "One <tool> call by an agent." and tool["events"] > 0
    md, html = tmp_path / "c.md", tmp_path / "c.html"
    ok("catalog", "--db", db, "--markdown", str(md), "--html", str(html))
    text = md.read_text()
    assert (
        text.startswith("# Activity catalog")
        and "| `claude_tool_call` |" in text
        and "## `form_submitted`" in text
    )
    page = html.read_text()
    assert page.startswith("<!DOCTYPE html>") and "One &lt;tool&gt; call by an agent." in page
    assert "<script" not in page and "http://" not in page.replace("http://www.w3.org/2000/svg", "")
    assert "Did you mean 'claude_tool_call'" in one_line_error(
        "catalog", "show", "claude_tool_cal", "--db", db
    )


def test_schema_commands(db, tmp_path):
    ok(
        "quality",
        "schema",
        "register",
        "claude_tool_call",
        "--builtin",
        "tool_execution",
        "--mode",
        "warn",
        "--db",
        db,
    )
    checked = json.loads(ok("quality", "schema", "check", "--db", db, "--json"))
    assert (
        checked[0]["violations"] > 0
        and "is not of type 'number'" in checked[0]["examples"][0]["errors"][0]
    )
    assert "invalid_schema_mode" in one_line_error(
        "quality", "schema", "mode", "claude_tool_call", "strict", "--db", db
    )
    bad = tmp_path / "bad.json"
    bad.write_text('{"type": 5}')
    assert "invalid_feature_schema" in one_line_error(
        "quality", "schema", "register", "form_submitted", "--file", str(bad), "--db", db
    )
    ok(
        "quality", "schema", "remove", "claude_tool_call", "--db", db
    )  # later tests expect no schema


def test_drift_command(db, tmp_path):
    report = json.loads(ok("quality", "drift", "--db", db, "--json"))
    assert sorted((f["activity"], f["kind"]) for f in report["findings"]) == [
        ("claude_tool_call", "type_change"),
        ("form_submitted", "new_key"),
    ]
    md = tmp_path / "drift.md"
    table = ok(
        "quality", "drift", "--db", db, "--markdown", str(md), "--activity", "form_submitted"
    )
    assert "form_version" in table and "form_version" in md.read_text()


def test_anomalies_command_draws_a_readable_picture(db, tmp_path):
    svg, html = tmp_path / "a.svg", tmp_path / "a.html"
    result = json.loads(
        ok("quality", "anomalies", "--db", db, "--json", "--svg", str(svg), "--html", str(html))
    )
    assert [(f["activity"], f["kind"]) for f in result["findings"]] == [
        ("button_clicked", "spike"),
        ("claude_tool_call", "stopped"),
    ]
    root = ET.fromstring(svg.read_text())
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    texts = " ".join(t.text or "" for t in root.iter("{http://www.w3.org/2000/svg}text"))
    assert "button_clicked" in texts and "stopped from" in texts
    assert "<svg" in html.read_text() and "<td>spike</td>" in html.read_text()
    if shutil.which("rsvg-convert"):
        png = tmp_path / "a.png"
        subprocess.run(["rsvg-convert", str(svg), "-o", str(png)], check=True, timeout=60)
        assert png.stat().st_size > 1000


def test_views_command(db):
    rows = json.loads(ok("quality", "views", "--db", db, "--json"))
    assert {r["view"] for r in rows} == {"tool_executions", "user_interactions", "system_events"}
    assert all(r["failed"] == 0 for r in rows)
    ddl = ok("quality", "views", "--snowflake-ddl")
    assert ddl.count("CREATE OR REPLACE VIEW") == 3
