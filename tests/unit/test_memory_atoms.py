"""Insight atoms: lineage required, latest and history reads, TTL honoured on every read, purge."""

from __future__ import annotations

from datetime import timedelta

import pytest

from activityschema.analytics.runner import Scope
from activityschema.errors import NotFoundError, PayloadTooLarge, PermissionDenied, ValidationError
from activityschema.ingest.importer import ingest_records
from activityschema.memory import atoms
from activityschema.provenance import chain
from tests.conftest import NOW, event


@pytest.fixture
def known(store):
    ingest_records(store, [event("user_signup", "2026-01-01T00:00:00Z", "c1", 1),
                           event("user_signup", "2026-01-02T00:00:00Z", "c2", 2)], now=NOW)
    digest, _ = chain.record(store, template_name="t", query_text="SELECT 1", params={}, created_by="test", now=NOW)
    return store, digest


def record(store, digest, metric="ltv", value=1, *, at=NOW, ttl=None, customer="c1", subject="account"):
    return atoms.record_atom(store, customer_id=customer, subject=subject, metric=metric, value=value,
                             provenance_query_hash=digest, ttl=ttl, now=at)


def test_latest_per_metric_and_history_newest_first(known):
    store, digest = known
    record(store, digest, "ltv", 10, at=NOW)
    record(store, digest, "ltv", 12, at=NOW + timedelta(seconds=1))
    record(store, digest, "churn", {"risk": "low"}, at=NOW)
    latest = atoms.latest_atoms(store, "c1", now=NOW + timedelta(seconds=2))
    assert [(a.metric, a.value) for a in latest] == [("churn", {"risk": "low"}), ("ltv", 12)]
    history = atoms.atom_history(store, "c1", metric="ltv", now=NOW + timedelta(seconds=2))
    assert [a.value for a in history] == [12, 10]
    assert atoms.latest_atoms(store, "c1", subject="nothing", now=NOW) == []


def test_expired_atoms_are_never_returned_and_purged(known):
    store, digest = known
    record(store, digest, "ltv", 1, at=NOW)
    record(store, digest, "ltv", 2, at=NOW + timedelta(seconds=1), ttl=10)
    assert atoms.latest_atoms(store, "c1", now=NOW + timedelta(seconds=5))[0].value == 2
    # once the newer value expires, the older (no ttl) is the latest again; history never shows the expired one
    later = NOW + timedelta(seconds=11)
    assert atoms.latest_atoms(store, "c1", now=later)[0].value == 1
    assert [a.value for a in atoms.atom_history(store, "c1", now=later)] == [1]
    # expiry is exact: at ts + ttl the atom is already gone
    assert [a.value for a in atoms.atom_history(store, "c1", now=NOW + timedelta(seconds=11))] == [1]
    assert atoms.purge_expired(store, now=later) == (1, ["c1"])
    assert store.fetchone("SELECT count(*) FROM insight_atoms")[0] == 1
    assert atoms.purge_expired(store, now=later) == (0, [])


def test_lineage_and_inputs_are_checked(known):
    store, digest = known
    with pytest.raises(NotFoundError, match="names no recorded query"):
        record(store, "0000000000000000")
    with pytest.raises(NotFoundError, match="Unknown customer 'ghost'"):
        record(store, digest, customer="ghost")
    with pytest.raises(ValidationError, match="ttl must be"):
        record(store, digest, ttl=0)
    with pytest.raises(ValidationError, match="ttl must be"):
        record(store, digest, ttl=float("nan"))
    with pytest.raises(ValidationError, match="subject must be"):
        record(store, digest, subject=" ")
    with pytest.raises(ValidationError, match="value must be JSON"):
        record(store, digest, value=float("inf"))
    with pytest.raises(PayloadTooLarge, match="at most 1,048,576 bytes"):
        record(store, digest, value="x" * (atoms.ATOM_VALUE_MAX_BYTES + 1))
    with pytest.raises(ValidationError, match="limit must be"):
        atoms.atom_history(store, "c1", limit=0)


def test_row_scope_refuses_other_customers(known):
    store, digest = known
    record(store, digest, customer="c2")
    scope = Scope(frozenset({"c1"}))
    with pytest.raises(PermissionDenied, match="outside this key's row scope"):
        atoms.latest_atoms(store, "c2", scope=scope)
    with pytest.raises(PermissionDenied):
        atoms.record_atom(store, customer_id="c2", subject="s", metric="m", value=1, provenance_query_hash=digest,
                          scope=scope)
    assert atoms.latest_atoms(store, "c1", scope=scope) == []
