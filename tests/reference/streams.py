"""Random event streams with many ties, for comparing the engine with brute-force references."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Any

from tests.conftest import uid

BASE = datetime(2026, 3, 2)  # a Monday
ACTIVITIES = ("step_a", "step_b", "step_c", "other_x")
VALUES = ("x", "y")


def random_records(rng: random.Random, *, actors: int = 6, events: int = 18, minutes: int = 40,
                   activities: tuple[str, ...] = ACTIVITIES, start_id: int = 1) -> list[dict[str, Any]]:
    """Events on a coarse minute grid (so equal timestamps are common), one feature key ``p``."""
    out, n = [], start_id
    for a in range(actors):
        for _ in range(rng.randint(1, events)):
            rec: dict[str, Any] = {
                "activity_id": uid(n),
                "ts": (BASE + timedelta(minutes=rng.randint(0, minutes))).isoformat(),
                "activity": rng.choice(activities),
                "customer": f"c{a}",
                "feature_json": {"p": rng.choice(VALUES)} if rng.random() < 0.8 else {},
            }
            out.append(rec)
            n += 1
    return out
