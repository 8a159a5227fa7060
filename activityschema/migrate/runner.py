"""``migrate``: a v1.0 or v1.1 stream to the v2.0 store, on DuckDB or Snowflake (docs/migration.md).

Steps (the spec's "Migration from v1.0", made safe to repeat):

1. find the source: ``--source-table``, else ``activities`` when it is a v1 stream, else
   ``activities_v1`` (a previous run's archive);
2. convert every source row into ``_mig_rows`` (temporary): fold features and lineage columns into
   ``feature_json``, backfill ids, and mark each row kept, duplicate, conflict or invalid;
3. a dry run stops here and reports what would happen;
4. rename a v1 ``activities`` to ``activities_v1``, create every v2 table;
5. in one transaction: MERGE the kept rows on ``activity_id``, keep conflicts and invalid rows in
   ``rejected_activities``, link identities and stitch, recompute helper columns, validate, and record
   the schema version. A failed check rolls the data steps back and records nothing.

Re-running is safe: ids are deterministic, the MERGE skips stored ids, rejects are kept once per
payload, links once per anonymous id.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ..errors import ConfigError
from ..schema import columns as C
from ..schema.ddl import render_ddl
from . import sql as S
from .executor import Executor, executor_for
from .mapping import FOLDED_COLUMNS, LINEAGE_COLUMNS, FeatureMapping
from .source import ARCHIVE_SUFFIX, SourceTable, check_identifier, inspect_table, resolve_source
from .validate import SAMPLE_SIZE_DEFAULT, ValidationReport, run_checks

SPEC_VERSION = "2.0"
CONFLICT_FIELD = "activity_id"


@dataclass
class MigrationReport:
    dialect: str
    dry_run: bool
    status: str = "planned"  # planned | migrated | up_to_date
    source_table: str | None = None
    source_version: str | None = None
    reason: str = ""
    archive_table: str | None = None
    source_rows: int = 0
    kept: int = 0
    duplicates: int = 0
    conflicts: int = 0
    invalid: int = 0
    ids: dict[str, int] = field(default_factory=dict)
    inserted: int = 0
    tables_created: list[str] = field(default_factory=list)
    extra_columns: list[str] = field(default_factory=list)
    feature_keys: list[dict[str, Any]] = field(default_factory=list)
    validation: ValidationReport | None = None

    @property
    def reconciles(self) -> bool:
        return self.kept + self.duplicates + self.conflicts + self.invalid == self.source_rows

    def to_dict(self) -> dict[str, Any]:
        out = {k: v for k, v in self.__dict__.items() if k != "validation"}
        out["reconciles"] = self.reconciles
        out["validation"] = self.validation.to_dict() if self.validation else None
        return out


def _raw(table: SourceTable, column: str, cast: str = "VARCHAR") -> str:
    return f"CAST(r.{column} AS {cast})" if table.has(column) else f"CAST(NULL AS {cast})"


def _key(column: str) -> str:
    return f"coalesce(n.k_{column}, d.k_{column}, '{column}')"


def _ts_expr(dialect: str, table: SourceTable) -> str:
    ts_type = table.columns["ts"].split("(")[0]
    try:
        return S.TS_CONVERSIONS[dialect][ts_type]
    except KeyError:
        allowed = ", ".join(sorted(S.TS_CONVERSIONS[dialect]))
        raise ConfigError(f"Column ts of '{table.name}' has type {ts_type}; the migration reads {allowed}. "
                          "Convert ts to a timestamp column first (UTC, no time zone).") from None


def _id_expr(dialect: str, table: SourceTable) -> tuple[str, str]:
    actor = "coalesce(a.customer, a.anonymous_customer_id, '')"
    epoch = "CAST(" + S.fragment(dialect, "EPOCH_US", x="a.ts") + " AS VARCHAR)"
    backfill = S.UUID_FROM_HEX.replace("{h}", f"md5({actor} || '::' || a.activity || '::' || {epoch})")
    if not table.has("activity_id"):
        return backfill, "'backfilled'"
    given = "a.source_activity_id"
    bare = f"replace(replace(replace({given}, '-', ''), '{{', ''), '}}', '')"
    canonical = S.UUID_FROM_HEX.replace("{h}", bare)
    match = S.fragment(dialect, "UUID_MATCH", x=given)
    derived = S.fragment(dialect, "UUID5", x=given)
    expr = (f"CASE WHEN {given} IS NULL OR {given} = '' THEN {backfill} "
            f"WHEN {match} THEN {canonical} ELSE {derived} END")
    origin = (f"CASE WHEN {given} IS NULL OR {given} = '' THEN 'backfilled' "
              f"WHEN {match} THEN 'source' ELSE 'derived' END")
    return expr, origin


def convert_sql(dialect: str, table: SourceTable) -> str:
    """The CREATE … AS that fills ``_mig_rows`` from ``table`` (identifiers checked, no values)."""
    source = check_identifier(table.name)
    pairs = [(_key(c), _raw(table, c)) for c in FOLDED_COLUMNS]
    ident, origin = _id_expr(dialect, table)
    content = S.CONTENT_HASH.replace("{EPOCH_US_TS}", S.fragment(dialect, "EPOCH_US", x="a.ts")) \
        .replace("{JSON_TEXT_FEATURES}", S.fragment(dialect, "JSON_TEXT", x="a.feature_json"))
    raw_columns = ", ".join([f"{_raw(table, c)} AS raw_{c}" for c in FOLDED_COLUMNS]
                            + [f"{_raw(table, 'revenue_impact', 'DOUBLE')} AS raw_revenue_impact",
                               f"{_raw(table, 'link')} AS raw_link"])
    return S.render(
        S.CONVERT, dialect,
        TS=_ts_expr(dialect, table),
        ANON=f"NULLIF({_raw(table, 'anonymous_customer_id')}, '')",
        FEATURES=S.FEATURES[dialect](pairs),
        REVENUE=_raw(table, "revenue_impact", "DOUBLE"),
        LINK=f"NULLIF({_raw(table, 'link')}, '')",
        SOURCE_ID=_raw(table, "activity_id"),
        RAW_COLUMNS=raw_columns,
        KEYS=", ".join(f"{_key(c)} AS key_{c}" for c in FOLDED_COLUMNS),
        PAYLOAD_SOURCE=S.fragment(dialect, "PAYLOAD_SOURCE", source=source),
        ID=ident, ID_ORIGIN=origin, PROBLEM=S.STRUCTURAL_PROBLEM, CONTENT_HASH=content,
    )


def _reason_rows() -> list[tuple[str, str, str]]:
    import json

    codes = ["conflict", "invalid_ts", "invalid_activity", "invalid_customer",
             "invalid_anonymous_customer_id", "invalid_link"]
    rows = []
    for code in codes:
        fld = C.REASON_FIELDS.get(code, CONFLICT_FIELD)
        message = C.REASONS[code] + " (found while migrating a v1 stream)"
        rows.append((code, fld, json.dumps([{"code": code, "field": fld, "message": message}])))
    return rows


def convert(ex: Executor, table: SourceTable, mapping: FeatureMapping) -> None:
    """Fill the temporary tables ``_mig_names``, ``_mig_reasons`` and ``_mig_rows``."""
    d = ex.dialect
    ex.execute(S.render(S.NAMES_TABLE, d))
    if mapping.rows():
        ex.executemany(S.NAMES_INSERT, mapping.rows())
    ex.execute(S.render(S.REASONS_TABLE, d))
    ex.executemany(S.REASONS_INSERT, _reason_rows())
    ex.execute(convert_sql(d, table))


def _fill_counts(ex: Executor, table: SourceTable, report: MigrationReport) -> None:
    report.source_rows = int(ex.fetchall(S.SOURCE_COUNT.replace("{source}", table.name))[0][0])
    status = {s: int(n) for s, n in ex.fetchall(S.STATUS_COUNTS)}
    report.kept, report.duplicates = status.get("kept", 0), status.get("duplicate", 0)
    report.conflicts, report.invalid = status.get("conflict", 0), status.get("invalid", 0)
    report.ids = {o: int(n) for o, n in ex.fetchall(S.ORIGIN_COUNTS) if o}
    keys = ", ".join(f"key_{c}" for c in FOLDED_COLUMNS)
    for activity, *names, n in ex.fetchall(S.TOP_KEYS.replace("{KEY_LIST}", keys)):
        used = {c: k for c, k in zip(FOLDED_COLUMNS, names, strict=True) if k}
        report.feature_keys.append({"activity": activity, "keys": used, "rows": int(n)})


def _tables(ex: Executor) -> set[str]:
    sql = ("SELECT lower(table_name) FROM information_schema.tables WHERE table_schema = current_schema()"
           if ex.dialect == "duckdb" else
           "SELECT LOWER(table_name) FROM information_schema.tables WHERE table_schema = CURRENT_SCHEMA()")
    return {r[0] for r in ex.fetchall(sql)}


def _prepare_tables(ex: Executor, table: SourceTable, report: MigrationReport) -> SourceTable:
    """Archive a v1 ``activities`` and create every v2 table; returns the source's new name."""
    before = _tables(ex)
    if table.name.lower() == "activities":
        archive = "activities" + ARCHIVE_SUFFIX
        if archive in before:
            raise ConfigError(f"Both a v1 'activities' and '{archive}' exist: pass --source-table to say "
                              "which one to migrate, or rename one of them.")
        ex.execute(S.RENAME.replace("{source}", "activities").replace("{archive}", archive))
        table = SourceTable(archive, table.columns)
        report.archive_table = archive
    for statement in render_ddl(ex.dialect):
        ex.execute(statement)
    created = _tables(ex) - before - {report.archive_table or ""}
    if report.archive_table:
        created.add("activities")
    report.tables_created = sorted(created)
    return table


def _load(ex: Executor, report: MigrationReport, now: datetime, source_name: str) -> None:
    d = ex.dialect
    merged = ex.execute(S.render(S.MERGE_ROWS, d), [now])
    report.inserted = int(merged[0][0]) if merged and merged[0] and merged[0][0] is not None else 0
    ex.execute(S.render(S.REJECTS, d, REASONS_X=S.fragment(d, "REASONS", x="x.reasons"),
                        CODES_X=S.fragment(d, "CODES", x="x.code")), [f"migration:{source_name}", now])
    ex.execute(S.render(S.IDENTITY, d), [now])
    ex.execute(S.STITCH)
    ex.execute(S.HELPERS)


def _record(ex: Executor, report: MigrationReport, now: datetime) -> None:
    ex.execute(S.RECORD_DELETE)
    ex.executemany(S.RECORD_INSERT, [
        ("spec_version", SPEC_VERSION),
        ("migrated_from", report.source_version or ""),
        ("migration_source", report.archive_table or report.source_table or ""),
        ("migrated_at", now.isoformat(sep=" ")),
    ])


def migrate(
    store: Any,
    *,
    mapping: FeatureMapping | None = None,
    source_table: str | None = None,
    dry_run: bool = False,
    sample_size: int = SAMPLE_SIZE_DEFAULT,
    now: datetime | None = None,
) -> MigrationReport:
    """Migrate the v1 stream in ``store`` to v2.0 (see the module docstring); returns the report.

    Raises ``ValidationError`` (code ``migration_validation_failed``) when a check fails; the
    report is in the error's ``details``.
    """
    mapping = mapping or FeatureMapping()
    now = now or datetime.now(UTC).replace(tzinfo=None)
    report = MigrationReport(dialect=store.dialect, dry_run=dry_run)
    with executor_for(store, dry_run=dry_run) as ex:
        table, report.reason = resolve_source(ex.fetchall, ex.dialect, source_table)
        if table is None:
            report.status = "up_to_date"
            return report
        report.source_table, report.source_version = table.name, table.version
        report.extra_columns = table.extra_columns
        convert(ex, table, mapping)
        _fill_counts(ex, table, report)
        if dry_run:
            return report
        table = _prepare_tables(ex, table, report)
        with ex.transaction():
            _load(ex, report, now, table.name)
            report.validation = run_checks(ex, report.source_rows, sample_size)
            report.validation.raise_if_failed()
            _record(ex, report, now)
        report.status = "migrated"
    return report


def validate_migration(
    store: Any,
    *,
    mapping: FeatureMapping | None = None,
    source_table: str | None = None,
    sample_size: int = SAMPLE_SIZE_DEFAULT,
) -> MigrationReport:
    """Re-check a migrated store against its v1 source without changing anything."""
    mapping = mapping or FeatureMapping()
    report = MigrationReport(dialect=store.dialect, dry_run=True)
    with executor_for(store, dry_run=True) as ex:
        name = source_table or "activities" + ARCHIVE_SUFFIX
        table = inspect_table(ex.fetchall, ex.dialect, name)
        if table is None or table.version not in ("v1.0", "v1.1"):
            raise ConfigError(f"No v1 source table '{name}' to validate against: pass --source-table.")
        report.source_table, report.source_version = table.name, table.version
        convert(ex, table, mapping)
        _fill_counts(ex, table, report)
        report.validation = run_checks(ex, report.source_rows, sample_size)
        report.status = "validated" if report.validation.ok else "invalid"
    return report


__all__ = ["LINEAGE_COLUMNS", "MigrationReport", "migrate", "validate_migration"]
