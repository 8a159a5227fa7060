"""Ingest check: keep the opt-out entries of the suppression list in step with consent events.

Runs before the suppression check, so an opt-out in a batch applies to the rest of that batch. For
each actor with a valid, new ``consent_updated`` event carrying ``tracking`` in the batch, the latest
``tracking`` value over its stored and new consent events decides: false puts the actor on the list
with reason ``opted_out``, true takes it off. The actor of an anonymous event already linked to a
customer is that customer. Opt-out applies from the moment of ingest to every later batch (the
current state, not the state at each event's ts).
"""

from __future__ import annotations

from datetime import UTC, datetime

import duckdb

from ...governance import keys, suppression
from ...governance.consent import CONSENT_ACTIVITY, FALSE_TEXTS, TRACKING_FLAG, TRUE_TEXTS

ORDER = 10
_VALUES = TRUE_TEXTS + FALSE_TEXTS

NEW_SQL = f"""
CREATE OR REPLACE TEMP TABLE _consent_new AS
SELECT coalesce(t.customer, m.customer, t.anonymous_customer_id) AS actor,
       coalesce(t.customer, m.customer) IS NOT NULL AS is_customer,
       t.ts, t.activity_id,
       lower(json_extract_string(t.feature_json, '$.{TRACKING_FLAG}')) AS v
FROM @T@ t
LEFT JOIN identity_map m ON t.customer IS NULL AND m.anonymous_customer_id = t.anonymous_customer_id
WHERE len(t.reasons) = 0 AND t.activity = '{CONSENT_ACTIVITY}'
  AND lower(json_extract_string(t.feature_json, '$.{TRACKING_FLAG}')) IN {_VALUES}
  -- Stored ids among the batch's consent events only: the hash table holds those, not every stored id.
  AND t.activity_id NOT IN (SELECT a.activity_id FROM activities a
                            SEMI JOIN @T@ b ON b.activity_id = a.activity_id AND b.activity = '{CONSENT_ACTIVITY}')
  AND coalesce(t.customer, m.customer, t.anonymous_customer_id) IS NOT NULL
"""

STATE_SQL = f"""
WITH ev AS (
    SELECT coalesce(customer, anonymous_customer_id) AS actor, customer IS NOT NULL AS is_customer, ts, activity_id,
           lower(json_extract_string(feature_json, '$.{TRACKING_FLAG}')) AS v
    FROM activities
    WHERE activity = '{CONSENT_ACTIVITY}'
      AND coalesce(customer, anonymous_customer_id) IN (SELECT actor FROM _consent_new)
    UNION ALL
    SELECT actor, is_customer, ts, activity_id, v FROM _consent_new
)
SELECT actor, bool_or(is_customer), arg_max(v, (ts, activity_id))
FROM ev
WHERE v IN {_VALUES}
GROUP BY actor
"""


ANY_SQL = f"SELECT count(*) FROM @T@ WHERE activity = '{CONSENT_ACTIVITY}' AND len(reasons) = 0"


def check(con: duckdb.DuckDBPyConnection, table: str, raw_table: str = "_raw") -> None:
    # Cheap test first: most batches carry no consent event and must not pay for the lookups below.
    row = con.execute(ANY_SQL.replace("@T@", table)).fetchone()
    if not row or not row[0]:
        return
    con.execute(NEW_SQL.replace("@T@", table))
    row = con.execute("SELECT count(*) FROM _consent_new").fetchone()
    if not row or not row[0]:
        return
    secret = keys.hash_secret(con)
    now = datetime.now(UTC).replace(tzinfo=None)
    for actor, is_customer, latest in con.execute(STATE_SQL).fetchall():
        suppression.set_opt_out(con, secret, actor, latest in FALSE_TEXTS, is_customer=bool(is_customer),
                                by="consent", now=now)
