"""Provenance: the spec's query hash (and, later, the provenance chain)."""

from __future__ import annotations

from activityschema.provenance.hashing import canonical_input, query_hash

__all__ = ["canonical_input", "query_hash"]
