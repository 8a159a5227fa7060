"""The audit log: append-only, tamper-evident record of every read and write through an interface.

Each entry is ``(seq, at, actor, action, template, query_hash, row_count, subject, details)``; its hash
is ``sha256(prev_hash + canonical_json(entry))`` with ``prev_hash`` of the first entry = 64 zeros, so
editing, deleting, inserting or reordering any entry breaks the chain from there on. A head row holds
the last ``(seq, entry_hash)`` sealed with an HMAC under a key derived from the store's keyed-hash
secret, so cutting entries off the end is detected too. ``verify`` walks the whole chain.

Entries never hold a readable customer identifier: ``subject`` and identifier-like keys of ``details``
are keyed hashes (``governance/keys.py``), so an erasure never has to rewrite the chain. Parameters of
queries are not copied here; the query hash names them in ``provenance_chain``.

Limits (see docs/governance.md): someone who can write the store *and* read the keyed-hash secret can
rebuild a consistent chain; copy ``audit head`` to an external system to detect that too.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, NamedTuple

import duckdb
import pyarrow as pa

from ..store.duckdb import DuckDBStore
from . import keys

GENESIS = "0" * 64
HEAD_ID = 1
SEAL_PURPOSE = "audit-head-seal"
VERIFY_BATCH_ROWS = 10_000
# Keys of ``details`` whose values are identifiers of people: stored as keyed hashes.
IDENTIFIER_KEYS = frozenset({"customer", "customers", "customer_id", "anonymous_customer_id",
                             "anonymous_ids", "actor_id", "actors"})

HEAD_READ_SQL = "SELECT seq, entry_hash FROM audit_head WHERE id = ?"
LAST_SQL = "SELECT seq, entry_hash FROM audit_log ORDER BY seq DESC LIMIT 1"
INSERT_SQL = "INSERT INTO audit_log VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
# UPDATE, then INSERT for the very first entry: an upsert costs several times more per append.
HEAD_UPDATE_SQL = "UPDATE audit_head SET seq = ?, entry_hash = ?, seal = ? WHERE id = ?"
HEAD_INSERT_SQL = "INSERT INTO audit_head VALUES (?, ?, ?, ?)"
AUDIT_COLUMNS = ("seq", "logged_at", "actor", "action", "template", "query_hash", "row_count", "subject",
                 "details", "prev_hash", "entry_hash")
AUDIT_ROW_TYPES = (pa.int64(), pa.timestamp("us"), pa.string(), pa.string(), pa.string(), pa.string(), pa.int64(),
                   pa.string(), pa.string(), pa.string(), pa.string())
AUDIT_BATCH_VIEW = "_audit_batch"
WALK_SQL = """
SELECT seq, logged_at, actor, action, template, query_hash, row_count, subject, details, prev_hash, entry_hash
FROM audit_log
ORDER BY seq
"""
LIST_SQL = """
SELECT seq, logged_at, actor, action, template, query_hash, row_count, subject, details
FROM audit_log
WHERE (CAST($action AS VARCHAR) IS NULL OR action = $action)
ORDER BY seq DESC
LIMIT $limit
"""


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def canonical(seq: int, at: datetime, actor: str, action: str, template: str | None, query_hash: str | None,
              row_count: int | None, subject: str | None, details: str | None) -> str:
    return json.dumps([seq, at.isoformat(timespec="microseconds"), actor, action, template, query_hash,
                       row_count, subject, details], separators=(",", ":"), ensure_ascii=False)


def chain_hash(prev_hash: str, entry: str) -> str:
    return hashlib.sha256((prev_hash + entry).encode("utf-8")).hexdigest()


def _seal(secret: bytes, seq: int, entry_hash: str) -> str:
    return hmac.new(keys.derived_key(secret, SEAL_PURPOSE), f"{seq}|{entry_hash}".encode(), hashlib.sha256).hexdigest()


def _pseudonymize(secret: bytes, value: Any) -> Any:
    if isinstance(value, str):
        return keys.token(secret, value)
    if isinstance(value, (list, tuple, set, frozenset)):
        return sorted(keys.token(secret, str(v)) for v in value)
    return value


def scrub_details(secret: bytes, details: dict[str, Any] | None) -> str | None:
    """Canonical JSON of ``details`` with identifier-like keys replaced by keyed-hash tokens."""
    if not details:
        return None
    clean = {k: (_pseudonymize(secret, v) if k in IDENTIFIER_KEYS else v) for k, v in details.items()}
    return json.dumps(clean, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def append_entry(con: duckdb.DuckDBPyConnection, actor: str, action: str, *, template: str | None = None,
                 query_hash: str | None = None, row_count: int | None = None, subject: str | None = None,
                 details: dict[str, Any] | None = None, now: datetime | None = None) -> int:
    """Append one entry inside the caller's write transaction; returns its sequence number."""
    secret = keys.hash_secret(con)
    subject_hash = keys.token(secret, subject) if subject is not None else None
    return append_scrubbed(con, actor, action, template=template, query_hash=query_hash, row_count=row_count,
                           subject_hash=subject_hash, detail_text=scrub_details(secret, details), now=now,
                           secret=secret)


def append_scrubbed(con: duckdb.DuckDBPyConnection, actor: str, action: str, *, template: str | None,
                    query_hash: str | None, row_count: int | None, subject_hash: str | None,
                    detail_text: str | None, now: datetime | None = None, secret: bytes | None = None) -> int:
    """``append_entry`` for an entry whose subject and details are already keyed-hashed (the journal's)."""
    row = ScrubbedRow(actor, action, template, query_hash, row_count, subject_hash, detail_text, now or _now())
    return append_scrubbed_many(con, [row], secret=secret)


class ScrubbedRow(NamedTuple):
    """One entry to chain, its subject and details already keyed-hashed."""
    actor: str
    action: str
    template: str | None
    query_hash: str | None
    row_count: int | None
    subject_hash: str | None
    detail_text: str | None
    at: datetime


def append_scrubbed_many(con: duckdb.DuckDBPyConnection, entries: Sequence[ScrubbedRow], *,
                         secret: bytes | None = None) -> int:
    """Chain ``entries`` in order inside the caller's write transaction; returns the last sequence number.

    A batch reads the head once, inserts every row with one statement and seals the head once, so
    absorbing a server's journal costs a handful of statements, not four per entry."""
    if not entries:
        raise ValueError("append_scrubbed_many needs at least one entry")
    secret = secret if secret is not None else keys.hash_secret(con)
    head_row = _one_row(con, HEAD_READ_SQL, [HEAD_ID])
    last = head_row or _one_row(con, LAST_SQL)  # no head yet: the first entry (or a damaged log)
    seq, prev = (last[0] + 1, last[1]) if last else (1, GENESIS)
    rows = []
    for e in entries:
        at = e.at.replace(tzinfo=None)
        digest = chain_hash(prev, canonical(seq, at, e.actor, e.action, e.template, e.query_hash, e.row_count,
                                            e.subject_hash, e.detail_text))
        rows.append((seq, at, e.actor, e.action, e.template, e.query_hash, e.row_count, e.subject_hash,
                     e.detail_text, prev, digest))
        seq, prev = seq + 1, digest
    if len(rows) == 1:
        con.execute(INSERT_SQL, rows[0])
    else:
        _insert_rows(con, rows)
    seq -= 1
    seal = _seal(secret, seq, prev)
    if head_row is not None:
        con.execute(HEAD_UPDATE_SQL, [seq, prev, seal, HEAD_ID])
    else:
        con.execute("DELETE FROM audit_head WHERE id = ?", [HEAD_ID])
        con.execute(HEAD_INSERT_SQL, [HEAD_ID, seq, prev, seal])
    return int(seq)


def _one_row(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any] | None = None) -> tuple[Any, ...] | None:
    """The first row, with the result consumed (``register`` refuses a connection with one pending)."""
    rows = con.execute(sql, params or []).fetchall()
    return rows[0] if rows else None


def _insert_rows(con: duckdb.DuckDBPyConnection, rows: list[tuple[Any, ...]]) -> None:
    """Many rows in one INSERT, through an Arrow table (``executemany`` runs the statement per row)."""
    columns = list(zip(*rows, strict=True))
    batch = pa.table([pa.array(values, type=kind) for values, kind in zip(columns, AUDIT_ROW_TYPES, strict=True)],
                     names=AUDIT_COLUMNS)
    con.register(AUDIT_BATCH_VIEW, batch)
    try:
        con.execute(f"INSERT INTO audit_log ({', '.join(AUDIT_COLUMNS)}) SELECT * FROM {AUDIT_BATCH_VIEW}").fetchall()
    finally:
        con.unregister(AUDIT_BATCH_VIEW)


def audit_event(store: DuckDBStore, actor: str, action: str, template: str | None = None,
                query_hash: str | None = None, row_count: int | None = None, details: dict[str, Any] | None = None,
                *, subject: str | None = None, now: datetime | None = None) -> int:
    """Record one read or write done through an interface (CLI, HTTP, MCP) in its own transaction.

    Args:
        actor: who acted (``cli:<user>``, ``key:<key id>``).
        action: what was done, e.g. ``export``, ``query``, ``forget``.
        subject: the customer the action concerns; stored as a keyed hash.
    """
    with store.write() as con:
        return append_entry(con, actor, action, template=template, query_hash=query_hash, row_count=row_count,
                            subject=subject, details=details, now=now)


@dataclass
class VerifyReport:
    ok: bool
    entries: int
    head_seq: int | None
    problems: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "entries": self.entries, "head_seq": self.head_seq, "problems": self.problems}


def _walk(store: DuckDBStore) -> Iterator[tuple[Any, ...]]:
    cur = store.cursor().execute(WALK_SQL)
    while rows := cur.fetchmany(VERIFY_BATCH_ROWS):
        yield from rows


def verify(store: DuckDBStore, *, expect_head: tuple[int, str] | None = None, max_problems: int = 20) -> VerifyReport:
    """Walk the chain; report every break (edited, missing, inserted, reordered or cut-off entries).

    ``expect_head`` is a ``(seq, entry_hash)`` kept outside the store (``head()`` at some earlier
    time): the entry with that seq must still have that hash.
    """
    problems: list[dict[str, Any]] = []
    prev, expected, last_seq = GENESIS, 1, None
    count = 0
    for seq, at, actor, action, template, qh, rc, subject, details, prev_hash, entry_hash in _walk(store):
        count += 1
        if expect_head is not None and seq == expect_head[0] and entry_hash != expect_head[1]:
            problems.append({"seq": seq, "problem": "entry differs from the externally kept head"})
        if seq != expected:
            problems.append({"seq": seq, "problem": f"sequence gap or reorder: expected {expected}"})
        if prev_hash != prev:
            problems.append({"seq": seq, "problem": "prev_hash does not match the previous entry"})
        if chain_hash(prev_hash, canonical(seq, at, actor, action, template, qh, rc, subject, details)) != entry_hash:
            problems.append({"seq": seq, "problem": "entry content does not match its hash (edited)"})
        prev, expected, last_seq = entry_hash, seq + 1, seq
    problems.extend(_check_head(store, last_seq, prev))
    if expect_head is not None and (last_seq is None or expect_head[0] > last_seq):
        problems.append({"seq": expect_head[0], "problem": "the externally kept head is past the end of the log (entries cut off)"})
    return VerifyReport(ok=not problems, entries=count, head_seq=last_seq, problems=problems[:max_problems])


def _check_head(store: DuckDBStore, last_seq: int | None, last_hash: str) -> list[dict[str, Any]]:
    head = store.fetchone("SELECT seq, entry_hash, seal FROM audit_head WHERE id = ?", [HEAD_ID])
    if head is None:
        return [] if last_seq is None else [{"seq": None, "problem": "the sealed head is missing"}]
    seq, entry_hash, seal = head
    problems = []
    if seq != last_seq or entry_hash != last_hash:
        problems.append({"seq": seq, "problem": f"the sealed head names entry {seq}, the log ends at {last_seq} (entries cut off or added)"})
    secret = keys.existing_secret(store.cursor())
    if secret is None or not hmac.compare_digest(seal, _seal(secret, seq, entry_hash)):
        problems.append({"seq": seq, "problem": "the head seal is not valid (head rewritten)"})
    return problems


def head(store: DuckDBStore) -> dict[str, Any] | None:
    """The last ``(seq, entry_hash)``: copy it elsewhere to pin the log against a full rewrite."""
    row = store.fetchone("SELECT seq, entry_hash FROM audit_head WHERE id = ?", [HEAD_ID])
    return {"seq": row[0], "entry_hash": row[1]} if row else None


def list_entries(store: DuckDBStore, *, action: str | None = None, limit: int = 50) -> list[dict[str, Any]]:
    return store.fetch_dicts(LIST_SQL, {"action": action, "limit": limit})
