"""Migration of generated v1.0 and v1.1 streams, on DuckDB and on Snowflake (fakesnow)."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid

import pytest

from activityschema.errors import ValidationError
from activityschema.migrate import migrate, parse_mapping, validate_migration
from activityschema.schema.record import derive_activity_id
from tests.conftest import NOW
from tests.v1_streams import create_v1_table, expected_id, v1_rows

CLI = [sys.executable, "-m", "activityschema.interfaces.cli_entry"]
MAPPING = {"features": {"visited_page": {"feature_1": "page", "feature_2": "referrer"},
                        "completed_order": {"feature_1": "order_id", "feature_3": None}},
           "lineage": {"_activity_source": None}}
ROWS_SQL = "SELECT activity_id, ts, activity, customer, anonymous_customer_id, feature_json, activity_occurrence FROM activities ORDER BY activity_id"


def stream(version, n=24):
    rows = v1_rows(n, version=version)
    rows.append(dict(rows[3]))                           # an exact duplicate
    rows.append({**rows[4], "feature_1": "corrupted"})   # same customer, activity, ts; other content
    rows.append({**rows[5], "ts": None})                 # no ts: cannot be migrated
    return rows


def meta(store):
    return dict(store.fetchall("SELECT key, value FROM schema_meta"))


@pytest.mark.parametrize("version", ["v1.0", "v1.1"])
def test_v1_stream_migrates_without_losing_a_row_reruns_stably_and_detects_tampering(any_store, version):
    rows = stream(version)
    create_v1_table(any_store, rows, version=version)
    mapping = parse_mapping(MAPPING)

    plan = migrate(any_store, mapping=mapping, dry_run=True, now=NOW)
    assert (plan.status, plan.source_version, plan.source_rows) == ("planned", version, len(rows))
    assert (plan.kept, plan.duplicates, plan.conflicts, plan.invalid) == (len(rows) - 3, 1, 1, 1)
    assert any_store.fetchone("SELECT count(*) FROM rejected_activities")[0] == 0  # a dry run changes nothing
    assert "migrated_from" not in meta(any_store)

    done = migrate(any_store, mapping=mapping, now=NOW)
    assert done.status == "migrated" and done.reconciles and done.validation.ok
    assert done.archive_table == "activities_v1" and done.inserted == plan.kept
    assert [c.name for c in done.validation.checks] == [
        "rows_converted", "kept_stored", "duplicates_resolved", "rejects_stored", "ids_unique", "ts_range",
        "helper_columns", "sample_checksum", "sample_customers"]
    ids = {r[0] for r in any_store.fetchall("SELECT activity_id FROM activities")}
    assert ids == {expected_id(r["customer"], r.get("anonymous_customer_id"), r["activity"], r["ts"])
                   for r in rows if r["ts"] is not None}
    codes = sorted(json.loads(r[0]) if isinstance(r[0], str) else r[0]
                   for r in any_store.fetchall("SELECT reason_codes FROM rejected_activities"))
    assert codes == [["conflict"], ["invalid_ts"]]
    assert meta(any_store)["migrated_from"] == version and meta(any_store)["spec_version"] == "2.0"

    visit = next(r for r in rows[:-3] if r["activity"] == "visited_page" and r["feature_1"] and r["feature_2"])
    vid = expected_id(visit["customer"], visit.get("anonymous_customer_id"), visit["activity"], visit["ts"])
    folded = json.loads(any_store.fetchone("SELECT feature_json FROM activities WHERE activity_id = ?", [vid])[0])
    assert folded == {"page": visit["feature_1"], "referrer": visit["feature_2"], "source": visit["source"],
                      "source_id": visit["source_id"]}
    if version == "v1.1":
        assert_identities_linked_and_stitched(any_store, rows[:-3])

    before = any_store.fetchall(ROWS_SQL)
    again = migrate(any_store, mapping=mapping, now=NOW)
    assert (again.status, again.source_table, again.inserted, again.validation.ok) == ("migrated", "activities_v1", 0, True)
    assert any_store.fetchall(ROWS_SQL) == before
    assert any_store.fetchone("SELECT count(*) FROM rejected_activities")[0] == 2

    # A stream corrupted after the migration: one row lost, one ts moved.
    victim, changed = [r[0] for r in any_store.fetchall("SELECT activity_id FROM activities ORDER BY activity_id LIMIT 2")]
    any_store.execute("DELETE FROM activities WHERE activity_id = ?", [victim])
    any_store.execute("UPDATE activities SET ts = ts + INTERVAL 1 SECOND WHERE activity_id = ?", [changed])
    report = validate_migration(any_store, mapping=mapping)
    assert report.status == "invalid"
    assert {"kept_stored", "sample_checksum"} <= {c.name for c in report.validation.failed}
    with pytest.raises(ValidationError, match="Migration validation failed: kept_stored") as info:
        report.validation.raise_if_failed()
    assert info.value.code == "migration_validation_failed" and info.value.details["ok"] is False


def assert_identities_linked_and_stitched(store, rows):
    first_link = {}
    linking = [r for r in rows if r["customer"] and r["anonymous_customer_id"]]
    for r in sorted(linking, key=lambda r: (r["ts"], expected_id(r["customer"], r["anonymous_customer_id"],
                                                                  r["activity"], r["ts"]))):
        first_link.setdefault(r["anonymous_customer_id"], r["customer"])
    assert first_link and dict(store.fetchall("SELECT anonymous_customer_id, customer FROM identity_map")) == first_link
    orphans = store.fetchone(
        "SELECT count(*) FROM activities a JOIN identity_map m ON a.anonymous_customer_id = m.anonymous_customer_id "
        "WHERE a.customer IS NULL")[0]
    assert orphans == 0


def test_source_ids_are_kept_canonical_or_derived_like_import(any_store):
    given = [str(uuid.UUID(int=7)).upper(), uuid.UUID(int=8).hex, "legacy-42", None]
    rows = v1_rows(4)
    for row, aid in zip(rows, given, strict=True):
        row["activity_id"] = aid
    create_v1_table_with_ids(any_store, rows)
    report = migrate(any_store, source_table="events_v1", now=NOW)
    assert report.ids == {"source": 2, "derived": 1, "backfilled": 1}
    stored = {r[0] for r in any_store.fetchall("SELECT activity_id FROM activities")}
    assert stored == {str(uuid.UUID(int=7)), str(uuid.UUID(int=8)), derive_activity_id("legacy-42"),
                      expected_id(rows[3]["customer"], None, rows[3]["activity"], rows[3]["ts"])}


def create_v1_table_with_ids(store, rows):
    create_v1_table(store, rows, name="events_v1")
    with (store.write() if store.dialect == "duckdb" else store.session()) as con:
        con.execute("ALTER TABLE events_v1 ADD COLUMN activity_id VARCHAR")
        for row in rows:
            con.execute("UPDATE events_v1 SET activity_id = ? WHERE source_id = ?", [row["activity_id"], row["source_id"]])


def test_store_that_disagrees_with_the_stream_fails_and_records_nothing(any_store):
    rows = v1_rows(12)
    create_v1_table(any_store, rows, name="legacy_events", drop_existing=False)
    clash = expected_id(rows[0]["customer"], None, rows[0]["activity"], rows[0]["ts"])
    any_store.execute("INSERT INTO activities (activity_id, ts, activity, customer, feature_json, _content_hash) "
                      "SELECT ?, CAST(? AS TIMESTAMP), 'other_activity', 'someone', NULL, 'x'", [clash, rows[0]["ts"]])
    with pytest.raises(ValidationError, match="sample_checksum") as info:
        migrate(any_store, source_table="legacy_events", now=NOW)
    assert "mismatching ids: " + clash in json.dumps(info.value.details)
    assert "migrated_from" not in meta(any_store)
    if any_store.dialect == "duckdb":
        # Rolled back as one transaction. (fakesnow commits before a MERGE, which Snowflake does not,
        # so the emulator cannot show the rollback of the data steps.)
        assert any_store.fetchone("SELECT count(*) FROM activities")[0] == 1


def test_nothing_to_migrate_on_a_v2_store(any_store):
    report = migrate(any_store, now=NOW)
    assert (report.status, report.source_table) == ("up_to_date", None)


def test_cli_dry_run_migrate_and_validate(tmp_path):
    from activityschema.store.duckdb import DuckDBStore

    db = str(tmp_path / "v1.duckdb")
    store = DuckDBStore(db)
    create_v1_table(store, stream("v1.0", 15))
    store.close()
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text("features:\n  visited_page: {feature_1: page}\nlineage: {_activity_source: null}\n")

    dry = subprocess.run([*CLI, "migrate", "--db", db, "--mapping", str(mapping), "--dry-run", "--json"],
                         capture_output=True, text=True, timeout=120)
    assert dry.returncode == 0, dry.stderr
    assert json.loads(dry.stdout)["status"] == "planned" and json.loads(dry.stdout)["conflicts"] == 1
    done = subprocess.run([*CLI, "migrate", "--db", db, "--mapping", str(mapping)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "Migrated" in done.stdout and "sample_checksum" in done.stdout
    check = subprocess.run([*CLI, "migrate", "--db", db, "--mapping", str(mapping), "--validate-only", "--json"],
                           capture_output=True, text=True, timeout=120)
    assert check.returncode == 0 and json.loads(check.stdout)["validation"]["ok"] is True
