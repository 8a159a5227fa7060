"""SQL dialects: one base with capability flags and render helpers, small overrides per backend."""

from __future__ import annotations

from .dialect import Dialect, get_dialect, register_dialect, transpile

__all__ = ["Dialect", "get_dialect", "register_dialect", "transpile"]
