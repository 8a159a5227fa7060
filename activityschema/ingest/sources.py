"""Turn input files into the raw form the validator reads: ``(_seq, payload)``, one JSON text each.

NDJSON is read line by line by DuckDB's CSV reader with no delimiter or quoting, so a malformed line
is still a row (and becomes a reject) instead of failing the whole file. CSV and Parquet rows are
packed into JSON objects with ``json_object``; CSV numbers in ``revenue_impact`` are converted so that
a CSV is held to the same rules as JSON.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from ..errors import ValidationError
from ..schema import columns as C

FORMATS = ("ndjson", "csv", "parquet")
# The largest single NDJSON line: feature_json may be 16 MB; leave room for the other fields.
MAX_LINE_BYTES = 64 * 1024 * 1024
_TEXT_COLUMNS = frozenset({"activity_id", "activity", "customer", "anonymous_customer_id", "link", "ts"})


def detect_format(path: str) -> str:
    suffix = Path(path).suffix.lower()
    if suffix in (".ndjson", ".jsonl", ".json"):
        return "ndjson"
    if suffix in (".csv", ".tsv"):
        return "csv"
    if suffix in (".parquet", ".pq"):
        return "parquet"
    raise ValidationError(
        f"Cannot tell the format of '{path}' from its extension. Use one of .ndjson/.jsonl, .csv, "
        ".parquet or pass --format ndjson|csv|parquet.",
        code="unknown_format",
    )


def _sql_str(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def stage_ndjson(con: duckdb.DuckDBPyConnection, path: str, table: str) -> None:
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE {table} AS
        SELECT row_number() OVER () AS _seq, line AS payload
        FROM read_csv({_sql_str(path)}, columns = {{'line': 'VARCHAR'}}, header = false,
                      delim = '\\0', quote = '', escape = '', auto_detect = false,
                      strict_mode = false, max_line_size = {MAX_LINE_BYTES},
                      buffer_size = {2 * MAX_LINE_BYTES})
        WHERE line IS NOT NULL AND trim(line) <> ''
        """
    )


def _column_json(name: str, duck_type: str) -> str:
    col = '"' + name.replace('"', '""') + '"'
    upper = duck_type.upper()
    if name == "revenue_impact" and upper == "VARCHAR":
        return (
            f"CASE WHEN try_cast({col} AS DOUBLE) IS NOT NULL "
            f"THEN CAST(try_cast({col} AS DOUBLE) AS JSON) ELSE to_json({col}) END"
        )
    if name in _TEXT_COLUMNS:
        return f"to_json(CAST({col} AS VARCHAR))"
    return f"to_json({col})"


def _stage_relation(con: duckdb.DuckDBPyConnection, reader_sql: str, table: str) -> None:
    described = con.execute(f"DESCRIBE SELECT * FROM {reader_sql}").fetchall()
    pairs = ", ".join(f"{_sql_str(name)}, {_column_json(name, typ)}" for name, typ, *_ in described)
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE {table} AS
        SELECT row_number() OVER () AS _seq, CAST(json_object({pairs}) AS VARCHAR) AS payload
        FROM {reader_sql}
        """
    )


def stage_csv(con: duckdb.DuckDBPyConnection, path: str, table: str) -> None:
    delim = "\\t" if path.lower().endswith(".tsv") else ","
    _stage_relation(
        con, f"read_csv({_sql_str(path)}, header = true, all_varchar = true, delim = '{delim}')", table
    )


def stage_parquet(con: duckdb.DuckDBPyConnection, path: str, table: str) -> None:
    _stage_relation(con, f"read_parquet({_sql_str(path)})", table)


STAGERS = {"ndjson": stage_ndjson, "csv": stage_csv, "parquet": stage_parquet}


def stage_file(con: duckdb.DuckDBPyConnection, path: str, table: str, fmt: str | None = None) -> None:
    """Load ``path`` into temp table ``table(_seq, payload)``; raise a clear error if unreadable."""
    fmt = fmt or detect_format(path)
    if fmt not in STAGERS:
        raise ValidationError(f"Unknown format '{fmt}'. Use one of: {', '.join(FORMATS)}.", code="unknown_format")
    if not Path(path).is_file():
        raise ValidationError(f"File '{path}' does not exist or is not a file.", code="file_not_found")
    try:
        STAGERS[fmt](con, path, table)
    except duckdb.Error as exc:
        raise ValidationError(f"Cannot read '{path}' as {fmt}: {exc}", code="unreadable_file") from exc


def stage_payloads(con: duckdb.DuckDBPyConnection, payloads: list[str], table: str) -> None:
    """Stage JSON texts already in memory (the loader, the HTTP API, single records)."""
    import pyarrow as pa

    arrow = pa.table({"_seq": pa.array(range(1, len(payloads) + 1), pa.int64()),
                      "payload": pa.array(payloads, pa.large_string())})
    con.register("_payload_arrow", arrow)
    try:
        con.execute(f"CREATE OR REPLACE TEMP TABLE {table} AS SELECT _seq, CAST(payload AS VARCHAR) AS payload FROM _payload_arrow")
    finally:
        con.unregister("_payload_arrow")


__all__ = ["FORMATS", "detect_format", "stage_file", "stage_payloads", "C"]
