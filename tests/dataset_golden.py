"""Loader and renderer of the dataset golden cases (``tests/golden/dataset/*.json``).

A file holds one small stream and its cases; each case has a one-line ``description``, a request
and the expected ``columns`` and ``rows``, computed by hand. Event ids are small numbers in the
files (event ``n`` gets the UUID ``uid(n)``) and activity ids in rows are shown as those numbers;
timestamps are ISO 8601 without an offset (UTC). Cases marked ``"doc"`` are also rendered in
docs/dataset.md, and a test checks the page shows exactly what the engine returns.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import Path
from typing import Any

from tests.conftest import uid

GOLDEN_DIR = Path(__file__).parent / "golden" / "dataset"
UID_RE = re.compile(r"^00000000-0000-4000-8000-([0-9a-f]{12})$")


def load_files() -> list[tuple[str, dict[str, Any]]]:
    return [(p.stem, json.loads(p.read_text())) for p in sorted(GOLDEN_DIR.glob("*.json"))]


def cases() -> list[tuple[str, dict[str, Any], dict[str, Any]]]:
    """(id, file, case) for every case of every file."""
    out = []
    for stem, data in load_files():
        for i, case in enumerate(data["cases"]):
            out.append((f"{stem}-{i}-{case.get('doc') or 'case'}", data, case))
    return out


def events(data: dict[str, Any]) -> list[dict[str, Any]]:
    """The file's events as records: ``id`` becomes the activity_id ``uid(id)``."""
    out = []
    for e in data["events"]:
        rec = {k: v for k, v in e.items() if k != "id"}
        rec["activity_id"] = uid(e["id"])
        out.append(rec)
    return out


def short(value: Any) -> Any:
    """A value as the golden files write it: event numbers for test ids, ISO text for timestamps."""
    if isinstance(value, str) and (m := UID_RE.match(value)):
        return int(m.group(1), 16)
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def table_rows(result_rows: list[dict[str, Any]]) -> list[list[Any]]:
    return [[short(v) for v in row.values()] for row in result_rows]


def cell(value: Any) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, float):
        return f"{value:g}" if abs(value) < 1e15 else repr(value)
    return str(value)


def markdown_table(columns: list[str], rows: list[list[Any]]) -> str:
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def stream_table(data: dict[str, Any]) -> str:
    """The events of a file as a markdown table (id, actor, activity, ts, and any other fields)."""
    extra = [k for k in ("revenue_impact", "feature_json") if any(k in e for e in data["events"])]
    columns = ["id", "customer", "anonymous_customer_id", "activity", "ts", *extra]
    rows = []
    for e in sorted(data["events"], key=lambda e: (e["ts"], e["id"])):
        row = [e["id"], e.get("customer"), e.get("anonymous_customer_id"), e["activity"], e["ts"]]
        row += [json.dumps(e.get(k, {}), separators=(", ", ": ")) if k == "feature_json" else e.get(k) for k in extra]
        rows.append(row)
    return markdown_table(columns, rows)


def request_text(request: dict[str, Any]) -> str:
    """The request as valid JSON with the cohort on one line and one line per append."""
    appends = request.get("append", [])
    lines = ['{"cohort": ' + json.dumps(request["cohort"]) + ("," if appends else "}")]
    if appends:
        lines.append(' "append": [')
        lines += ["   " + json.dumps(a) + ("," if i < len(appends) - 1 else "]}") for i, a in enumerate(appends)]
    return "\n".join(lines)


def doc_block(case: dict[str, Any]) -> str:
    """What docs/dataset.md shows for a case: the request and the exact output."""
    request = request_text(case["request"])
    assert json.loads(request) == case["request"]
    return f"```json\n{request}\n```\n\n{markdown_table(case['columns'], case['rows'])}"
