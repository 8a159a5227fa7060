"""Governance from the command line, run as real subprocesses."""

from __future__ import annotations

import json
import subprocess
import sys

from activityschema.governance import consent
from activityschema.ingest.importer import ingest_records
from activityschema.store.duckdb import DuckDBStore
from tests.conftest import NOW, event
from tests.governance_support import table_traces

CLI = [sys.executable, "-m", "activityschema.interfaces.cli_entry"]


def run(*args, db):
    return subprocess.run([*CLI, *args, "--db", db], capture_output=True, text=True, timeout=120)


def test_forget_export_consent_share_disclosure_audit(tmp_path):
    db = str(tmp_path / "cli.duckdb")
    with DuckDBStore(db) as s:
        ingest_records(s, [event("page_viewed", "2026-01-01T00:00:00Z", "gone-cust-1", 1, anonymous_customer_id="gone-anon-1"),
                           event("page_viewed", "2026-01-02T00:00:00Z", "kept-cust-2", 2),
                           event("consent_updated", "2026-01-03T00:00:00Z", "kept-cust-2", 3, feature_json={"do_not_sell": True})],
                       now=NOW)
    forgot = run("forget", "gone-cust-1", "--reason", "GDPR-42", "--compact", "--json", db=db)
    assert forgot.returncode == 0, forgot.stderr
    assert json.loads(forgot.stdout)["complete"] and json.loads(forgot.stdout)["compacted"]["bytes_after"] > 0
    exported = run("export", "kept-cust-2", "--output", str(tmp_path / "k.json"), "--json", db=db)
    assert json.loads(exported.stdout)["activities"] == 2
    shared = run("share", str(tmp_path / "s.ndjson"), "--recipient", "broker", "--purpose", "sale", "--json", db=db)
    assert json.loads(shared.stdout)["excluded_do_not_sell"] == 1 and json.loads(shared.stdout)["rows"] == 0
    verify = run("audit", "verify", "--json", db=db)
    assert json.loads(verify.stdout)["ok"] and json.loads(verify.stdout)["entries"] == 3
    with DuckDBStore(db) as s:
        assert table_traces(s, ["gone-cust-1", "gone-anon-1"]) == []
        actions = [r[0] for r in s.fetchall("SELECT action FROM audit_log ORDER BY seq")]
        assert actions == ["forget", "export_customer", "share", "audit_verify"]
        s.execute("UPDATE audit_log SET actor = 'someone-else' WHERE seq = 2")
    tampered = run("audit", "verify", db=db)
    assert tampered.returncode == 1 and "entry 2" in tampered.stdout


def test_consent_retention_and_user_errors(tmp_path):
    db = str(tmp_path / "cli.duckdb")
    with DuckDBStore(db) as s:
        ingest_records(s, [event("page_viewed", "2025-01-01T00:00:00Z", "c1", 1)], now=NOW)
    assert run("consent", "set", "c1", "tracking=false", db=db).returncode == 0
    with DuckDBStore(db) as s:
        assert consent.consent_state(s, "c1")["tracking"]["value"] is False
    bad = run("consent", "set", "c1", "tracking", db=db)
    assert bad.returncode == 1 and bad.stderr.startswith("error [invalid_consent_flag]")
    assert run("retention-policy", "set", "page_*", "30", db=db).returncode == 0
    dry = json.loads(run("retention-policy", "apply", "--dry-run", "--now", "2026-06-01T00:00:00", "--json", db=db).stdout)
    assert dry["events"] == 1 and dry["dry_run"]
    wrong = run("retention-policy", "set", "Page*", "30", db=db)
    assert wrong.returncode == 1 and "invalid_retention_pattern" in wrong.stderr and "Traceback" not in wrong.stderr
