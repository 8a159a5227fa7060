"""JSON-safe values and compact JSON text, shared by memory, query results and the servers.

Rows come out of the store as Python values (datetimes, Decimals, UUIDs, JSON columns as text); every
interface must render them the same way, so they all go through ``jsonable``.
"""

from __future__ import annotations

import base64
import json
import math
import uuid
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any


def jsonable(value: Any) -> Any:
    """A value JSON can express: datetimes as ISO text, Decimals as floats, non-finite as null."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [jsonable(v) for v in value]
    if isinstance(value, (datetime, date, time)):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, Decimal):
        return jsonable(float(value))
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return base64.b64encode(bytes(value)).decode("ascii")
    return str(value)


def dumps(value: Any) -> str:
    """Compact JSON text (no spaces, UTF-8 kept): the form sizes are measured in."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def size_of(value: Any) -> int:
    """Bytes of ``value`` as compact UTF-8 JSON."""
    return len(dumps(value).encode("utf-8"))


def parse_json_text(text: Any) -> Any:
    """A JSON column value (text) as a Python value; non-text values are returned as they are."""
    if isinstance(text, str):
        try:
            return json.loads(text)
        except ValueError:
            return text
    return text
