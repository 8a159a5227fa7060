"""Migration of v1.0 and v1.1 activity streams to ActivitySchema v2.0 (docs/migration.md)."""

from __future__ import annotations

from .mapping import FeatureMapping, load_mapping, parse_mapping
from .runner import MigrationReport, migrate, validate_migration
from .validate import ValidationReport

__all__ = ["FeatureMapping", "MigrationReport", "ValidationReport", "load_mapping", "migrate",
           "parse_mapping", "validate_migration"]
