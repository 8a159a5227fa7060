"""Store backends behind one interface. Only this package imports database drivers."""

from __future__ import annotations

from .duckdb import DuckDBStore, open_store

__all__ = ["DuckDBStore", "open_store"]
