"""Snowflake DDL: parses as Snowflake SQL, applies in the emulator; policy text is checked as text
(the emulator has no row access or masking policies)."""

from __future__ import annotations

import subprocess
import sys

import pytest
import sqlglot
from sqlglot import exp

from activityschema.errors import ConfigError
from activityschema.schema.ddl import render_ddl
from activityschema.schema.ddl_snowflake import PolicyOptions, policy_ddl, transpile_table
from tests.backends import fake_snowflake

CLI = [sys.executable, "-m", "activityschema.interfaces.cli_entry"]
FEATURE_TABLE = """
CREATE TABLE IF NOT EXISTS insight_atoms_probe (
    atom_id VARCHAR PRIMARY KEY, customer_id VARCHAR NOT NULL, value JSON, tags VARCHAR[],
    ts TIMESTAMP NOT NULL, ttl DOUBLE, version INTEGER DEFAULT 1
)"""


def test_every_statement_parses_as_snowflake_with_the_spec_types():
    statements = render_ddl("snowflake")
    creates = [sqlglot.parse_one(s, read="snowflake") for s in statements[:-1]]
    assert all(isinstance(c, exp.Create) for c in creates)
    activities = next(c for c in creates if c.this.this.name == "activities")
    types = {col.name: col.args["kind"].sql("snowflake") for col in activities.find_all(exp.ColumnDef)}
    assert types["ts"] == "TIMESTAMPNTZ(6)" and types["feature_json"] == "VARIANT"
    assert types["activity"] == "VARCHAR(100)" and types["link"] == "VARCHAR(2000)"
    assert "CLUSTER BY (TO_DATE(ts), activity)" in activities.sql("snowflake")
    assert statements[-1] == "ALTER TABLE activities RESUME RECLUSTER;"
    assert not any("AUTO_RECLUSTERING" in s for s in statements)


def test_the_ddl_applies_in_the_emulator_and_is_idempotent():
    with fake_snowflake() as fs:
        cur = fs.connect(database="DDLTEST", schema="PUBLIC").cursor()
        for _ in range(2):
            for statement in render_ddl("snowflake"):
                cur.execute(statement)
        cur.execute("SELECT lower(table_name) FROM information_schema.tables WHERE table_schema = 'PUBLIC'")
        assert {r[0] for r in cur.fetchall()} >= {"activities", "rejected_activities", "identity_map",
                                                  "load_batches", "touched_actors", "schema_meta"}


def test_feature_tables_without_snowflake_ddl_are_transpiled_and_apply():
    sql = transpile_table(FEATURE_TABLE)
    tree = sqlglot.parse_one(sql, read="snowflake")
    types = {col.name: col.args["kind"].sql("snowflake") for col in tree.find_all(exp.ColumnDef)}
    assert types == {"atom_id": "VARCHAR", "customer_id": "VARCHAR", "value": "VARIANT", "tags": "ARRAY",
                     "ts": "TIMESTAMPNTZ", "ttl": "DOUBLE", "version": "INT"}
    with fake_snowflake() as fs:
        fs.connect(database="DDLTEST", schema="PUBLIC").cursor().execute(sql)


def test_policies_protect_actors_by_row_access_and_mask_pii_features():
    text = "\n".join(policy_ddl(PolicyOptions(admin_role="ANALYTICS_ADMIN", pii_role="pii_reader",
                                              pii_keys=("email", "ip"))))
    assert "CREATE ROW ACCESS POLICY IF NOT EXISTS activityschema_actor_access" in text
    assert "AS (customer VARCHAR, anonymous_customer_id VARCHAR) RETURNS BOOLEAN ->" in text
    assert "IS_ROLE_IN_SESSION('ANALYTICS_ADMIN')" in text and "IS_ROLE_IN_SESSION('PII_READER')" in text
    assert "OBJECT_DELETE(val, 'email', 'ip')" in text
    assert "ALTER TABLE activities ADD ROW ACCESS POLICY activityschema_actor_access ON (customer, anonymous_customer_id);" in text
    assert "ALTER TABLE activities MODIFY COLUMN feature_json SET MASKING POLICY activityschema_mask_features;" in text
    assert "MODIFY COLUMN customer" not in text  # a column may not be in a row access and a masking policy


@pytest.mark.parametrize("options, message", [
    ({"admin_role": "ADMIN; DROP TABLE activities"}, "not a valid Snowflake role name"),
    ({"pii_keys": ("email'--",)}, "PII key"),
])
def test_policy_names_are_checked_before_they_reach_sql(options, message):
    with pytest.raises(ConfigError, match=message):
        PolicyOptions(**options)


def test_cli_prints_ddl_per_dialect():
    out = subprocess.run([*CLI, "ddl", "--dialect", "snowflake", "--policies", "--pii-key", "email"],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "TIMESTAMP_NTZ(6)" in out.stdout and "OBJECT_DELETE(val, 'email')" in out.stdout


@pytest.mark.parametrize("args, message", [
    (["--dialect", "duckdb", "--policies"], "--policies needs --dialect snowflake"),
    (["--dialect", "snowflak"], "Unknown dialect 'snowflak'. Did you mean 'snowflake'?"),
])
def test_cli_ddl_errors_name_what_is_allowed(args, message):
    from typer.testing import CliRunner

    from activityschema.interfaces.cli import app

    result = CliRunner().invoke(app, ["ddl", *args])
    assert isinstance(result.exception, ConfigError) and message in str(result.exception)
