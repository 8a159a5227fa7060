"""Write a result table to a file: CSV (NULL is an empty field, timestamps ISO 8601) or Parquet.

CSV is for people and spreadsheets, so timestamps are written as ISO 8601 UTC text
(``2026-01-05T14:30:00.123456Z``) rather than the driver's ``2026-01-05 14:30:00.123456``; Parquet
keeps every type as it is.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from ...errors import ValidationError

OUTPUT_FORMATS = {".csv": "csv", ".parquet": "parquet"}
ISO_FORMAT = "%Y-%m-%dT%H:%M:%S"  # Arrow's %S prints the fraction of the column's unit (microseconds)


def output_format(path: str | Path) -> str:
    suffix = Path(path).suffix.lower()
    if suffix not in OUTPUT_FORMATS:
        raise ValidationError(f"Output file '{path}' must end in .csv or .parquet.", code="invalid_output_format")
    return OUTPUT_FORMATS[suffix]


def iso_timestamps(table: pa.Table) -> pa.Table:
    """Timestamp columns as ISO 8601 UTC strings; every other column unchanged."""
    for i, field in enumerate(table.schema):
        if pa.types.is_timestamp(field.type):
            text = pc.binary_join_element_wise(pc.strftime(table.column(i), format=ISO_FORMAT), "Z", "")
            table = table.set_column(i, pa.field(field.name, pa.string()), text)
    return table


def write_table(table: pa.Table, path: str | Path) -> int:
    """Write ``table`` whole to ``path`` (format from the extension); return the number of rows."""
    fmt = output_format(path)
    if fmt == "parquet":
        pq.write_table(table, str(path))
    else:
        pacsv.write_csv(iso_timestamps(table), str(path),
                        pacsv.WriteOptions(quoting_style="needed"))
    return int(table.num_rows)
