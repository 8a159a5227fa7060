"""Keyed hashes: the SQL HMAC equals Python's; the secret is stable, wrapped when a master key exists."""

from __future__ import annotations

import hashlib
import hmac

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from activityschema.errors import GovernanceError
from activityschema.governance import keys, masterkey, policies
from activityschema.store.duckdb import DuckDBStore
from tests.governance_support import MASTER_KEY


@settings(max_examples=30, deadline=None)
@given(values=st.lists(st.text(min_size=1, max_size=40), min_size=1, max_size=5), secret=st.binary(min_size=1, max_size=80))
def test_sql_keyed_hash_is_hmac_sha256(values, secret):
    with DuckDBStore(":memory:") as s, s.write() as con:
        sql = "SELECT " + keys.keyed_hash_sql("v") + " FROM (SELECT unnest($vals) AS v)"
        got = [r[0] for r in con.execute(sql, {"vals": values, **keys.keyed_hash_params(secret)}).fetchall()]
    assert got == [hmac.new(secret, v.encode(), hashlib.sha256).hexdigest() for v in values]


def test_secret_is_created_once_and_wrapped_by_the_master_key(tmp_path):
    env = {"ACTIVITYSCHEMA_MASTER_KEY": MASTER_KEY}
    with DuckDBStore(tmp_path / "k.duckdb") as s:
        with s.write() as con:
            first = keys.hash_secret(con, env)
            assert keys.hash_secret(con, env) == first
            value, wrapped_by = con.execute("SELECT value, wrapped_by FROM governance_secrets").fetchone()
            assert wrapped_by == masterkey.key_id(masterkey.parse_key(MASTER_KEY, source="t")) and bytes(value) != first
            with pytest.raises(GovernanceError, match="master key"):
                keys.hash_secret(con, {})
    assert keys.token(first, "alice").startswith("hmac:") and len(keys.token(first, "alice")) == 5 + 32


def test_policies_validate_and_say_what_is_allowed(store):
    with pytest.raises(Exception, match="Allowed: drop, anonymize"):
        policies.set_policy(store, "opt_out_mode", "explode")
    with pytest.raises(Exception, match="Did you mean 'encrypt_keys'"):
        policies.set_policy(store, "encrypt_key", ["x"])
    assert policies.set_policy(store, "mask_keys", "ssn, email ,ssn") == ["email", "ssn"]
