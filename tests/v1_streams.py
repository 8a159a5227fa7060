"""Generated v1.0 and v1.1 activity streams, written into a store as a plain table.

v1.0 rows carry ``source``, ``source_id``, ``feature_1..3``, ``_activity_source`` and no
``activity_id``; v1.1 adds ``anonymous_customer_id`` (some rows anonymous-only, some linking an
anonymous id to a customer). ``expected_id`` is the migration's backfill formula written in Python.
"""

from __future__ import annotations

import hashlib
import random
import uuid
from datetime import datetime, timedelta
from typing import Any

EPOCH = datetime(1970, 1, 1)
V1_COLUMNS = ("ts", "source", "source_id", "customer", "activity", "feature_1", "feature_2", "feature_3",
              "revenue_impact", "link", "_activity_source", "activity_occurrence", "activity_repeated_at")
TYPES = {
    "duckdb": {"ts": "TIMESTAMP", "revenue_impact": "DOUBLE", "activity_occurrence": "INTEGER",
               "activity_repeated_at": "TIMESTAMP"},
    "snowflake": {"ts": "TIMESTAMP_NTZ", "revenue_impact": "FLOAT", "activity_occurrence": "INTEGER",
                  "activity_repeated_at": "TIMESTAMP_NTZ"},
}
ACTIVITIES = {
    "visited_page": ("page", "referrer", None),
    "started_session": ("device", None, None),
    "completed_order": ("order_id", "plan", "coupon"),
}


def expected_id(customer: str | None, anonymous: str | None, activity: str, ts: datetime) -> str:
    micros = (ts - EPOCH) // timedelta(microseconds=1)
    actor = customer if customer is not None else (anonymous or "")
    return str(uuid.UUID(hex=hashlib.md5(f"{actor}::{activity}::{micros}".encode()).hexdigest()))


def v1_rows(n: int, *, version: str = "v1.0", seed: int = 7) -> list[dict[str, Any]]:
    rnd = random.Random(seed)
    base = datetime(2023, 3, 1)
    rows = []
    for i in range(n):
        activity = rnd.choice(list(ACTIVITIES))
        customer: str | None = f"c{rnd.randrange(max(2, n // 5))}"
        anon = None
        if version == "v1.1":
            pick = rnd.random()
            anon = f"anon{rnd.randrange(max(2, n // 6))}" if pick < 0.6 else None
            customer = None if pick < 0.3 else customer
        ts = base + timedelta(minutes=i * 7 + rnd.randrange(5), microseconds=rnd.randrange(2) * 250_000)
        features = [None if name is None or rnd.random() < 0.1 else f"{name}-{rnd.randrange(50)}"
                    for name in ACTIVITIES[activity]]
        row = {"ts": ts, "source": rnd.choice(["web", "app"]), "source_id": f"s{i}", "customer": customer,
               "activity": activity, "feature_1": features[0], "feature_2": features[1],
               "feature_3": features[2], "revenue_impact": round(rnd.uniform(1, 90), 2) if activity == "completed_order" else None,
               "link": f"https://shop.example/o/{i}" if activity == "completed_order" else None,
               "_activity_source": "legacy_etl", "activity_occurrence": None, "activity_repeated_at": None}
        if version == "v1.1":
            row["anonymous_customer_id"] = anon
        rows.append(row)
    return rows


def create_v1_table(store: Any, rows: list[dict[str, Any]], *, name: str = "activities",
                    version: str = "v1.0", drop_existing: bool = True) -> None:
    """Write ``rows`` as a v1 table ``name`` (replacing a v2 ``activities`` the store created)."""
    columns = list(V1_COLUMNS) + (["anonymous_customer_id"] if version == "v1.1" else [])
    types = TYPES[store.dialect]
    ddl = f"CREATE TABLE {name} (" + ", ".join(f"{c} {types.get(c, 'VARCHAR')}" for c in columns) + ")"
    insert = f"INSERT INTO {name} ({', '.join(columns)}) VALUES ({', '.join('?' for _ in columns)})"
    values = [[r.get(c) for c in columns] for r in rows]
    if store.dialect == "duckdb":
        with store.write() as con:
            if drop_existing:
                con.execute(f"DROP TABLE IF EXISTS {name}")
            con.execute(ddl)
            con.executemany(insert, values)
    else:
        with store.session() as s:
            if drop_existing:
                s.execute(f"DROP TABLE IF EXISTS {name}")
            s.execute(ddl)
            s.executemany(insert, values)
