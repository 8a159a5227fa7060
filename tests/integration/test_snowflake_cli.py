"""End to end over the wire: the CLI, switched to Snowflake by one setting, talks through the real
snowflake-connector-python (qmark and array binding, autocommit switching, commits) to the fakesnow
server on 127.0.0.1. No live Snowflake account is used."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.conftest import NOW, event

CLI = [sys.executable, "-m", "activityschema.interfaces.cli_entry"]


@pytest.fixture(scope="module")
def snowflake_env():
    import fakesnow

    with fakesnow.server() as kwargs:
        connect_args = {"host": kwargs["host"], "port": kwargs["port"], "protocol": kwargs["protocol"],
                        "network_timeout": 10, "session_parameters": kwargs["session_parameters"]}
        yield {
            **os.environ,
            "ACTIVITYSCHEMA_BACKEND": "snowflake",
            "ACTIVITYSCHEMA_SNOWFLAKE_ACCOUNT": kwargs["account"],
            "ACTIVITYSCHEMA_SNOWFLAKE_USER": kwargs["user"],
            "ACTIVITYSCHEMA_SNOWFLAKE_PASSWORD": kwargs["password"],
            "ACTIVITYSCHEMA_SNOWFLAKE_DATABASE": "CLITEST",
            "ACTIVITYSCHEMA_SNOWFLAKE_CONNECT_ARGS": json.dumps(connect_args),
        }


def run(env, *args):
    return subprocess.run([*CLI, *args], capture_output=True, text=True, env=env, timeout=180)


def test_the_real_connector_over_the_wire_loads_and_reads(snowflake_env):
    from activityschema.ingest.importer import ingest_records
    from activityschema.store.backend import opened

    env = {**snowflake_env, "ACTIVITYSCHEMA_SNOWFLAKE_DATABASE": "WIRETEST"}
    batch = [event("visited_page", f"2026-01-0{i}T00:00:00Z", "c1", i) for i in range(1, 4)]
    batch.append(event("visited_page", "2026-01-01T00:00:00Z", None, 9, anonymous_customer_id="a1"))
    with opened(env=env) as store:
        first = ingest_records(store, batch + ["{oops"], now=NOW, per_record=True)
        assert (first.accepted, first.rejected) == (4, 1)
        linking = event("signed_up", "2026-01-05T00:00:00Z", "c1", 10, anonymous_customer_id="a1")
        second = ingest_records(store, [*batch, linking], now=NOW)
        assert (second.accepted, second.duplicate) == (1, 4)
        rows = store.fetchall("SELECT customer, activity_occurrence FROM activities "
                              "WHERE activity = 'visited_page' ORDER BY ts, activity_id")
        assert rows == [("c1", 1), ("c1", 2), ("c1", 3), ("c1", 4)]


def test_cli_runs_on_snowflake_when_the_backend_setting_says_so(snowflake_env, tmp_path):
    from activityschema.store.backend import opened

    src = tmp_path / "e.ndjson"
    src.write_text("\n".join(json.dumps(event("visited_page", f"2026-01-0{i}T00:00:00Z", "c1", i)) for i in range(1, 4))
                   + "\n{oops\n")
    out = run(snowflake_env, "import", str(src), "--json")
    assert out.returncode == 0, out.stderr
    assert (json.loads(out.stdout)["accepted"], json.loads(out.stdout)["rejected"]) == (3, 1)
    with opened(env=snowflake_env, read_only=True) as store:
        assert store.fetchone("SELECT count(*), count(DISTINCT customer) FROM activities") == (3, 1)
        assert store.fetchone("SELECT count(*) FROM rejected_activities")[0] == 1


def test_rejects_commands_run_on_snowflake(snowflake_env, tmp_path):
    env = {**snowflake_env, "ACTIVITYSCHEMA_SNOWFLAKE_DATABASE": "REJECTSTEST"}
    from activityschema.ingest.importer import ingest_records
    from activityschema.ingest.rejects import list_rejects
    from activityschema.store.backend import opened

    bad = {"activity": "visited_page", "ts": "not a time", "customer": "c9", "activity_id": "00000000-0000-4000-8000-00000000000a"}
    with opened(env=env) as store:
        ingest_records(store, [event("visited_page", "2026-01-01T00:00:00Z", "c1", 1), bad], now=NOW)
    listed = run(env, "rejects", "list", "--reason", "invalid_ts", "--json")
    assert listed.returncode == 0, listed.stderr
    assert [r["reason_codes"] for r in json.loads(listed.stdout)] == [["invalid_ts"]]
    export = tmp_path / "rejects.ndjson"
    assert run(env, "rejects", "export", str(export)).returncode == 0
    line = json.loads(export.read_text())
    line["record"]["ts"] = "2026-01-02T00:00:00Z"
    export.write_text(json.dumps(line) + "\n")
    resubmitted = run(env, "rejects", "resubmit", str(export), "--json")
    assert resubmitted.returncode == 0, resubmitted.stderr
    assert json.loads(resubmitted.stdout)["accepted"] == 1
    with opened(env=env, read_only=True) as store:
        assert list_rejects(store) == [] and len(list_rejects(store, status="resubmitted")) == 1


def test_loader_command_drains_a_spool_into_snowflake(snowflake_env, tmp_path):
    from activityschema.ingest.logger import ActivityLogger
    from activityschema.store.backend import opened

    env = {**snowflake_env, "ACTIVITYSCHEMA_SNOWFLAKE_DATABASE": "LOADERTEST"}
    refused = run(env, "loader", "--once")
    assert refused.returncode == 1 and "spool_dir_required" in refused.stderr, refused.stderr
    spool = tmp_path / "spool"
    with ActivityLogger(spool) as logger:
        logger.log_many([event("visited_page", f"2026-01-0{i}T00:00:00Z", "c1", i) for i in range(1, 5)])
    first = run(env, "loader", "--once", "--spool-dir", str(spool), "--json")
    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout)["accepted"] == 4
    again = run(env, "loader", "--once", "--spool-dir", str(spool), "--json")
    assert json.loads(again.stdout)["submitted"] == 0  # offsets kept in the warehouse: no replay
    with opened(env=env) as store:
        assert store.fetchall("SELECT count(*) FROM activities") == [(4,)]
