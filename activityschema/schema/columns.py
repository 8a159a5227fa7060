"""Column names, limits and reason codes of the activity record (SEMANTICS §1).

These constants are the single source for the Python validator (``record.py``), the column-wise SQL
validator (``ingest/validate_sql.py``) and the DDL, so the two validation paths cannot drift apart.
"""

from __future__ import annotations

import re

SPEC_COLUMNS: tuple[str, ...] = (
    "activity_id",
    "ts",
    "activity",
    "customer",
    "anonymous_customer_id",
    "feature_json",
    "revenue_impact",
    "link",
)
HELPER_COLUMNS: tuple[str, ...] = ("activity_occurrence", "activity_repeated_at")
# Accepted on input and ignored: the store always computes them (SEMANTICS §3).
IGNORED_INPUT_COLUMNS: frozenset[str] = frozenset(HELPER_COLUMNS)
ALLOWED_INPUT_KEYS: frozenset[str] = frozenset(SPEC_COLUMNS) | IGNORED_INPUT_COLUMNS

ACTIVITY_MAX_LEN = 100
CUSTOMER_MAX_LEN = 255
LINK_MAX_LEN = 2000
FEATURE_JSON_MAX_BYTES = 16 * 1024 * 1024
MAX_FUTURE_HOURS_DEFAULT = 24

ACTIVITY_PATTERN = r"^[a-z][a-z0-9]*(_[a-z0-9]+)+$"
# Any UUID version, hyphenated or 32 bare hex digits, optional braces; stored lowercase hyphenated.
UUID_PATTERN = r"^\{?[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}\}?$"
# ISO 8601 date or date-time; fraction up to 9 digits (truncated to microseconds); Z or +hh[:mm].
TS_PATTERN = (
    r"^(\d{4})-(\d{2})-(\d{2})"
    r"(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?"
    r"\s*(Z|z|[+-]\d{2}(?::?\d{2})?)?$"
)
# An absolute URI: a scheme, a colon, then no whitespace.
LINK_PATTERN = r"^[A-Za-z][A-Za-z0-9+.\-]*:[^\s]+$"


def _python_regex(pattern: str) -> re.Pattern[str]:
    """The pattern as DuckDB's RE2 reads it: ``$`` only at the very end (Python's ``$`` also matches
    before a trailing newline) and ASCII classes (Python's ``\\d`` and ``\\s`` are Unicode-wide)."""
    return re.compile(pattern.removesuffix("$") + r"\Z", re.ASCII)


ACTIVITY_RE = _python_regex(ACTIVITY_PATTERN)
UUID_RE = _python_regex(UUID_PATTERN)
TS_RE = _python_regex(TS_PATTERN)
LINK_RE = _python_regex(LINK_PATTERN)

# Reason codes, each with the message template the validators use.
REASONS: dict[str, str] = {
    "invalid_json": "the record is not a JSON object",
    "invalid_activity_id": "activity_id must be a UUID string",
    "invalid_ts": "ts must be an ISO 8601 timestamp string",
    "ts_in_future": "ts is more than the allowed hours in the future",
    "invalid_activity": (
        "activity must match [namespace_]verb_noun[_modifier]: lowercase letters and digits in "
        f"underscore-separated parts, at most {ACTIVITY_MAX_LEN} characters"
    ),
    "invalid_customer": f"customer must be a string of 1 to {CUSTOMER_MAX_LEN} characters",
    "invalid_anonymous_customer_id": (
        f"anonymous_customer_id must be a string of 1 to {CUSTOMER_MAX_LEN} characters"
    ),
    "invalid_feature_json": "feature_json must be a JSON object or a string holding one",
    "feature_json_too_large": f"feature_json is larger than {FEATURE_JSON_MAX_BYTES} bytes",
    "invalid_revenue_impact": "revenue_impact must be a finite number or null",
    "invalid_link": f"link must be an absolute URI with a scheme, at most {LINK_MAX_LEN} characters",
    "unknown_field": "unknown top-level field",
    "conflict": "activity_id already stored with different content (the first write wins)",
    "suppressed": "the customer is suppressed (erased or opted out)",
    "opted_out": "the actor opted out of tracking (consent); the event was dropped",
    "schema_violation": "feature_json does not match the registered schema for this activity",
}

REASON_FIELDS: dict[str, str] = {
    "invalid_activity_id": "activity_id",
    "invalid_ts": "ts",
    "ts_in_future": "ts",
    "invalid_activity": "activity",
    "invalid_customer": "customer",
    "invalid_anonymous_customer_id": "anonymous_customer_id",
    "invalid_feature_json": "feature_json",
    "feature_json_too_large": "feature_json",
    "invalid_revenue_impact": "revenue_impact",
    "invalid_link": "link",
    "conflict": "activity_id",
}
