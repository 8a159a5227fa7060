"""Ingest check: encrypt the configured feature_json keys before anything is stored.

Runs last, on every row that will be stored (valid rows carrying a configured key) and on every row
that will become a reject (its kept payload), so neither the activities table nor the rejects table
ever holds a configured key in clear text. The payload of a valid row is rewritten as well, because
a conflicting record is kept in the rejects table by its payload. With keys configured and no master
key, the load fails (``master_key_missing``) rather than store clear text.
"""

from __future__ import annotations

import json
from typing import Any

import duckdb
import pyarrow as pa

from ...governance import crypto, keys, policies

ORDER = 90

CANDIDATES_SQL = """
SELECT t._seq, len(t.reasons) = 0 AS valid, t.customer, t.anonymous_customer_id,
       CAST(t.feature_json AS VARCHAR) AS features, r.payload
FROM @T@ t JOIN @RAW@ r ON r._seq = t._seq
WHERE len(t.reasons) > 0 OR list_has_any(json_keys(t.feature_json), $keys)
"""

APPLY_SQL = """
UPDATE @T@ SET feature_json = coalesce(CAST(u.features AS JSON), @T@.feature_json)
FROM _enc_updates u
WHERE @T@._seq = u._seq;
UPDATE @RAW@ SET payload = u.payload
FROM _enc_updates u
WHERE @RAW@._seq = u._seq;
"""


def _payload_actor(payload: dict[str, Any]) -> str | None:
    for key in ("customer", "anonymous_customer_id"):
        if isinstance(payload.get(key), str) and payload[key]:
            return str(payload[key])
    return None


def _encrypt_payload(cipher: crypto.FieldCipher, secret: bytes, payload: Any, wanted: list[str],
                     features: dict[str, Any] | None) -> str | None:
    """The payload with its feature_json keys encrypted, or None when nothing changes."""
    if not isinstance(payload, dict):
        return None
    if features is None:
        raw = payload.get("feature_json")
        if isinstance(raw, str):
            try:
                raw = json.loads(raw)
            except ValueError:
                return None
        if not isinstance(raw, dict):
            return None
        kid = crypto.data_key_id(secret, _payload_actor(payload))
        cipher.ensure([kid])
        features, n = crypto.encrypt_features(cipher, kid, raw, wanted)
        if not n:
            return None
    return json.dumps({**payload, "feature_json": features}, ensure_ascii=False)


def check(con: duckdb.DuckDBPyConnection, table: str, raw_table: str) -> None:
    wanted = policies.read_policy(con, "encrypt_keys")
    if not wanted:
        return
    rows = con.execute(CANDIDATES_SQL.replace("@T@", table).replace("@RAW@", raw_table), {"keys": wanted}).fetchall()
    if not rows:
        return
    secret = keys.hash_secret(con)
    cipher = crypto.cipher_for(con, secret=secret)
    cipher.ensure({crypto.data_key_id(secret, c or a) for _, valid, c, a, _, _ in rows if valid})
    updates: dict[str, list[Any]] = {"_seq": [], "features": [], "payload": []}
    for seq, valid, customer, anon, features_text, payload_text in rows:
        new_features = None
        if valid:
            kid = crypto.data_key_id(secret, customer or anon)
            features, n = crypto.encrypt_features(cipher, kid, json.loads(features_text), wanted)
            if not n:
                continue
            new_features = features
        try:
            payload = json.loads(payload_text)
        except ValueError:
            continue
        new_payload = _encrypt_payload(cipher, secret, payload, wanted, new_features)
        if new_payload is None and new_features is None:
            continue
        updates["_seq"].append(seq)
        updates["features"].append(None if new_features is None else json.dumps(new_features, ensure_ascii=False))
        updates["payload"].append(new_payload if new_payload is not None else payload_text)
    if not updates["_seq"]:
        return
    con.register("_enc_updates_arrow", pa.table(updates))
    con.execute("CREATE OR REPLACE TEMP TABLE _enc_updates AS SELECT * FROM _enc_updates_arrow")
    con.unregister("_enc_updates_arrow")
    con.execute(APPLY_SQL.replace("@T@", table).replace("@RAW@", raw_table))
