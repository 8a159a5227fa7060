"""Store-wide governance policies: which feature keys are encrypted or masked, and opt-out handling.

They live in the store (``governance_policies``), not in per-process settings, because every writer
of one store must apply the same rules: a process that forgot a setting would otherwise ingest a
sensitive key in clear text.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import duckdb

from ..errors import ValidationError, suggest
from ..store.duckdb import DuckDBStore

FEATURE_KEY_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]{0,127}$")
OPT_OUT_MODES = ("drop", "anonymize")


@dataclass(frozen=True)
class Policy:
    name: str
    default: Any
    help: str


POLICIES: dict[str, Policy] = {p.name: p for p in (
    Policy("encrypt_keys", [], "Top-level feature_json keys encrypted at ingest (AES-GCM, per-customer keys)."),
    Policy("mask_keys", [], "feature_json keys replaced by '[masked]' in masked copies (encrypted keys always are)."),
    Policy("opt_out_mode", "drop", "What happens to events of an actor who opted out of tracking: "
                                   "'drop' (rejected with reason opted_out, payload redacted) or "
                                   "'anonymize' (kept without customer and anonymous_customer_id)."),
)}

GET_SQL = "SELECT value FROM governance_policies WHERE name = ?"
SET_SQL = ("INSERT INTO governance_policies VALUES (?, ?, ?, ?) ON CONFLICT (name) DO UPDATE "
           "SET value = excluded.value, updated_at = excluded.updated_at, updated_by = excluded.updated_by")


def _policy(name: str) -> Policy:
    try:
        return POLICIES[name]
    except KeyError:
        raise ValidationError(f"Unknown policy '{name}'." + suggest(name, list(POLICIES))
                              + f" Policies: {', '.join(POLICIES)}.", code="unknown_policy") from None


def validate_value(name: str, value: Any) -> Any:
    """The normalized value, or a ValidationError saying what is allowed."""
    _policy(name)
    if name in ("encrypt_keys", "mask_keys"):
        items = value.split(",") if isinstance(value, str) else list(value or [])
        keys = sorted({str(k).strip() for k in items if str(k).strip()})
        bad = [k for k in keys if not FEATURE_KEY_RE.match(k)]
        if bad:
            raise ValidationError(f"Policy '{name}' has invalid feature keys {bad}: a key starts with a letter or "
                                  "'_' and has letters, digits, '_', '.', '-' (at most 128).", code="invalid_policy")
        return keys
    if value not in OPT_OUT_MODES:
        raise ValidationError(f"Policy 'opt_out_mode' has value {value!r}. Allowed: {', '.join(OPT_OUT_MODES)}.",
                              code="invalid_policy")
    return value


def read_policy(con: duckdb.DuckDBPyConnection, name: str) -> Any:
    row = con.execute(GET_SQL, [name]).fetchone()
    return _policy(name).default if row is None else json.loads(row[0])


def get_policy(store: DuckDBStore, name: str) -> Any:
    return read_policy(store.cursor(), name)


def set_policy(store: DuckDBStore, name: str, value: Any, *, actor: str = "library") -> Any:
    from .audit import append_entry

    clean = validate_value(name, value)
    with store.write() as con:
        con.execute(SET_SQL, [name, json.dumps(clean), datetime.now(UTC).replace(tzinfo=None), actor])
        append_entry(con, actor, "policy_set", details={"policy": name, "value": clean})
    return clean


def all_policies(store: DuckDBStore) -> dict[str, Any]:
    return {name: get_policy(store, name) for name in POLICIES}
