"""The feature mapping: which ``feature_json`` key each v1 column becomes.

v1 streams carry ``feature_1..3`` whose meaning depends on the activity, and lineage columns
(``source``, ``source_id``, ``_activity_source``) that v2 has no column for. A mapping file (YAML or
JSON) names the keys; anything it does not name keeps a default key (``feature_1``, ``source`` …)::

    features:
      "*":              {feature_1: detail}            # every activity
      visited_page:     {feature_1: page, feature_2: referrer}
      order_completed:  {feature_1: order_id, feature_3: null}   # null: drop this column
    lineage:            {source: source, source_id: source_id, _activity_source: null}

Key names are checked (letters, digits, ``_``; at most 128 characters) and must be unique per
activity once defaults are applied, so the folded object never loses a value to a key collision.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ConfigError

FEATURE_COLUMNS = ("feature_1", "feature_2", "feature_3")
LINEAGE_COLUMNS = ("source", "source_id", "_activity_source")
FOLDED_COLUMNS = FEATURE_COLUMNS + LINEAGE_COLUMNS
ALL_ACTIVITIES = "*"
KEY_MAX_LEN = 128
DROPPED = ""  # stored name meaning "do not fold this column"


def _valid_key(name: str) -> bool:
    return 0 < len(name) <= KEY_MAX_LEN and (name[0].isalpha() or name[0] == "_") and \
        all(ch.isalnum() and ch.isascii() or ch == "_" for ch in name)


@dataclass(frozen=True)
class FeatureMapping:
    """Per activity (``*`` = all), the key of each folded column; ``""`` drops the column."""

    names: dict[str, dict[str, str]] = field(default_factory=dict)

    def key_for(self, activity: str, column: str) -> str:
        for scope in (activity, ALL_ACTIVITIES):
            if column in self.names.get(scope, {}):
                return self.names[scope][column]
        return column

    def rows(self) -> list[tuple[str, ...]]:
        """One row per activity scope: (activity, key or None per FOLDED_COLUMNS)."""
        return [(activity, *[cols.get(c) for c in FOLDED_COLUMNS]) for activity, cols in sorted(self.names.items())]

    def to_dict(self) -> dict[str, Any]:
        return {activity: dict(cols) for activity, cols in sorted(self.names.items())}


def _scope(scope: str, raw: Any, allowed: tuple[str, ...]) -> dict[str, str]:
    if not isinstance(raw, dict):
        raise ConfigError(f"Mapping for '{scope}' must be an object of column: key, got {type(raw).__name__}.")
    out: dict[str, str] = {}
    for column, name in raw.items():
        if column not in allowed:
            raise ConfigError(f"Mapping for '{scope}' names column '{column}'. Allowed: {', '.join(allowed)}.")
        if name is None or name == "":
            out[column] = DROPPED
        elif isinstance(name, str) and _valid_key(name):
            out[column] = name
        else:
            raise ConfigError(f"Mapping key {name!r} for '{scope}.{column}' is not allowed: use letters, "
                              f"digits and _, starting with a letter or _, at most {KEY_MAX_LEN} characters.")
    return out


def parse_mapping(data: Any) -> FeatureMapping:
    if data is None:
        return FeatureMapping()
    if not isinstance(data, dict) or set(data) - {"features", "lineage"}:
        raise ConfigError("A mapping file has the keys 'features' and 'lineage' (see docs/migration.md).")
    names: dict[str, dict[str, str]] = {}
    for activity, cols in (data.get("features") or {}).items():
        names[str(activity)] = _scope(str(activity), cols, FEATURE_COLUMNS)
    lineage = _scope("lineage", data.get("lineage") or {}, LINEAGE_COLUMNS)
    if lineage:
        names.setdefault(ALL_ACTIVITIES, {}).update(lineage)
    mapping = FeatureMapping(names)
    _check_unique(mapping)
    return mapping


def _check_unique(mapping: FeatureMapping) -> None:
    for activity in sorted(set(mapping.names) | {ALL_ACTIVITIES}):
        keys = [mapping.key_for(activity, c) for c in FOLDED_COLUMNS]
        used = [k for k in keys if k != DROPPED]
        dupes = sorted({k for k in used if used.count(k) > 1})
        if dupes:
            raise ConfigError(f"Mapping gives two columns of '{activity}' the key '{dupes[0]}': each key "
                              "must be unique within an activity (defaults included).")


def load_mapping(path: str | Path | None) -> FeatureMapping:
    """Read a YAML or JSON mapping file (no file: every column keeps its default key)."""
    if path is None:
        return FeatureMapping()
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"Cannot read the mapping file '{path}' ({exc.strerror}).") from None
    if str(path).endswith(".json"):
        try:
            return parse_mapping(json.loads(text))
        except ValueError as exc:
            raise ConfigError(f"Mapping file '{path}' is not valid JSON: {exc}") from None
    import yaml

    try:
        return parse_mapping(yaml.safe_load(text))
    except yaml.YAMLError as exc:
        raise ConfigError(f"Mapping file '{path}' is not valid YAML: {str(exc).splitlines()[0]}") from None
