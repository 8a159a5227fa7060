"""Refuse activity names the store has never seen, with a suggestion (a typo should not read as 0 %)."""

from __future__ import annotations

from collections.abc import Iterable

from ...errors import ValidationError, suggest
from ...store.duckdb import DuckDBStore

# The filter reaches the scan, so checking a few names reads little; the full list is read only to
# suggest a correction when a name is missing.
PRESENT_SQL = "SELECT DISTINCT activity FROM activities WHERE list_contains($names, activity)"
KNOWN_ACTIVITIES_SQL = "SELECT DISTINCT activity FROM activities"


def known_activities(store: DuckDBStore) -> set[str]:
    return {row[0] for row in store.fetchall(KNOWN_ACTIVITIES_SQL)}


def check_known_activities(store: DuckDBStore, names: Iterable[str]) -> None:
    """Raise ``unknown_activity`` for the first name with no events in the store."""
    wanted = list(dict.fromkeys(names))
    if not wanted:
        return
    present = {row[0] for row in store.fetchall(PRESENT_SQL, {"names": wanted})}
    for name in wanted:
        if name not in present:
            hint = suggest(name, sorted(known_activities(store)))
            raise ValidationError(f"Unknown activity '{name}': the store has no events of it.{hint}",
                                  code="unknown_activity")
