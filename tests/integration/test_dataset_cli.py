"""``activityschema dataset``, ``provenance`` and ``templates``, run as real subprocesses."""

from __future__ import annotations

import csv
import json
import os

import pyarrow.parquet as pq
import pytest

from activityschema.ingest.importer import ingest_records
from activityschema.store.duckdb import DuckDBStore
from tests.conftest import NOW, event
from tests.integration.test_cli import run

WIDE = {**os.environ, "COLUMNS": "400"}  # a wide terminal, so table headers are not folded

REQUEST = {
    "cohort": {"activity": "user_signed_up", "columns": ["customer", "ts"]},
    "append": [
        {"relationship": "first_after", "activity": "order_completed", "columns": ["ts", "revenue_impact"]},
        {"relationship": "aggregate_after", "activity": "order_completed", "aggregate": "count"},
    ],
}
COLUMNS = ["customer", "ts", "first_after_order_completed_ts", "first_after_order_completed_revenue_impact",
           "aggregate_after_order_completed_count"]


@pytest.fixture
def shop(tmp_path):
    db = str(tmp_path / "shop.duckdb")
    with DuckDBStore(db) as store:
        ingest_records(store, [event("user_signed_up", "2026-01-01T00:00:00Z", "c1", 1),
                               event("order_completed", "2026-01-02T03:04:05.123456Z", "c1", 2, revenue_impact=12.5),
                               event("user_signed_up", "2026-01-03T00:00:00Z", "c2", 3)], now=NOW)
    req = tmp_path / "req.json"
    req.write_text(json.dumps(REQUEST))
    return db, req


def test_dataset_prints_a_table_and_the_hash_then_provenance_shows_and_reruns_it(shop):
    db, req = shop
    out = run("dataset", str(req), "--db", db, env=WIDE)
    assert out.returncode == 0 and out.stderr == "", out.stderr
    assert "first_after_order_completed_ts" in out.stdout and "query hash" in out.stdout
    data = json.loads(run("dataset", str(req), "--db", db, "--json").stdout)
    assert data["row_count"] == 2 and data["template"] == "dataset"
    assert data["rows"][0]["first_after_order_completed_revenue_impact"] == 12.5
    digest = data["query_hash"]
    assert digest in out.stdout

    shown = run("provenance", digest, "--db", db, env=WIDE)
    assert shown.returncode == 0, shown.stderr
    assert "template dataset" in shown.stdout and "WITH cohort_rows AS" in shown.stdout
    info = json.loads(run("provenance", digest, "--db", db, "--json").stdout)
    assert info["template_name"] == "dataset" and info["runs"] == 2
    assert info["parameters"]["cohort"]["activity"] == "user_signed_up"  # readable, not JSON text
    again = json.loads(run("provenance", digest, "--db", db, "--rerun", "--json").stdout)
    assert again["result"]["query_hash"] == digest and again["result"]["rows"] == data["rows"]


def test_output_files_hold_the_whole_result(shop, tmp_path):
    db, req = shop
    csv_path, parquet_path = tmp_path / "out.csv", tmp_path / "out.parquet"
    assert run("dataset", str(req), "--db", db, "--output", str(csv_path)).returncode == 0
    assert run("dataset", str(req), "--db", db, "-o", str(parquet_path)).returncode == 0
    lines = csv_path.read_text().splitlines()
    assert next(csv.reader(lines[:1])) == COLUMNS
    assert lines[1] == '"c1","2026-01-01T00:00:00.000000Z","2026-01-02T03:04:05.123456Z",12.5,1'
    assert lines[2] == '"c2","2026-01-03T00:00:00.000000Z",,,0'  # NULL is an empty field
    table = pq.read_table(parquet_path)
    assert table.column_names == COLUMNS and table.num_rows == 2


def test_yaml_and_stdin_requests(shop, tmp_path):
    import yaml

    db, _ = shop
    req = tmp_path / "req.yaml"
    req.write_text(yaml.safe_dump(REQUEST))
    out = run("dataset", str(req), "--db", db, "--json")
    assert json.loads(out.stdout)["row_count"] == 2
    out = run("dataset", "-", "--db", db, "--json", stdin=json.dumps(REQUEST))
    assert json.loads(out.stdout)["row_count"] == 2


@pytest.mark.parametrize(("args", "code"), [
    (["--output", "out.xlsx"], "invalid_output_format"),
    (["BAD_REQUEST"], "invalid_request"),
    (["UNKNOWN_ACTIVITY"], "unknown_activity"),
    (["INVALID"], "invalid_params"),
    (["MISSING"], "file_not_found"),
])
def test_mistakes_are_one_line_errors(shop, tmp_path, args, code):
    db, req = shop
    bodies = {"BAD_REQUEST": "{not json", "UNKNOWN_ACTIVITY": json.dumps({"cohort": {"activity": "user_signed_upp"}}),
              "INVALID": json.dumps({"cohort": {"activity": "user_signed_up", "select": "everything"}})}
    if args[0] in bodies:
        req = tmp_path / "bad.json"
        req.write_text(bodies[args[0]])
        args = []
    elif args[0] == "MISSING":
        req, args = tmp_path / "missing.json", []
    out = run("dataset", str(req), "--db", db, *args)
    assert out.returncode == 1
    assert out.stderr.startswith(f"error [{code}]") and len(out.stderr.strip().splitlines()) == 1, out.stderr


def test_unknown_hash_and_template_listing(shop):
    db, _ = shop
    out = run("provenance", "0123456789abcdef", "--db", db)
    assert out.returncode == 1 and out.stderr.startswith("error [unknown_query_hash]")
    listed = json.loads(run("templates", "--json").stdout)
    dataset = next(t for t in listed if t["name"] == "dataset")
    assert dataset["parameters"] == ["append", "cohort"] and dataset["required"] == ["cohort"]
