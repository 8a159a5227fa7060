"""Checks only a live Snowflake account can answer (the emulator cannot; see docs/snowflake.md).

Skipped unless ACTIVITYSCHEMA_SNOWFLAKE_LIVE=1 and the snowflake_* settings point at a scratch
schema the tests may fill and drop. No live account was available when this backend was built, so
these tests have never run: they are the first thing to run when one is.
"""

from __future__ import annotations

import json
import os
import time

import pytest

from activityschema.errors import StoreError
from activityschema.ingest.importer import ingest_records
from activityschema.schema.ddl_snowflake import policy_ddl
from activityschema.store.backend import opened, tagged
from tests.conftest import NOW, event

pytestmark = [
    pytest.mark.snowflake_live,
    pytest.mark.skipif(os.environ.get("ACTIVITYSCHEMA_SNOWFLAKE_LIVE") != "1",
                       reason="no live Snowflake account available: set ACTIVITYSCHEMA_SNOWFLAKE_LIVE=1 and "
                              "the snowflake_* settings (a scratch schema) to run"),
]


@pytest.fixture
def live():
    with opened("snowflake") as store:
        yield store


def test_a_failed_load_rolls_back_the_merge(live):
    with pytest.raises(StoreError), live.write() as s:
        s.execute("INSERT INTO schema_meta (key, value) VALUES ('live_probe', 'x')")
        s.execute("MERGE INTO schema_meta t USING (SELECT 'live_probe2' AS key) x ON t.key = x.key "
                  "WHEN NOT MATCHED THEN INSERT (key, value) VALUES (x.key, 'y')")
        s.execute("INSERT INTO no_such_table VALUES (1)")
    assert live.fetchone("SELECT count(*) FROM schema_meta WHERE key LIKE 'live_probe%'")[0] == 0


def test_query_tags_reach_query_history(live):
    with tagged(live, "live_check", "feedfacecafebeef") as tag:
        live.fetchall("SELECT count(*) FROM activities")
    time.sleep(5)
    rows = live.fetchall("SELECT query_tag FROM TABLE(information_schema.query_history_by_session()) "
                         "WHERE query_tag = ?", [tag], native=True)
    assert rows and json.loads(rows[0][0])["query_hash"] == "feedfacecafebeef"


def test_array_columns_come_back_as_lists(live):
    ingest_records(live, ["{not json"], now=NOW)
    codes = live.fetchone("SELECT reason_codes FROM rejected_activities WHERE payload = '{not json'")[0]
    assert codes == ["invalid_json"]


def test_row_access_and_masking_policies_apply(live):
    ingest_records(live, [event("user_signup", "2026-01-01T00:00:00Z", "live_c1", 1,
                                feature_json={"email": "a@example.com", "plan": "pro"})], now=NOW)
    with live.session() as s:
        for statement in policy_ddl():
            s.execute(statement)
        s.execute("DELETE FROM activityschema_access_grants")
    try:
        admin, pii = live.fetchone("SELECT IS_ROLE_IN_SESSION('ACTIVITYSCHEMA_ADMIN'), "
                                   "IS_ROLE_IN_SESSION('ACTIVITYSCHEMA_PII_READER')", native=True)
        visible = live.fetchone("SELECT count(*) FROM activities WHERE customer = 'live_c1'")[0]
        assert visible == (1 if admin else 0)
        live.execute("INSERT INTO activityschema_access_grants SELECT CURRENT_ROLE(), 'live_c1'", native=True)
        email, plan = live.fetchone("SELECT feature_json:email::VARCHAR, feature_json:plan::VARCHAR FROM activities "
                                    "WHERE customer = 'live_c1'", native=True)
        assert plan == "pro" and (email is not None) == bool(admin or pii)
    finally:
        with live.session() as s:
            s.execute("ALTER TABLE activities DROP ROW ACCESS POLICY activityschema_actor_access")
            s.execute("ALTER TABLE activities MODIFY COLUMN feature_json UNSET MASKING POLICY")
            s.execute("ALTER TABLE activities MODIFY COLUMN link UNSET MASKING POLICY")
