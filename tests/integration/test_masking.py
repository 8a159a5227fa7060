"""Masked copies: no original identifiers, e-mails or phone numbers; same shape and helper columns."""

from __future__ import annotations

import pytest

from activityschema.errors import ValidationError
from activityschema.governance import masking, policies
from activityschema.governance.masking import Masker
from activityschema.ingest.importer import ingest_records
from activityschema.store.duckdb import DuckDBStore
from tests.conftest import NOW, event
from tests.governance_support import table_traces

PII = ["alice@example.com", "anon-cookie-77", "bob-id-88", "+1 415 555 0100", "(415) 555-0100", "123-45-6789",
       "carol@example.org"]


def test_masked_copy_has_no_pii_and_keeps_the_shape(store, tmp_path):
    ingest_records(store, [
        event("user_signed_up", "2026-01-01T00:00:00Z", "alice@example.com", 1, anonymous_customer_id="anon-cookie-77",
              feature_json={"note": "call +1 415 555 0100", "ssn": "123-45-6789", "order": "123456789",
              "when": "2026-01-01 10:00:00", "deep": {"ssn": "x"}}, link="mailto:alice@example.com"),
        event("page_viewed", "2026-01-02T00:00:00Z", None, 2, anonymous_customer_id="anon-cookie-77"),
        event("page_viewed", "2026-01-03T00:00:00Z", "bob-id-88", 3, feature_json={"tel": "(415) 555-0100", "v": "2.0.1"}),
        event("page_viewed", "2026-01-04T00:00:00Z", "bob-id-88", 4),
        event("page_viewed", "bad", "carol@example.org", 5),
    ], now=NOW)
    policies.set_policy(store, "mask_keys", ["ssn"])
    summary = masking.mask_copy(store, tmp_path / "masked.duckdb")
    assert summary["activities"] == 4 and summary["rejects"] == 1
    with DuckDBStore(tmp_path / "masked.duckdb") as m:
        assert table_traces(m, PII) == []
        src = store.fetchall("SELECT activity_id, activity, ts, activity_occurrence, activity_repeated_at FROM activities ORDER BY 1")
        dst = m.fetchall("SELECT activity_id, activity, ts, activity_occurrence, activity_repeated_at FROM activities ORDER BY 1")
        assert src == dst
        features = m.fetchone("SELECT CAST(feature_json AS VARCHAR) FROM activities WHERE activity_id LIKE '%1'")[0]
        assert '"order": "123456789"' in features and "2026-01-01 10:00:00" in features and '"[masked]"' in features
        actors = m.fetchall("SELECT DISTINCT customer FROM activities WHERE customer IS NOT NULL ORDER BY 1")
        assert len(actors) == 2 and all(a[0].startswith("p_") for a in actors)
        assert m.fetchone("SELECT count(*) FROM audit_log")[0] == 0
    with pytest.raises(ValidationError, match="already exists"):
        masking.mask_copy(store, tmp_path / "masked.duckdb")


def test_phone_detection_leaves_numbers_that_are_not_phones():
    m = Masker(b"k" * 32, frozenset())
    assert m.text("+44 20 7946 0958 and 415-555-0100") == "[phone] and [phone]"
    for keep in ("123456789", "3.14159265358", "2026-01-01 10:00:00", "v2.0.1", "00000000-0000-4000-8000-000000000004"):
        assert m.text(keep) == keep
