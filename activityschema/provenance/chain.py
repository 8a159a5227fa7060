"""The provenance chain: which query, with which parameters, produced a hash (SEMANTICS §8).

Parameters are flat: a nested value is first written as canonical JSON text, so the spec's
replacer allow-list (which drops nested keys that are not top-level keys) can never drop a parameter
out of the hash. A hash already recorded with different text or parameters is a collision: it is
reported (``provenance_collisions`` and the result's flag), never merged.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ..errors import NotFoundError
from ..store.duckdb import DuckDBStore
from .hashing import query_hash


def flatten_params(params: dict[str, Any]) -> dict[str, Any]:
    """Scalars stay; lists and objects become canonical JSON text (sorted keys, no spaces)."""
    flat: dict[str, Any] = {}
    for key, value in params.items():
        if isinstance(value, (dict, list, tuple)):
            flat[key] = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
        elif isinstance(value, datetime):
            flat[key] = value.isoformat()
        else:
            flat[key] = value
    return flat


@dataclass(frozen=True)
class ProvenanceEntry:
    query_hash: str
    template_name: str
    query_text: str
    parameters: dict[str, Any]
    created_at: datetime
    created_by: str

    def to_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "created_at": self.created_at.isoformat()}


def record(store: DuckDBStore, *, template_name: str, query_text: str, params: dict[str, Any],
           created_by: str, now: datetime) -> tuple[str, bool]:
    """Record a query in the chain; return (hash, collided)."""
    flat = flatten_params(params)
    digest = query_hash(query_text, flat)
    parameters = json.dumps(flat, sort_keys=True, ensure_ascii=False)
    with store.write() as con:
        row = con.execute("SELECT query_text, CAST(parameters AS VARCHAR) FROM provenance_chain WHERE query_hash = ?", [digest]).fetchone()
        if row is None:
            con.execute("INSERT INTO provenance_chain VALUES (?, ?, ?, ?, ?, ?)",
                        [digest, template_name, query_text, parameters, now, created_by])
            return digest, False
        if row[0] == query_text and json.loads(row[1]) == flat:
            return digest, False
        con.execute("INSERT INTO provenance_collisions VALUES (?, ?, ?, ?, ?)",
                    [digest, template_name, query_text, parameters, now])
        return digest, True


def record_run(store: DuckDBStore, digest: str, *, run_by: str, row_count: int, duration_ms: float, now: datetime) -> None:
    store.execute("INSERT INTO provenance_runs VALUES (?, ?, ?, ?, ?)", [digest, now, run_by, row_count, duration_ms])


def lookup(store: DuckDBStore, digest: str) -> ProvenanceEntry:
    row = store.fetchone(
        "SELECT query_hash, template_name, query_text, CAST(parameters AS VARCHAR), created_at, created_by "
        "FROM provenance_chain WHERE query_hash = ?", [digest])
    if row is None:
        raise NotFoundError(f"No query with hash '{digest}' is recorded in the provenance chain.", code="unknown_query_hash")
    return ProvenanceEntry(row[0], row[1], row[2], json.loads(row[3]), row[4], row[5])


def exists(store: DuckDBStore, digest: str) -> bool:
    return store.fetchone("SELECT 1 FROM provenance_chain WHERE query_hash = ?", [digest]) is not None
