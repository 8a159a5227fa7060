"""The product-analytics commands on a generated demo store: a few as real subprocesses, the rest
through Typer's runner in-process (same app, same parsing and rendering, no interpreter start-up)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from activityschema.demo import write_ndjson
from activityschema.ingest.importer import import_file
from activityschema.store.duckdb import DuckDBStore

CLI = [sys.executable, "-m", "activityschema.interfaces.cli_entry"]
STEPS = ["signup_started", "email_verified", "profile_completed"]


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=120)


def invoke(*args: str) -> str:
    from activityschema.interfaces.cli import app

    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, (result.output, result.exception)
    return result.stdout


@pytest.fixture(scope="module")
def db(tmp_path_factory) -> str:
    folder = tmp_path_factory.mktemp("cli")
    write_ndjson(str(folder / "demo.ndjson"), customers=150, seed=3)
    path = folder / "demo.duckdb"
    with DuckDBStore(path) as store:
        import_file(store, folder / "demo.ndjson")
    return str(path)


def test_funnel_json_and_pictures(db, tmp_path):
    svg, html = tmp_path / "f.svg", tmp_path / "f.html"
    out = run("funnel", *STEPS, "--db", db, "--json", "--svg", str(svg), "--html", str(html))
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    counts = [s["count"] for s in result["steps"]]
    assert counts[0] >= counts[1] >= counts[2] > 0
    assert len(result["query_hash"]) == 16
    assert svg.read_text().startswith("<svg") and "Funnel" in svg.read_text()
    assert "<svg" in html.read_text() and result["query_hash"] in html.read_text()


def test_funnel_table_shows_the_hash_and_drilldown_lists_actors(db):
    table = invoke("funnel", *STEPS[:2], "--db", db)
    assert "email_verified" in table and "query " in table
    body = json.loads(invoke("funnel", *STEPS[:2], "--db", db, "--dropped", "2", "--json"))
    assert body["status"] == "dropped" and body["total"] >= len(body["actors"]) > 0


def test_retention_paths_journey_recent(db, tmp_path):
    body = json.loads(invoke("retention", "signup_started", "--db", db, "--now", "2026-06-01", "--intervals", "4",
                             "--html", str(tmp_path / "r.html"), "--json"))
    assert body["cohorts"] and all(c["cells"][0]["rate"] == 1.0 for c in body["cohorts"])
    assert "<svg" in (tmp_path / "r.html").read_text()
    paths = run("paths", "--start", "signup_started", "--collapse", "--db", db, "--svg", str(tmp_path / "p.svg"))
    assert paths.returncode == 0, paths.stderr
    assert "signup_started" in paths.stdout and (tmp_path / "p.svg").read_text().startswith("<svg")
    event = json.loads(invoke("recent", "--db", db, "--window", "400d", "--now", "2026-06-01T00:00:00",
                              "--limit", "1", "--json"))["events"][0]
    who = event["customer"] or event["anonymous_customer_id"]
    journey = invoke("journey", who, "--db", db, "--limit", "5")
    assert who in journey and "query " in journey
    assert "next activity" in invoke("journey", "--db", db, "--limit", "3")


def test_bad_requests_are_one_line_errors(db):
    out = run("funnel", "signup_started", "--db", db)
    assert out.returncode == 1
    assert out.stderr.strip() == "error [funnel_step_count]: A funnel needs between 2 and 10 steps; got 1."
