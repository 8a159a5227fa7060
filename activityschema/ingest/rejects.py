"""The rejects table: list, export for fixing, and re-submit (SEMANTICS §2).

Export writes one JSON object per line: ``{"reject_id", "reasons", "record"}`` where ``record`` is the
original payload (parsed when it was JSON, else the raw text under ``"raw"``). Fix ``record`` in any
editor, then ``resubmit`` the file: records that now pass are merged and their reject is marked
``resubmitted``; records that still fail stay open with their new reasons.

Works on both backends: the reason filter has a form per dialect (``HAS_REASON``) and the
re-submission binds its list of reject ids through the dialect layer.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..errors import ValidationError
from ..store.duckdb import DuckDBStore
from .importer import ingest_records
from .merge import LoadReport

LIST_SQL = """
SELECT reject_id, received_at, source, reason_codes, activity_id, left(payload, 200) AS payload
FROM rejected_activities r
WHERE status = ? AND (? IS NULL OR @HAS_REASON@)
ORDER BY received_at DESC, reject_id
LIMIT ?
"""
EXPORT_SQL = """
SELECT reject_id, payload, CAST(reasons AS VARCHAR)
FROM rejected_activities r
WHERE status = 'open' AND (? IS NULL OR @HAS_REASON@)
ORDER BY received_at, reject_id
"""
# "reason_codes holds ?", per backend: Snowflake has no list_contains, and the emulator has no
# ARRAY_CONTAINS, so the warehouse form flattens the array (valid Snowflake SQL, runs on both).
HAS_REASON: dict[str, str] = {
    "duckdb": "list_contains(reason_codes, ?)",
    "snowflake": "EXISTS (SELECT 1 FROM TABLE(FLATTEN(INPUT => r.reason_codes)) f WHERE CAST(f.value AS VARCHAR) = ?)",
}
RESOLVE_SQL = ("UPDATE rejected_activities SET status = 'resubmitted', resolved_at = CAST(current_timestamp AS TIMESTAMP) "
               "WHERE list_contains($ids, reject_id)")


def _rows(store: DuckDBStore, sql: str, params: list[Any]) -> tuple[list[str], list[tuple[Any, ...]]]:
    """Run a rejects query written with ``@HAS_REASON@`` on the store's backend."""
    dialect = getattr(store, "dialect", "duckdb")
    text = sql.replace("@HAS_REASON@", HAS_REASON.get(dialect, HAS_REASON["snowflake"]))
    if dialect == "duckdb":
        rows = store.fetch_dicts(text, params)
    else:  # native Snowflake SQL: reasons arrive as VARIANT text, reason codes as an ARRAY (or its JSON)
        rows = store.fetch_dicts(text.replace("CAST(reasons AS VARCHAR)", "reasons"), params, native=True)
    names = list(rows[0]) if rows else []
    return names, [tuple(r.values()) for r in rows]


def _codes(value: Any) -> list[str]:
    return list(json.loads(value) if isinstance(value, str) else value or [])


def list_rejects(store: DuckDBStore, *, status: str = "open", reason: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
    names, rows = _rows(store, LIST_SQL, [status, reason, reason, limit])
    out = [dict(zip(names, row, strict=True)) for row in rows]
    for row in out:
        row["reason_codes"] = _codes(row["reason_codes"])
    return out


def _export_line(reject_id: str, payload: str, reasons: str) -> str:
    try:
        record: Any = json.loads(payload)
    except ValueError:
        record = {"raw": payload}
    return json.dumps({"reject_id": reject_id, "reasons": json.loads(reasons), "record": record}, ensure_ascii=False)


def export_rejects(store: DuckDBStore, path: str | Path, *, reason: str | None = None) -> int:
    _, rows = _rows(store, EXPORT_SQL, [reason, reason])
    with open(path, "w", encoding="utf-8") as out:
        for reject_id, payload, reasons in rows:
            out.write(_export_line(reject_id, payload, reasons) + "\n")
    return len(rows)


def _read_export(path: str | Path) -> Iterator[tuple[str, Any]]:
    with open(path, encoding="utf-8") as fh:
        for number, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                item = json.loads(line)
                yield str(item["reject_id"]), item["record"]
            except (ValueError, KeyError, TypeError):
                raise ValidationError(
                    f"{path}:{number}: expected a line of a rejects export "
                    '({"reject_id": …, "record": {…}}).', code="invalid_rejects_file") from None


def resubmit_rejects(store: DuckDBStore, path: str | Path) -> LoadReport:
    items = list(_read_export(path))
    report = ingest_records(store, [record for _, record in items], source="resubmit", per_record=True)
    passed = [rid for (rid, _), res in zip(items, report.results or [], strict=True) if res["status"] != "rejected"]
    if passed:
        store.execute(RESOLVE_SQL, {"ids": passed})
    return report
