"""Field encryption: unreadable in the file and in exports without the key; shredded by erasure."""

from __future__ import annotations

import json
import shutil

import pytest

from activityschema.errors import ConfigError, GovernanceError
from activityschema.governance import crypto, erasure, export, keys, masterkey, policies
from activityschema.ingest.importer import ingest_records
from activityschema.store.duckdb import DuckDBStore
from activityschema.store.encrypted_copy import encrypted_copy, read_encrypted
from tests.conftest import NOW, event
from tests.governance_support import MASTER_KEY, OTHER_MASTER_KEY

SECRET_EMAIL = "very-secret-mail@example.com"
SECRET_PHONE = "+44 20 7946 0958"


@pytest.fixture
def enc(tmp_path, monkeypatch):
    monkeypatch.setenv("ACTIVITYSCHEMA_MASTER_KEY", MASTER_KEY)
    db = tmp_path / "enc.duckdb"
    store = DuckDBStore(db)
    policies.set_policy(store, "encrypt_keys", ["email", "phone"])
    recs = [event("user_signed_up", "2026-01-01T00:00:00Z", "c1", 1, feature_json={"email": SECRET_EMAIL, "phone": SECRET_PHONE, "plan": "pro"}),
            event("user_signed_up", "2026-01-01T00:00:00Z", "c2", 2, feature_json={"email": "c2@example.com", "nested": {"n": 1}}),
            event("user_signed_up", "broken", "c1", 3, feature_json=json.dumps({"email": SECRET_EMAIL}))]
    report = ingest_records(store, recs, now=NOW)
    assert report.accepted == 2 and report.rejected == 1
    yield store, db, recs
    store.close()


def decrypt_all(store: DuckDBStore) -> list[dict]:
    with store.write() as con:
        cipher = crypto.cipher_for(con, secret=keys.hash_secret(con))
    stats = crypto.DecryptStats()
    return [crypto.decrypt_features(cipher, json.loads(r[0]), stats)
            for r in store.fetchall("SELECT CAST(feature_json AS VARCHAR) FROM activities ORDER BY activity_id")]


def test_encrypted_fields_never_reach_the_file_or_the_rejects_in_clear(enc):
    store, db, recs = enc
    stored = store.fetchone("SELECT CAST(feature_json AS VARCHAR) FROM activities WHERE customer = 'c1'")[0]
    assert SECRET_EMAIL not in stored and json.loads(stored)["plan"] == "pro"
    assert json.loads(stored)["email"]["$enc"].startswith("v1:")
    assert SECRET_EMAIL not in store.fetchone("SELECT payload FROM rejected_activities")[0]
    store.execute("CHECKPOINT")
    raw = b"".join(p.read_bytes() for p in db.parent.iterdir() if p.name.startswith(db.name))  # store, WAL, key store
    assert SECRET_EMAIL.encode() not in raw and SECRET_PHONE.encode() not in raw
    assert decrypt_all(store)[0] == {"email": SECRET_EMAIL, "phone": SECRET_PHONE, "plan": "pro"}


def test_resending_an_encrypted_event_is_a_duplicate_not_a_conflict(enc):
    store, _, recs = enc
    again = ingest_records(store, recs[:2], now=NOW)
    assert again.duplicate == 2 and again.rejected == 0


def test_exports_stay_encrypted_without_the_key_and_open_with_it(enc, tmp_path, monkeypatch):
    store, _, _ = enc
    export.export_customer(store, "c1", tmp_path / "plain.json")
    assert SECRET_EMAIL not in (tmp_path / "plain.json").read_text()
    export.share_activities(store, tmp_path / "shared.ndjson", recipient="partner", purpose="share")
    shared = [json.loads(line) for line in (tmp_path / "shared.ndjson").read_text().splitlines()]
    assert all("email" not in r["feature_json"] for r in shared) and shared[0]["feature_json"].get("plan") == "pro"
    export.export_customer(store, "c1", tmp_path / "open.json", decrypt=True)
    assert SECRET_EMAIL in (tmp_path / "open.json").read_text()
    monkeypatch.delenv("ACTIVITYSCHEMA_MASTER_KEY")
    with pytest.raises(GovernanceError, match="master key"):
        export.export_customer(store, "c1", tmp_path / "nokey.json", decrypt=True)


def test_after_erasure_copies_are_unreadable_even_with_the_master_key(enc, tmp_path):
    store, db, _ = enc
    store.execute("CHECKPOINT")
    backup = tmp_path / "backup.duckdb"
    shutil.copy(db, backup)  # a backup taken before the erasure
    report = erasure.forget(store, "c1")
    assert report.keys_destroyed == 1
    with DuckDBStore(backup, read_only=True) as old:
        token = json.loads(old.fetchone("SELECT CAST(feature_json AS VARCHAR) FROM activities WHERE customer = 'c1'")[0])["email"]
    with store.write() as con:
        cipher = crypto.cipher_for(con, secret=keys.hash_secret(con))
    with pytest.raises(crypto.KeyShredded):
        cipher.decrypt("email", token)
    assert decrypt_all(store)[0]["email"] == "c2@example.com"  # others still open


def test_tampered_or_moved_ciphertext_fails_authentication(enc):
    store, _, _ = enc
    with store.write() as con:
        cipher = crypto.cipher_for(con, secret=keys.hash_secret(con))
    token = json.loads(store.fetchone("SELECT CAST(feature_json AS VARCHAR) FROM activities WHERE customer = 'c1'")[0])["email"]
    with pytest.raises(GovernanceError, match="authentication"):
        cipher.decrypt("phone", token)  # moved to another key


def test_ingest_refuses_clear_text_when_the_master_key_is_missing(enc, monkeypatch):
    store, _, _ = enc
    monkeypatch.delenv("ACTIVITYSCHEMA_MASTER_KEY")
    with pytest.raises(GovernanceError, match="master key"):
        ingest_records(store, [event("user_signed_up", "2026-01-02T00:00:00Z", "c3", 9, feature_json={"email": "x@y.z"})], now=NOW)
    assert store.fetchone("SELECT count(*) FROM activities WHERE customer = 'c3'")[0] == 0


def test_master_key_rotation_rewraps_every_data_key(enc, monkeypatch):
    store, _, _ = enc
    before = decrypt_all(store)
    old, new = masterkey.parse_key(MASTER_KEY, source="t"), masterkey.parse_key(OTHER_MASTER_KEY, source="t")
    with store.write() as con:
        assert crypto.rotate_master_key(con, old, new) == 2
    monkeypatch.setenv("ACTIVITYSCHEMA_MASTER_KEY", OTHER_MASTER_KEY)
    assert decrypt_all(store) == before
    monkeypatch.setenv("ACTIVITYSCHEMA_MASTER_KEY", MASTER_KEY)
    with pytest.raises(GovernanceError) as exc:
        decrypt_all(store)
    assert exc.value.code == "master_key_mismatch"


def test_bad_master_keys_are_clear_config_errors():
    with pytest.raises(ConfigError, match="64 hex digits or the base64"):
        masterkey.parse_key("too-short", source="ACTIVITYSCHEMA_MASTER_KEY")
    assert masterkey.load_master_key({"ACTIVITYSCHEMA_MASTER_KEY": "ab" * 32}) == bytes.fromhex("ab" * 32)
    assert masterkey.load_master_key({}) is None


def test_duckdb_file_encryption_copy(tmp_path):
    src = tmp_path / "plain.duckdb"
    with DuckDBStore(src) as s:
        ingest_records(s, [event("user_signed_up", "2026-01-01T00:00:00Z", "needle-cust-77", 1)], now=NOW)
    key = "k" * 32
    try:
        result = encrypted_copy(src, tmp_path / "secure.duckdb", key)
    except GovernanceError as exc:  # no OpenSSL (httpfs) here: refused unless the unsafe mode is accepted
        assert exc.code == "duckdb_encryption_unavailable"
        result = encrypted_copy(src, tmp_path / "secure.duckdb", key, allow_unsafe=True)
    assert b"needle-cust-77" not in (tmp_path / "secure.duckdb").read_bytes()
    assert read_encrypted(tmp_path / "secure.duckdb", key, "SELECT customer FROM activities") == [("needle-cust-77",)]
    with pytest.raises(Exception, match="encryption key"):
        read_encrypted(tmp_path / "secure.duckdb", "w" * 32, "SELECT 1")
    assert set(result) >= {"securely_encrypted", "openssl"}
