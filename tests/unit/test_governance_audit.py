"""The audit chain: any edit, deletion, insertion, reorder or cut-off is detected; no raw identifiers."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from activityschema.governance import audit
from activityschema.store.duckdb import DuckDBStore
from tests.conftest import NOW

ENTRIES = 6
EDITABLE = {"logged_at": "TIMESTAMP '2020-01-01'", "actor": "'mallory'", "action": "'nothing'", "template": "'t2'",
            "query_hash": "'0000'", "row_count": "row_count + 1", "subject": "'hmac:forged'", "details": "'{}'",
            "prev_hash": "'" + "1" * 64 + "'", "entry_hash": "'" + "2" * 64 + "'", "seq": "seq + 100"}


@pytest.fixture(scope="module")
def pristine(tmp_path_factory):
    path = tmp_path_factory.mktemp("audit") / "a.duckdb"
    with DuckDBStore(path) as s:
        for i in range(ENTRIES):
            audit.audit_event(s, f"key:{i}", "query", template="t", query_hash=f"h{i}", row_count=i,
                              details={"customer": "alice@example.com", "n": i}, subject="alice@example.com", now=NOW)
    return path


def copy_of(pristine, tmp_path) -> DuckDBStore:
    dest = tmp_path / "copy.duckdb"
    dest.write_bytes(pristine.read_bytes())
    return DuckDBStore(dest)


def test_intact_log_verifies_and_holds_no_readable_identifier(pristine, tmp_path):
    with copy_of(pristine, tmp_path) as s:
        assert audit.verify(s).to_dict() == {"ok": True, "entries": ENTRIES, "head_seq": ENTRIES, "problems": []}
        text = str(s.fetchall("SELECT * FROM audit_log"))
        assert "alice" not in text and "hmac:" in text


@settings(max_examples=25, deadline=None)
@given(seq=st.integers(1, ENTRIES), column=st.sampled_from(sorted(EDITABLE)))
def test_editing_any_field_of_any_entry_is_detected(pristine, tmp_path_factory, seq, column):
    with copy_of(pristine, tmp_path_factory.mktemp("e")) as s:
        s.execute(f"UPDATE audit_log SET {column} = {EDITABLE[column]} WHERE seq = ?", [seq])
        report = audit.verify(s)
        assert not report.ok and report.problems


@settings(max_examples=10, deadline=None)
@given(seq=st.integers(1, ENTRIES))
def test_deleting_any_entry_is_detected(pristine, tmp_path_factory, seq):
    with copy_of(pristine, tmp_path_factory.mktemp("d")) as s:
        s.execute("DELETE FROM audit_log WHERE seq = ?", [seq])
        assert not audit.verify(s).ok


def test_reordering_inserting_and_rewriting_the_head_are_detected(pristine, tmp_path):
    with copy_of(pristine, tmp_path) as s:
        s.execute("UPDATE audit_log SET seq = CASE seq WHEN 2 THEN 3 WHEN 3 THEN 2 ELSE seq END WHERE seq IN (2, 3)")
        assert not audit.verify(s).ok
    (tmp_path / "copy.duckdb").unlink()
    with copy_of(pristine, tmp_path) as s:
        s.execute("INSERT INTO audit_log SELECT seq + 1000, logged_at, actor, action, template, query_hash, row_count, "
                  "subject, details, prev_hash, entry_hash FROM audit_log WHERE seq = 3")
        assert not audit.verify(s).ok
    (tmp_path / "copy.duckdb").unlink()
    with copy_of(pristine, tmp_path) as s:  # cut the last entry off and move the head back by hand
        s.execute(f"DELETE FROM audit_log WHERE seq = {ENTRIES}")
        s.execute(f"UPDATE audit_head SET seq = {ENTRIES - 1}, entry_hash = (SELECT entry_hash FROM audit_log WHERE seq = {ENTRIES - 1})")
        problems = audit.verify(s).problems
        assert any("seal" in p["problem"] for p in problems)


def test_a_consistent_rewrite_is_caught_by_an_externally_kept_head(pristine, tmp_path):
    with copy_of(pristine, tmp_path) as s:
        kept = audit.head(s)
        s.execute("DELETE FROM audit_log WHERE seq >= 3")
        s.execute("DELETE FROM audit_head")
        report = audit.verify(s, expect_head=(kept["seq"], kept["entry_hash"]))
        assert not report.ok
        assert audit.verify(s, expect_head=(2, s.fetchone("SELECT entry_hash FROM audit_log WHERE seq = 2")[0])).problems
