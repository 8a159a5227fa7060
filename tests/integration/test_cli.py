"""The command line, run as a real subprocess like a user would."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.conftest import event

CLI = [sys.executable, "-m", "activityschema.interfaces.cli_entry"]


def run(*args, stdin=None, env=None):
    return subprocess.run([*CLI, *args], input=stdin, capture_output=True, text=True, env=env, timeout=120)


def test_import_stats_sql_and_rejects(tmp_path):
    db = str(tmp_path / "cli.duckdb")
    src = tmp_path / "e.ndjson"
    src.write_text("\n".join(json.dumps(event("visited_page", f"2026-01-0{i}T00:00:00Z", "c1", i)) for i in range(1, 4)) + "\n{oops\n")
    out = run("import", str(src), "--db", db, "--json")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["accepted"] == 3 and json.loads(out.stdout)["rejected"] == 1
    stats = json.loads(run("stats", "--db", db, "--json").stdout)
    assert stats[0]["activity"] == "visited_page" and stats[0]["events"] == 3
    rows = json.loads(run("sql", "SELECT count(*) AS n FROM activities", "--db", db, "--json").stdout)
    assert rows == [{"n": 3}]
    rejects = json.loads(run("rejects", "list", "--db", db, "--json").stdout)
    assert rejects[0]["reason_codes"] == ["invalid_json"]


def test_stdin_import(tmp_path):
    db = str(tmp_path / "cli.duckdb")
    out = run("import", "-", "--db", db, "--json", stdin=json.dumps(event("user_signup", "2026-01-01T00:00:00Z")) + "\n")
    assert json.loads(out.stdout)["accepted"] == 1


def test_sql_refuses_writes_and_file_access_with_one_line(tmp_path):
    db = str(tmp_path / "cli.duckdb")
    run("init", "--db", db)
    for query in ["DELETE FROM activities", "DROP TABLE activities", "SELECT * FROM read_csv('/etc/passwd')",
                  "SELECT 1; DELETE FROM activities", "COPY activities TO '/tmp/x.csv'"]:
        out = run("sql", query, "--db", db)
        assert out.returncode == 1, query
        assert out.stderr.startswith("error [") and len(out.stderr.strip().splitlines()) == 1, out.stderr
    out = run("sql", "SELECT * FROM '/etc/passwd'", "--db", db)
    assert out.returncode == 1 and "Traceback" not in out.stderr


def test_user_mistakes_are_one_line_errors(tmp_path):
    out = run("import", str(tmp_path / "nope.ndjson"), "--db", str(tmp_path / "x.duckdb"))
    assert out.returncode == 1
    assert out.stderr.strip() == f"error [file_not_found]: File '{tmp_path / 'nope.ndjson'}' does not exist or is not a file."
    out = run("frobnicate")
    assert out.returncode == 2


def test_db_from_environment(tmp_path):
    import os
    env = {**os.environ, "ACTIVITYSCHEMA_DB": str(tmp_path / "env.duckdb")}
    assert run("init", env=env).returncode == 0
    assert (tmp_path / "env.duckdb").exists()


def test_lint_reports_advice(tmp_path):
    out = run("lint", "user_signup", "users_login_done", "email_jane_doe_example_com_5551234567", "--json")
    assert out.returncode == 0
    findings = json.loads(out.stdout)
    assert findings["user_signup"] == []
    assert any(f["code"] == "pii_in_name" for f in findings["email_jane_doe_example_com_5551234567"])
