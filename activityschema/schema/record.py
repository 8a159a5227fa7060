"""Validation and normalization of one activity record (SEMANTICS §1).

Bulk paths validate column-wise in DuckDB (``ingest/validate_sql.py``) with the same patterns from
``columns.py``; this module serves single records (the logger, the HTTP API, MCP ``log_event``). A
property test checks that both paths agree record for record.
"""

from __future__ import annotations

import json
import math
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from . import columns as C

# Fixed namespace for derived ids: uuid5(DERIVED_ID_NAMESPACE, original_id) is stable forever.
DERIVED_ID_NAMESPACE = uuid.UUID("6f1c1f0e-5b7a-4c8e-9a57-2d0c4b1e7a10")


@dataclass(frozen=True)
class Reason:
    code: str
    message: str
    field: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "field": self.field, "message": self.message}


@dataclass
class Checked:
    """Outcome of validating one record: the normalized record, or the reasons it was refused."""

    record: dict[str, Any] | None
    reasons: list[Reason] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.reasons


def reason(code: str, detail: str = "") -> Reason:
    message = C.REASONS[code] + (f": {detail}" if detail else "")
    return Reason(code, message, C.REASON_FIELDS.get(code))


def derive_activity_id(original: str) -> str:
    """Deterministic UUID v5 for a non-UUID source id, so re-imports stay idempotent."""
    return str(uuid.uuid5(DERIVED_ID_NAMESPACE, original))


def canonical_uuid(value: str) -> str:
    return str(uuid.UUID(value.strip("{}")))


def parse_ts(value: Any) -> datetime | None:
    """UTC-naive datetime with microsecond precision, or None when not ISO 8601."""
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(UTC).replace(tzinfo=None)
        return value
    if not isinstance(value, str):
        return None
    m = C.TS_RE.match(value.strip(" "))  # spaces only, as DuckDB's trim()
    if not m:
        return None
    y, mo, d, hh, mi, ss, frac, tz = m.groups()
    micro = int((frac or "0")[:6].ljust(6, "0"))
    try:
        dt = datetime(int(y), int(mo), int(d), int(hh or 0), int(mi or 0), int(ss or 0), micro)
        offset = _parse_offset(tz)
    except ValueError:
        return None
    if offset is None:
        return None
    try:
        return dt - offset
    except OverflowError:
        return None


def _parse_offset(tz: str | None) -> timedelta | None:
    if tz is None or tz in ("Z", "z"):
        return timedelta(0)
    sign = -1 if tz[0] == "-" else 1
    digits = tz[1:].replace(":", "")
    hours, minutes = int(digits[:2]), int(digits[2:4] or 0)
    if hours > 23 or minutes > 59:
        return None
    return sign * timedelta(hours=hours, minutes=minutes)


def _check_id(rec: dict[str, Any], derive_ids: bool, out: dict[str, Any]) -> Reason | None:
    value = rec.get("activity_id")
    if value is None:
        out["activity_id"] = str(uuid.uuid4())
    elif isinstance(value, str) and C.UUID_RE.match(value):
        out["activity_id"] = canonical_uuid(value)
    elif isinstance(value, str) and derive_ids and value:
        out["activity_id"] = derive_activity_id(value)
    else:
        return reason("invalid_activity_id", f"got {_show(value)}")
    return None


def _check_ts(rec: dict[str, Any], now: datetime, max_future: timedelta, out: dict[str, Any]) -> Reason | None:
    value = rec.get("ts")
    ts = parse_ts(value)
    if ts is None:
        return reason("invalid_ts", f"got {_show(value)}")
    if ts > now + max_future:
        return reason("ts_in_future", f"{ts.isoformat()} is after {(now + max_future).isoformat()}")
    out["ts"] = ts
    return None


def _check_text(rec: dict[str, Any], key: str, code: str, out: dict[str, Any]) -> Reason | None:
    value = rec.get(key)
    if value is None or (isinstance(value, str) and 1 <= len(value) <= C.CUSTOMER_MAX_LEN):
        out[key] = value
        return None
    return reason(code, f"got {_show(value)}")


def _check_activity(rec: dict[str, Any], out: dict[str, Any]) -> Reason | None:
    value = rec.get("activity")
    if isinstance(value, str) and len(value) <= C.ACTIVITY_MAX_LEN and C.ACTIVITY_RE.match(value):
        out["activity"] = value
        return None
    return reason("invalid_activity", f"got {_show(value)}")


def _check_features(rec: dict[str, Any], out: dict[str, Any]) -> Reason | None:
    value = rec.get("feature_json")
    if value is None:
        value = {}
    if isinstance(value, (str, bytes)):
        try:
            value = json.loads(value)
        except ValueError:
            return reason("invalid_feature_json", "the string is not valid JSON")
    if not isinstance(value, dict):
        return reason("invalid_feature_json", f"got {type(value).__name__}")
    try:
        text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as exc:
        return reason("invalid_feature_json", str(exc))
    if len(text.encode()) > C.FEATURE_JSON_MAX_BYTES:
        return reason("feature_json_too_large")
    out["feature_json"] = text
    return None


def _check_revenue(rec: dict[str, Any], out: dict[str, Any]) -> Reason | None:
    value = rec.get("revenue_impact")
    if value is None:
        out["revenue_impact"] = None
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        try:
            number = float(value)  # an int beyond the double range overflows: not a finite number
        except OverflowError:
            number = math.inf
        if math.isfinite(number):
            out["revenue_impact"] = number
            return None
    return reason("invalid_revenue_impact", f"got {_show(value)}")


def _check_link(rec: dict[str, Any], out: dict[str, Any]) -> Reason | None:
    value = rec.get("link")
    if value is None or (
        isinstance(value, str) and len(value) <= C.LINK_MAX_LEN and C.LINK_RE.match(value)
    ):
        out["link"] = value
        return None
    return reason("invalid_link", f"got {_show(value)}")


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def validate_record(
    rec: Any,
    *,
    now: datetime | None = None,
    max_future_hours: float = C.MAX_FUTURE_HOURS_DEFAULT,
    derive_ids: bool = False,
) -> Checked:
    """Check one record against every rule; return the normalized record or all its reasons.

    The normalized record has ``ts`` as a naive UTC datetime, ``feature_json`` as compact JSON text,
    ``revenue_impact`` as float or None, and a canonical lowercase ``activity_id``.

    Example:
        >>> validate_record({"activity": "user_signup", "ts": "2024-01-15T14:30:00Z",
        ...                  "activity_id": "0F8FAD5B-D9CB-469F-A165-70867728950E"},
        ...                 now=datetime(2024, 2, 1)).record["activity_id"]
        '0f8fad5b-d9cb-469f-a165-70867728950e'
    """
    if not isinstance(rec, dict):
        return Checked(None, [reason("invalid_json", f"got {type(rec).__name__}")])
    now = now or datetime.now(UTC).replace(tzinfo=None)
    max_future = timedelta(hours=max_future_hours)
    out: dict[str, Any] = {}
    found = [
        _check_id(rec, derive_ids, out),
        _check_ts(rec, now, max_future, out),
        _check_activity(rec, out),
        _check_text(rec, "customer", "invalid_customer", out),
        _check_text(rec, "anonymous_customer_id", "invalid_anonymous_customer_id", out),
        _check_features(rec, out),
        _check_revenue(rec, out),
        _check_link(rec, out),
    ]
    unknown = sorted(k for k in rec if k not in C.ALLOWED_INPUT_KEYS)
    if unknown:
        found.append(Reason("unknown_field", f"unknown top-level field(s): {', '.join(unknown)}"))
    reasons = [r for r in found if r is not None]
    return Checked(None if reasons else out, reasons)


def parse_json_record(text: str | bytes, **kwargs: Any) -> Checked:
    """Validate one record given as JSON text."""
    try:
        obj = json.loads(text)
    except ValueError as exc:
        return Checked(None, [reason("invalid_json", str(exc))])
    return validate_record(obj, **kwargs)


__all__ = ["Checked", "Reason", "validate_record", "parse_json_record", "parse_ts", "derive_activity_id", "timezone"]
