"""Tidy generated SQL: optional fragments leave blank lines; drop them so the text reads cleanly."""

from __future__ import annotations


def tidy(sql: str) -> str:
    """Drop whitespace-only lines and trailing spaces (the query hash collapses whitespace anyway)."""
    return "\n".join(line.rstrip() for line in sql.splitlines() if line.strip()) + "\n"
