"""Fit a context into a byte budget and say what was left out.

``fit_context(context, max_bytes)`` returns a context whose compact UTF-8 JSON is at most
``max_bytes``. When something must go, it drops whole items, never cutting a value in half, so the
result is always valid JSON of the same shape, and it adds ``"_truncated": {part: items omitted}``.
What goes first (least useful to an agent first):

1. ``recent_activities``, oldest first;
2. ``insights``, largest value first (one huge value should not push out many small ones);
3. ``activities``, the least recently done first.

The summary fields (``customer_id``, first/last seen, counts, revenue) always stay; a budget too
small even for them is an error that names the smallest budget that works.
"""

from __future__ import annotations

from typing import Any

from ..errors import ValidationError
from ..schema.jsonable import dumps, size_of

MAX_BYTES_MIN = 128
MAX_BYTES_MAX = 16 * 1024 * 1024
TRUNCATION_KEY = "_truncated"


def check_max_bytes(max_bytes: object) -> int:
    if isinstance(max_bytes, bool) or not isinstance(max_bytes, int) or not MAX_BYTES_MIN <= max_bytes <= MAX_BYTES_MAX:
        raise ValidationError(f"max_bytes must be an integer from {MAX_BYTES_MIN} to {MAX_BYTES_MAX}, "
                              f"got {max_bytes!r}.",
                              code="invalid_max_bytes")
    return max_bytes


def _member_size(key: str, value: Any) -> int:
    return size_of(key) + 1 + size_of(value) + 1  # "key":value plus a comma


def _drop_plan(ctx: dict[str, Any]) -> list[tuple[str, Any, int]]:
    """Every droppable item as (part, key or index, bytes it frees), in dropping order."""
    plan: list[tuple[str, Any, int]] = []
    recent = ctx.get("recent_activities") or []
    plan += [("recent_activities", i, size_of(recent[i]) + 1) for i in range(len(recent) - 1, -1, -1)]
    insights = ctx.get("insights") or []
    plan += sorted((("insights", i, size_of(item) + 1) for i, item in enumerate(insights)), key=lambda p: -p[2])
    activities = ctx.get("activities") or {}
    by_age = sorted(activities, key=lambda k: (activities[k].get("last_ts") or "", k))
    plan += [("activities", k, _member_size(k, activities[k])) for k in by_age]
    return plan


def _apply(ctx: dict[str, Any], dropped: dict[str, set[Any]]) -> dict[str, Any]:
    out = dict(ctx)
    if dropped["recent_activities"]:
        gone = dropped["recent_activities"]
        out["recent_activities"] = [r for i, r in enumerate(ctx["recent_activities"]) if i not in gone]
    if dropped["insights"]:
        out["insights"] = [r for i, r in enumerate(ctx["insights"]) if i not in dropped["insights"]]
    if dropped["activities"]:
        out["activities"] = {k: v for k, v in ctx["activities"].items() if k not in dropped["activities"]}
    counts = {part: len(keys) for part, keys in dropped.items() if keys}
    if counts:
        out[TRUNCATION_KEY] = counts
    return out


def fit_context(context: dict[str, Any], max_bytes: int) -> tuple[dict[str, Any], bool, int]:
    """(fitted context, truncated?, its size in bytes)."""
    check_max_bytes(max_bytes)
    size = size_of(context)
    if size <= max_bytes:
        return context, False, size
    dropped: dict[str, set[Any]] = {"recent_activities": set(), "insights": set(), "activities": set()}
    estimate = size
    for part, key, freed in _drop_plan(context):
        dropped[part].add(key)
        estimate -= freed
        marker = size_of({TRUNCATION_KEY: {p: len(k) for p, k in dropped.items() if k}}) + 1
        if estimate + marker <= max_bytes:
            result = _apply(context, dropped)
            real = size_of(result)
            if real <= max_bytes:
                return result, True, real
    result = _apply(context, dropped)
    real = size_of(result)
    if real > max_bytes:
        raise ValidationError(f"max_bytes {max_bytes} is too small for this context: its summary alone takes "
                              f"{real} bytes.", code="max_bytes_too_small", details={"minimum": real})
    return result, True, real


__all__ = ["MAX_BYTES_MAX", "MAX_BYTES_MIN", "TRUNCATION_KEY", "check_max_bytes", "dumps", "fit_context"]
