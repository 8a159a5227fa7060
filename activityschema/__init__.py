"""ActivitySchema v2.0: validated activity streams, temporal analytics and agent memory.

The public API is listed in ``__all__``; everything else is internal and may change.
"""

from __future__ import annotations

from .errors import ActivitySchemaError, ValidationError
from .ingest.importer import import_file, ingest_records
from .ingest.logger import ActivityLogger
from .ingest.merge import LoadReport
from .provenance.hashing import query_hash
from .schema.record import validate_record
from .store.backend import open_backend
from .store.duckdb import DuckDBStore, open_store

__version__ = "0.1.0"

__all__ = [
    "ActivityLogger",
    "ActivitySchemaError",
    "DuckDBStore",
    "LoadReport",
    "ValidationError",
    "__version__",
    "import_file",
    "ingest_records",
    "open_backend",
    "open_store",
    "query_hash",
    "validate_record",
]
