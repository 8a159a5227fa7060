"""Masked copies for non-production (the spec's "mask PII in non-production").

``mask_copy`` writes a new DuckDB store with the same events, where:

- ``customer`` and ``anonymous_customer_id`` are pseudonyms ``p_<20 hex>``: a keyed hash under a key
  derived from the store's secret and an optional salt, so the same id always gets the same pseudonym
  in one copy (actors, partitions, helper columns, funnels all stay as they were), while nobody
  without the secret can link a pseudonym back to an id, or to the suppression list's hashes;
- feature_json keys named in ``keys`` (default: policy ``mask_keys`` plus ``encrypt_keys``), at any
  depth, become ``"[masked]"``; encrypted values (``{"$enc": …}``) become ``"[masked]"`` too;
- e-mail addresses found in any string value (feature values, link, reject payloads and messages)
  become ``user_<12 hex>@masked.invalid`` (stable per address), phone numbers ``"[phone]"``. A phone
  number is 9–15 digits written with a leading ``+`` or with spaces, dashes or parentheses; bare digit
  runs (order numbers), dates and decimals are left alone;
- identity links are pseudonymized the same way; rejects keep their reasons with masked payloads.

Nothing else is copied: provenance, audit, suppressions, consent of the source stay behind, and the
copy gets its own new keyed-hash secret the first time it is used.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from ..errors import ValidationError
from ..store.duckdb import DuckDBStore
from . import crypto, keys, policies
from .audit import append_entry

MASK_TEXT = "[masked]"
PHONE_TEXT = "[phone]"
PSEUDONYM_PREFIX = "p_"
PSEUDONYM_HEX = 20
EMAIL_HEX = 12
PHONE_DIGITS = (9, 15)
EMAIL_RE = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}")
PHONE_RE = re.compile(r"(?<![\w.:/])\+?\(?\d[\d\s().\-]{6,}\d(?![\w:/])")
PHONE_SEPARATOR_RE = re.compile(r"[\s()\-]")
DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}")
# Rows that may need Python: an '@' or '+', three digits, a separator, three digits, or a masked key.
PREFILTER = r"[@+]|\d{3}[\s()\-]+\d{3}"
FETCH_ROWS = 20_000

COPY_ACTIVITIES_SQL = """
INSERT INTO masked.activities
SELECT activity_id, ts, activity,
       CASE WHEN customer IS NOT NULL THEN 'p_' || left(@HK_C@, 20) END,
       CASE WHEN anonymous_customer_id IS NOT NULL THEN 'p_' || left(@HK_A@, 20) END,
       feature_json, revenue_impact, link, activity_occurrence, activity_repeated_at, NULL, _loaded_at
FROM main.activities
"""
COPY_LINKS_SQL = """
INSERT INTO masked.identity_map
SELECT 'p_' || left(@HK_A@, 20), 'p_' || left(@HK_C@, 20), linked_at, first_seen_ts, activity_id
FROM main.identity_map
"""
CONTENT_HASH_SQL = """
UPDATE masked.activities SET _content_hash = md5(CAST(to_json(struct_pack(ts := ts, activity := activity,
    customer := customer, anonymous_customer_id := anonymous_customer_id, feature_json := feature_json,
    revenue_impact := revenue_impact, link := link)) AS VARCHAR))
"""


@dataclass
class Masker:
    key: bytes
    mask_keys: frozenset[str]

    def pseudonym(self, value: str) -> str:
        return PSEUDONYM_PREFIX + keys.keyed_hash(self.key, value)[:PSEUDONYM_HEX]

    def _email(self, m: re.Match[str]) -> str:
        return f"user_{keys.keyed_hash(self.key, m.group(0).lower())[:EMAIL_HEX]}@masked.invalid"

    @staticmethod
    def _phone(m: re.Match[str]) -> str:
        text = m.group(0)
        digits = sum(c.isdigit() for c in text)
        looks_like_phone = text.startswith("+") or PHONE_SEPARATOR_RE.search(text.strip())
        if PHONE_DIGITS[0] <= digits <= PHONE_DIGITS[1] and looks_like_phone and not DATE_RE.search(text):
            return PHONE_TEXT
        return text

    def text(self, value: str) -> str:
        return PHONE_RE.sub(self._phone, EMAIL_RE.sub(self._email, value))

    def value(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, list):
            return [self.value(v) for v in value]
        if isinstance(value, dict):
            if crypto.is_encrypted(value):
                return MASK_TEXT
            return {k: (MASK_TEXT if k in self.mask_keys else self.value(v)) for k, v in value.items()}
        return value

    def payload(self, payload: str) -> str:
        try:
            record = json.loads(payload)
        except ValueError:
            return self.text(payload)
        if isinstance(record, dict):
            for key in ("customer", "anonymous_customer_id"):
                if isinstance(record.get(key), str):
                    record[key] = self.pseudonym(record[key])
            if isinstance(record.get("feature_json"), str):
                try:
                    record["feature_json"] = json.loads(record["feature_json"])
                except ValueError:
                    pass
        return json.dumps(self.value(record), ensure_ascii=False)


def _prefilter(mask_keys: Iterable[str]) -> str:
    named = "|".join(re.escape(k) for k in sorted(mask_keys))
    return PREFILTER + r'|"\$enc"' + (rf'|"(?:{named})"\s*:' if named else "")


def _update(con: duckdb.DuckDBPyConnection, table: str, columns: dict[str, list[Any]]) -> None:
    con.register("_mask_arrow", pa.table({k: pa.array(v, pa.int64() if k == "rid" else pa.string()) for k, v in columns.items()}))
    try:
        sets = ", ".join(f"{c} = u.{c}" for c in columns if c != "rid")
        con.execute(f"UPDATE masked.{table} SET {sets} FROM _mask_arrow u WHERE masked.{table}.rowid = u.rid")
    finally:
        con.unregister("_mask_arrow")


def _mask_features(con: duckdb.DuckDBPyConnection, masker: Masker) -> int:
    cur = con.execute("SELECT rowid, CAST(feature_json AS VARCHAR), link FROM masked.activities "
                      "WHERE regexp_matches(CAST(feature_json AS VARCHAR), $p) OR regexp_matches(coalesce(link, ''), $p)",
                      {"p": _prefilter(masker.mask_keys)})
    cols: dict[str, list[Any]] = {"rid": [], "feature_json": [], "link": []}
    for rid, features, link in cur.fetchall():
        new_features = json.dumps(masker.value(json.loads(features or "{}")), ensure_ascii=False)
        new_link = None if link is None else masker.text(link)
        if new_features != features or new_link != link:
            cols["rid"].append(rid)
            cols["feature_json"].append(new_features)
            cols["link"].append(new_link)
    if cols["rid"]:
        _update(con, "activities", cols)
    return len(cols["rid"])


def _copy_rejects(con: duckdb.DuckDBPyConnection, masker: Masker) -> int:
    rows = con.execute("SELECT reject_id, payload, payload_hash, activity_id, CAST(reasons AS VARCHAR), reason_codes, "
                       "source, received_at, status, resolved_at FROM main.rejected_activities").fetchall()
    out = []
    for rid, payload, _hash, aid, reasons, codes, source, received, status, resolved in rows:
        masked_payload = masker.payload(payload or "")
        masked_reasons = json.dumps(masker.value(json.loads(reasons)), ensure_ascii=False)
        out.append((rid, masked_payload, aid, masked_reasons, codes, source, received, status, resolved))
    if not out:  # executemany refuses an empty list
        return 0
    con.executemany("INSERT INTO masked.rejected_activities VALUES (?, ?, md5(?), ?, CAST(? AS JSON), ?, ?, ?, ?, ?)",
                    [(r[0], r[1], r[1], *r[2:]) for r in out])
    return len(out)


def _fill(con: duckdb.DuckDBPyConnection, masker: Masker, params: dict[str, Any]) -> tuple[int, int, tuple[Any, ...]]:
    hk_c, hk_a = keys.keyed_hash_sql("customer", "mk"), keys.keyed_hash_sql("anonymous_customer_id", "mk")
    con.execute(COPY_ACTIVITIES_SQL.replace("@HK_C@", hk_c).replace("@HK_A@", hk_a), params)
    features = _mask_features(con, masker)
    con.execute(CONTENT_HASH_SQL)
    con.execute(COPY_LINKS_SQL.replace("@HK_C@", hk_c).replace("@HK_A@", hk_a), params)
    rejects = _copy_rejects(con, masker)
    counts = con.execute("SELECT (SELECT count(*) FROM masked.activities), (SELECT count(*) FROM masked.identity_map)").fetchall()[0]
    return features, rejects, counts


def mask_copy(store: DuckDBStore, dest: str | Path, *, mask_keys: Iterable[str] | None = None, salt: str = "",
              actor: str = "library") -> dict[str, Any]:
    """Write a masked copy of the store to ``dest`` (a new DuckDB file). Audited in the source store."""
    dest = Path(dest)
    if dest.exists():
        raise ValidationError(f"'{dest}' already exists; a masked copy is always written to a new file.", code="file_exists")
    chosen = set(mask_keys) if mask_keys is not None else set(policies.get_policy(store, "mask_keys"))
    chosen |= set(policies.get_policy(store, "encrypt_keys"))
    with store.write() as con:
        secret = keys.hash_secret(con)
    masker = Masker(keys.derived_key(secret, "mask|" + salt), frozenset(chosen))
    DuckDBStore(dest).close()
    params = keys.keyed_hash_params(masker.key, "mk")
    try:
        with store.write() as con:
            con.execute("ATTACH ? AS masked", [str(dest)])
            try:
                features, rejects, counts = _fill(con, masker, params)
            finally:
                con.execute("DETACH masked")
    except BaseException:
        for leftover in (dest, Path(str(dest) + ".wal")):
            leftover.unlink(missing_ok=True)
        raise
    summary = {"path": str(dest), "activities": counts[0], "identity_links": counts[1], "rejects": rejects,
               "rows_with_masked_values": features, "masked_keys": sorted(chosen)}
    with store.write() as con:
        append_entry(con, actor, "mask_copy", row_count=counts[0], details={k: v for k, v in summary.items() if k != "path"})
    return summary
