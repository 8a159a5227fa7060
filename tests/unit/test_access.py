"""API keys: stored hashed, scopes, row scope, revocation."""

from __future__ import annotations

import pytest

from activityschema.errors import AuthError, NotFoundError, PermissionDenied, ValidationError
from activityschema.governance.access import (
    KeyRing,
    authenticate,
    bearer_token,
    create_key,
    list_keys,
    revoke_key,
)


def test_keys_are_stored_hashed_and_authenticate(store):
    described, key = create_key(store, "agent", ["query", "ingest"], customers=["c2", "c1"])
    assert key.startswith("as_" + described["key_id"] + "_")
    stored = store.fetchone("SELECT secret_hash FROM api_keys")[0]
    assert key not in stored and key.split("_")[-1] not in stored
    principal = authenticate(store, key)
    assert principal.scopes == frozenset({"ingest", "query"}) and principal.customers == frozenset({"c1", "c2"})
    assert principal.scope.actors == frozenset({"c1", "c2"})
    principal.require("query")
    with pytest.raises(PermissionDenied, match="lacks the 'admin' scope"):
        principal.require("admin")
    assert list_keys(store)[0]["customers"] == ["c1", "c2"] and "secret_hash" not in list_keys(store)[0]


def test_bad_missing_and_revoked_keys_are_refused(store):
    described, key = create_key(store, "ops", ["admin"])
    admin = authenticate(store, key)
    admin.require("ingest")  # admin implies every scope
    for bad in (None, "", "nonsense", key[:-1] + ("A" if key[-1] != "A" else "B"), "as_k000000000000_" + "x" * 43):
        with pytest.raises(AuthError):
            authenticate(store, bad)
    ring = KeyRing(store)
    assert ring.authenticate(key).key_id == described["key_id"]
    revoke_key(store, described["key_id"])
    ring.forget(described["key_id"])
    with pytest.raises(AuthError, match="revoked"):
        ring.authenticate(key)
    with pytest.raises(NotFoundError):
        revoke_key(store, "k000000000000")


def test_key_inputs_are_validated(store):
    with pytest.raises(ValidationError, match="Scopes must be one or more of ingest, query, admin; got root"):
        create_key(store, "x", ["root"])
    with pytest.raises(ValidationError, match="name"):
        create_key(store, "", ["query"])
    with pytest.raises(ValidationError, match="customers"):
        create_key(store, "x", ["query"], customers=[])


def test_bearer_header_parsing():
    assert bearer_token("Bearer abc") == "abc" and bearer_token("bearer  abc ") == "abc"
    assert bearer_token("Basic abc") is None and bearer_token(None) is None and bearer_token("Bearer ") is None
