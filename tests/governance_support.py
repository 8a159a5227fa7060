"""Helpers for the governance tests: trace scans, helper-column oracle, a master key."""

from __future__ import annotations

import base64
import gzip
from pathlib import Path
from typing import Any

from activityschema.store.duckdb import DuckDBStore

MASTER_KEY = base64.b64encode(bytes(range(32))).decode()
OTHER_MASTER_KEY = base64.b64encode(bytes(range(32, 64))).decode()


def table_columns(store: DuckDBStore) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for table, column in store.fetchall(
            "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = 'main' "
            "AND table_catalog = current_database() ORDER BY table_name, ordinal_position"):
        out.setdefault(table, []).append(column)
    return out


def table_traces(store: DuckDBStore, needles: list[str], ignore: tuple[str, ...] = ()) -> list[tuple[str, str, str, int]]:
    """(table, column, needle, rows) for every column of every table whose text contains a needle.

    ``ignore``: longer strings that contain a needle but are other ids (removed before the check).
    """
    found = []
    for table, columns in table_columns(store).items():
        probes, labels = [], []
        for column in columns:
            text = f'CAST("{column}" AS VARCHAR)'
            for other in ignore:
                text = f"replace({text}, '{other}', '')"
            for i, needle in enumerate(needles):
                probes.append(f"count(*) FILTER (WHERE contains({text}, $n{i}))")
                labels.append((column, needle))
        counts = store.fetchone(f'SELECT {", ".join(probes)} FROM "{table}"', {f"n{i}": n for i, n in enumerate(needles)})
        found.extend((table, c, n, k) for (c, n), k in zip(labels, counts, strict=True) if k)
    return found


def file_traces(directory: Path, needles: list[str]) -> list[tuple[str, str]]:
    found = []
    if not directory.exists():
        return found
    for path in sorted(p for p in directory.rglob("*") if p.is_file()):
        data = path.read_bytes()
        if path.name.endswith(".gz"):
            data = gzip.decompress(data)
        found.extend((str(path), n) for n in needles if n.encode() in data)
    return found


def expected_helpers(rows: list[dict[str, Any]]) -> dict[str, tuple[int | None, Any]]:
    """SEMANTICS §3 computed in Python: activity_id -> (occurrence, repeated_at)."""
    parts: dict[tuple[str, str], list[dict[str, Any]]] = {}
    out: dict[str, tuple[int | None, Any]] = {}
    for r in rows:
        actor = r["customer"] or r["anonymous_customer_id"]
        if actor is None:
            out[r["activity_id"]] = (None, None)
        else:
            parts.setdefault((actor, r["activity"]), []).append(r)
    for items in parts.values():
        items.sort(key=lambda r: (r["ts"], r["activity_id"]))
        for i, r in enumerate(items):
            out[r["activity_id"]] = (i + 1, items[i + 1]["ts"] if i + 1 < len(items) else None)
    return out


def helper_columns_correct(store: DuckDBStore) -> bool:
    rows = store.fetch_dicts("SELECT activity_id, ts, activity, customer, anonymous_customer_id, "
                             "activity_occurrence, activity_repeated_at FROM activities")
    want = expected_helpers(rows)
    return all((r["activity_occurrence"], r["activity_repeated_at"]) == want[r["activity_id"]] for r in rows)
