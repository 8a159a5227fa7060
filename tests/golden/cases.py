"""Loader and runner of golden cases: the fixtures in tests/golden/*.json and the worked examples in
docs/*.md share one format, so every example a user reads is also a test.

A case::

    {"description": "one line", "kind": "funnel",
     "events": {"c1": [["signup_started", "00:00"], ["email_verified", "00:05", {"plan": "pro"}]]},
     "request": {...}, "now": "+14d 00:00", "expect": {...}}

Event times: full ISO text, ``HH:MM[:SS]`` on the base day (Monday 2026-03-02), or ``+Nd HH:MM``
(N days later). Events get ids in the order they are listed, so among equal timestamps the one listed
first has the lower activity_id. An actor key starting with ``anon:`` sends anonymous_customer_id
only; the key ``-`` sends events with no actor at all.
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from activityschema.ingest.importer import ingest_records
from activityschema.store.duckdb import DuckDBStore
from tests.conftest import NOW, uid

BASE_DAY = datetime(2026, 3, 2)
GOLDEN_DIR = Path(__file__).parent
DOCS_DIR = Path(__file__).parents[2] / "docs"
_RELATIVE = re.compile(r"^(?:\+(\d+)d\s*)?(\d{2}):(\d{2})(?::(\d{2}(?:\.\d+)?))?$")
_EXAMPLE = re.compile(r"<!-- example: ([\w-]+) -->\s*```json\n(.*?)```", re.S)


def parse_time(text: str) -> datetime:
    m = _RELATIVE.match(text.strip())
    if not m:
        return datetime.fromisoformat(text)
    days, hours, minutes, seconds = m.groups()
    return BASE_DAY + timedelta(days=int(days or 0), hours=int(hours), minutes=int(minutes),
                                seconds=float(seconds or 0))


def records(events: dict[str, list[list[Any]]]) -> list[dict[str, Any]]:
    out, n = [], 1
    for actor, items in events.items():
        for item in items:
            activity, when = item[0], item[1]
            rec: dict[str, Any] = {"activity_id": uid(n), "activity": activity, "ts": parse_time(when).isoformat()}
            if actor.startswith("anon:"):
                rec["anonymous_customer_id"] = actor[len("anon:"):]
            elif actor != "-":
                rec["customer"] = actor
            if len(item) > 2 and item[2]:
                rec["feature_json"] = item[2]
            out.append(rec)
            n += 1
    return out


def load_store(case: dict[str, Any]) -> DuckDBStore:
    store = DuckDBStore(":memory:")
    report = ingest_records(store, records(case["events"]), now=NOW)
    assert report.rejected == 0, report
    return store


def golden_cases(name: str) -> list[tuple[str, dict[str, Any]]]:
    cases = json.loads((GOLDEN_DIR / f"{name}.json").read_text())
    return [(c["description"], c) for c in cases]


def doc_examples(page: str) -> list[tuple[str, dict[str, Any]]]:
    text = (DOCS_DIR / page).read_text()
    return [(name, json.loads(body)) for name, body in _EXAMPLE.findall(text)]


def now_of(case: dict[str, Any]) -> datetime | None:
    return parse_time(case["now"]) if "now" in case else None
