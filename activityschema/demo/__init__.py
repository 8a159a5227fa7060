"""Demo data: a deterministic generator of realistic ActivitySchema v2.0 event streams."""

from __future__ import annotations

from .generator import GENERATOR_VERSION, PLANTED, generate_events, write_ndjson

__all__ = ["GENERATOR_VERSION", "PLANTED", "generate_events", "write_ndjson"]
