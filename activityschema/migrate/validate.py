"""Checks that a migrated store holds every row of its v1 source (docs/migration.md).

Each check compares what the source says (its converted rows in ``_mig_rows``, and their raw values)
with what the store holds. Any failed check fails the migration loudly: the CLI exits 1 and prints
which check failed, with its expected and actual values.

- ``rows_converted``: every source row was read (source count = converted count);
- ``kept_stored``: every kept row's id is in ``activities``;
- ``duplicates_resolved``: every dropped duplicate's id is in ``activities`` (its twin);
- ``rejects_stored``: every invalid or conflicting row is in ``rejected_activities`` (identical rows once);
- ``ids_unique``: ``activity_id`` is unique in ``activities``;
- ``ts_range``: min and max ts of the migrated rows equal those of the source rows they came from;
- ``sample_checksum``: for a sample of kept rows (``ORDER BY md5(activity_id)``), an md5 over the raw
  source values equals an md5 over the stored values (each feature read back from ``feature_json``
  by its mapped key); mismatching ids are listed;
- ``sample_customers``: sampled rows keep their customer, or took the one identity stitching gave them;
- ``helper_columns``: every row with an actor has its occurrence number.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..errors import ValidationError
from .executor import Executor
from .mapping import FOLDED_COLUMNS
from .sql import fragment, render

SAMPLE_SIZE_DEFAULT = 1000
MISMATCH_IDS_SHOWN = 5

MIGRATED = "SELECT activity_id FROM _mig_rows WHERE status = 'kept'"
REJECTED = "FROM _mig_rows WHERE status IN ('conflict', 'invalid')"
# Every count check in one round trip: (name, scalar subquery).
COUNTS = (
    ("converted", "SELECT count(*) FROM _mig_rows"),
    ("kept", "SELECT count(*) FROM _mig_rows WHERE status = 'kept'"),
    ("kept_stored", "SELECT count(*) FROM _mig_rows m JOIN activities a ON a.activity_id = m.activity_id "
                    "WHERE m.status = 'kept'"),
    ("duplicates_missing", "SELECT count(*) FROM _mig_rows WHERE status = 'duplicate' "
                           "AND activity_id NOT IN (SELECT activity_id FROM activities)"),
    ("rejects_expected", f"SELECT count(DISTINCT md5(payload)) {REJECTED}"),
    ("rejects_stored", f"SELECT count(DISTINCT md5(payload)) {REJECTED} "
                       "AND md5(payload) IN (SELECT payload_hash FROM rejected_activities)"),
    ("rows", "SELECT count(*) FROM activities"),
    ("distinct_ids", "SELECT count(DISTINCT activity_id) FROM activities"),
    ("source_min", "SELECT min(ts) FROM _mig_rows WHERE status IN ('kept', 'duplicate')"),
    ("source_max", "SELECT max(ts) FROM _mig_rows WHERE status IN ('kept', 'duplicate')"),
    ("stored_min", f"SELECT min(ts) FROM activities WHERE activity_id IN ({MIGRATED})"),
    ("stored_max", f"SELECT max(ts) FROM activities WHERE activity_id IN ({MIGRATED})"),
    ("helpers_missing", "SELECT count(*) FROM activities WHERE coalesce(customer, anonymous_customer_id) "
                        "IS NOT NULL AND activity_occurrence IS NULL"),
)
COUNTS_SQL = "SELECT " + ",\n       ".join(f"({sql}) AS {name}" for name, sql in COUNTS)

SAMPLE_TABLE = """
{TEMP} _mig_sample AS
SELECT activity_id FROM _mig_rows WHERE status = 'kept' ORDER BY md5(activity_id) LIMIT {LIMIT}
"""

SAMPLE_TEXTS = """
{TEMP} _mig_sample_texts AS
SELECT m.activity_id,
       concat_ws('|', m.activity_id, {SRC_TS}, coalesce('v' || m.activity, 'n'),
                 coalesce('v' || m.anonymous_customer_id, 'n'),
                 coalesce('v' || CAST(m.raw_revenue_impact AS VARCHAR), 'n'),
                 coalesce('v' || m.raw_link, 'n'), {SRC_FEATURES}) AS source_text,
       concat_ws('|', a.activity_id, {DST_TS}, coalesce('v' || a.activity, 'n'),
                 coalesce('v' || a.anonymous_customer_id, 'n'),
                 coalesce('v' || CAST(a.revenue_impact AS VARCHAR), 'n'),
                 coalesce('v' || a.link, 'n'), {DST_FEATURES}) AS stored_text
FROM _mig_sample s
JOIN _mig_rows m ON m.activity_id = s.activity_id AND m.status = 'kept'
LEFT JOIN activities a ON a.activity_id = s.activity_id
"""

SAMPLE_CHECKSUMS = """
SELECT count(*), md5({AGG_SOURCE}), md5({AGG_STORED}) FROM _mig_sample_texts
"""
SAMPLE_MISMATCHES = f"""
SELECT activity_id FROM _mig_sample_texts
WHERE stored_text IS NULL OR source_text <> stored_text
ORDER BY activity_id LIMIT {MISMATCH_IDS_SHOWN}
"""
SAMPLE_CUSTOMERS = """
SELECT count(*)
FROM _mig_sample s
JOIN _mig_rows m ON m.activity_id = s.activity_id AND m.status = 'kept'
JOIN activities a ON a.activity_id = s.activity_id
LEFT JOIN identity_map im ON im.anonymous_customer_id = m.anonymous_customer_id
WHERE NOT (a.customer IS NOT DISTINCT FROM m.customer
           OR (m.customer IS NULL AND a.customer IS NOT DISTINCT FROM im.customer))
"""


@dataclass
class Check:
    name: str
    ok: bool
    expected: Any
    actual: Any
    detail: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "ok": self.ok, "expected": _plain(self.expected),
                "actual": _plain(self.actual), "detail": self.detail}


def _plain(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value.isoformat(sep=" ") if hasattr(value, "isoformat") else value


@dataclass
class ValidationReport:
    checks: list[Check] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)

    @property
    def failed(self) -> list[Check]:
        return [c for c in self.checks if not c.ok]

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "checks": [c.to_dict() for c in self.checks]}

    def raise_if_failed(self) -> None:
        if self.ok:
            return
        names = ", ".join(f"{c.name} (expected {_plain(c.expected)}, got {_plain(c.actual)})" for c in self.failed)
        raise ValidationError(f"Migration validation failed: {names}. Nothing was recorded as migrated; "
                              "see the report for details.", code="migration_validation_failed",
                              details=self.to_dict())


def _counts(ex: Executor, source_rows: int, report: ValidationReport) -> None:
    v = dict(zip([name for name, _ in COUNTS], ex.fetchall(COUNTS_SQL)[0], strict=True))
    add = report.checks.append
    add(Check("rows_converted", v["converted"] == source_rows, source_rows, v["converted"]))
    add(Check("kept_stored", v["kept_stored"] == v["kept"], v["kept"], v["kept_stored"]))
    add(Check("duplicates_resolved", v["duplicates_missing"] == 0, 0, v["duplicates_missing"],
              "duplicate rows whose id is not stored"))
    add(Check("rejects_stored", v["rejects_stored"] == v["rejects_expected"], v["rejects_expected"],
              v["rejects_stored"]))
    add(Check("ids_unique", v["rows"] == v["distinct_ids"], v["rows"], v["distinct_ids"], "rows vs distinct ids"))
    source, stored = [v["source_min"], v["source_max"]], [v["stored_min"], v["stored_max"]]
    add(Check("ts_range", source == stored, source, stored, "min and max ts"))
    add(Check("helper_columns", v["helpers_missing"] == 0, 0, v["helpers_missing"],
              "rows with an actor but no occurrence"))


def _feature_texts(dialect: str, row: str, stored: bool) -> str:
    parts = []
    for column in FOLDED_COLUMNS:
        key = f"m.key_{column}"
        if stored:
            value = fragment(dialect, "JSON_GET", j=f"{row}.feature_json", k=key)
        else:
            value = f"m.raw_{column}"
        parts.append(f"coalesce('v' || CASE WHEN {key} = '' THEN NULL ELSE {value} END, 'n')")
    return ", ".join(parts)


def _sample(ex: Executor, size: int, report: ValidationReport) -> None:
    d = ex.dialect
    ex.execute(render(SAMPLE_TABLE, d, LIMIT=str(int(size))))
    ex.execute(render(
        SAMPLE_TEXTS, d,
        SRC_TS="coalesce('v' || CAST(" + fragment(d, "EPOCH_US", x="m.ts") + " AS VARCHAR), 'n')",
        DST_TS="coalesce('v' || CAST(" + fragment(d, "EPOCH_US", x="a.ts") + " AS VARCHAR), 'n')",
        SRC_FEATURES=_feature_texts(d, "m", stored=False),
        DST_FEATURES=_feature_texts(d, "a", stored=True),
    ))
    n, source_sum, stored_sum = ex.fetchall(render(
        SAMPLE_CHECKSUMS, d,
        AGG_SOURCE=fragment(d, "AGG", x="source_text", k="activity_id"),
        AGG_STORED=fragment(d, "AGG", x="coalesce(stored_text, '')", k="activity_id"),
    ))[0]
    mismatched = [r[0] for r in ex.fetchall(SAMPLE_MISMATCHES)]
    report.checks.append(Check("sample_checksum", source_sum == stored_sum and not mismatched,
                               source_sum, stored_sum,
                               f"{n} sampled rows" + (f"; mismatching ids: {', '.join(mismatched)}" if mismatched else "")))
    wrong = ex.fetchall(SAMPLE_CUSTOMERS)[0][0]
    report.checks.append(Check("sample_customers", wrong == 0, 0, wrong, "sampled rows whose customer changed"))


def run_checks(ex: Executor, source_rows: int, sample_size: int = SAMPLE_SIZE_DEFAULT) -> ValidationReport:
    """Every check over ``_mig_rows`` (already converted) and the store."""
    report = ValidationReport()
    _counts(ex, source_rows, report)
    _sample(ex, sample_size, report)
    return report
