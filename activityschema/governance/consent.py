"""Consent, recorded as activities (GDPR "track consent in feature_json", CCPA opt-out / do-not-sell).

Consent is a ``consent_updated`` event whose feature_json holds flags, e.g.
``{"tracking": false, "do_not_sell": true, "marketing": false}``. The current state of an actor is,
flag by flag, the value in its latest consent event (by ``(ts, activity_id)``) that carries that flag;
an event that carries only ``marketing`` leaves ``do_not_sell`` as it was. Flag values are booleans;
the strings "true"/"false"/"yes"/"no" and the numbers 1/0 are read the same way, anything else is
ignored. Flags an actor never set are absent (callers choose their default: no opt-out).

Two flags have effects in the engine:

- ``tracking: false`` — opted out: later events of the actor (and of anonymous ids linked to it) are
  dropped or anonymized at ingest (policy ``opt_out_mode``); ``tracking: true`` lifts it;
- ``do_not_sell: true`` — the actor's rows are left out of shared exports (``export.share_activities``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import duckdb

from ..errors import ValidationError
from ..ingest.importer import ingest_records, utc_now
from ..ingest.merge import LoadReport
from ..store.duckdb import DuckDBStore

CONSENT_ACTIVITY = "consent_updated"
TRACKING_FLAG = "tracking"
DO_NOT_SELL_FLAG = "do_not_sell"
TRUE_TEXTS = ("true", "1", "yes")
FALSE_TEXTS = ("false", "0", "no")

EVENTS_SQL = f"""
SELECT ts, activity_id, CAST(feature_json AS VARCHAR)
FROM activities
WHERE activity = '{CONSENT_ACTIVITY}'
  AND (customer = $actor OR (customer IS NULL AND anonymous_customer_id = $actor))
ORDER BY ts, activity_id
"""

# Actors whose latest value of one flag (an engine constant path) reads as true.
FLAG_TRUE_SQL = f"""
SELECT actor FROM (
    SELECT coalesce(customer, anonymous_customer_id) AS actor,
           arg_max(lower(json_extract_string(feature_json, $path)), (ts, activity_id))
               FILTER (WHERE lower(json_extract_string(feature_json, $path)) IN {TRUE_TEXTS + FALSE_TEXTS}) AS v
    FROM activities
    WHERE activity = '{CONSENT_ACTIVITY}'
    GROUP BY 1
) WHERE v IN {TRUE_TEXTS} AND actor IS NOT NULL
"""


def flag_value(raw: Any) -> bool | None:
    """A consent flag read as a boolean, or None when it is not one."""
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, (int, float)) and raw in (0, 1):
        return bool(raw)
    if isinstance(raw, str) and raw.strip().lower() in TRUE_TEXTS + FALSE_TEXTS:
        return raw.strip().lower() in TRUE_TEXTS
    return None


def fold_flags(events: list[tuple[datetime, str, Mapping[str, Any]]]) -> dict[str, dict[str, Any]]:
    """Per flag, the latest boolean value and the event it came from (events in (ts, id) order)."""
    state: dict[str, dict[str, Any]] = {}
    for ts, activity_id, features in events:
        for flag, raw in features.items():
            value = flag_value(raw)
            if value is not None:
                state[flag] = {"value": value, "ts": ts, "activity_id": activity_id}
    return state


def consent_state(store: DuckDBStore | duckdb.DuckDBPyConnection, actor: str) -> dict[str, dict[str, Any]]:
    """The actor's current consent flags: ``{flag: {value, ts, activity_id}}``."""
    cur = store.cursor() if isinstance(store, DuckDBStore) else store
    rows = cur.execute(EVENTS_SQL, {"actor": actor}).fetchall()
    return fold_flags([(ts, aid, json.loads(fj or "{}")) for ts, aid, fj in rows])


def actors_with_flag(store: DuckDBStore | duckdb.DuckDBPyConnection, flag: str) -> set[str]:
    """Actors whose current value of ``flag`` is true (``flag`` is an engine constant)."""
    cur = store.cursor() if isinstance(store, DuckDBStore) else store
    return {r[0] for r in cur.execute(FLAG_TRUE_SQL, {"path": f"$.{flag}"}).fetchall()}


def record_consent(store: DuckDBStore, actor: str, flags: Mapping[str, Any], *, anonymous: bool = False,
                   now: datetime | None = None, source: str = "consent") -> LoadReport:
    """Record a ``consent_updated`` event for ``actor`` (a customer, or an anonymous id)."""
    clean = {}
    for flag, raw in flags.items():
        value = flag_value(raw)
        if value is None:
            raise ValidationError(f"Consent flag '{flag}' has value {raw!r}. Allowed: true or false.",
                                  code="invalid_consent_flag")
        clean[flag] = value
    if not clean:
        raise ValidationError("Give at least one consent flag, e.g. tracking=false.", code="invalid_consent_flag")
    now = now or utc_now()
    event = {"activity": CONSENT_ACTIVITY, "ts": now.isoformat(), "feature_json": clean,
             ("anonymous_customer_id" if anonymous else "customer"): actor}
    report = ingest_records(store, [event], source=source, now=now, per_record=True)
    if report.rejected:
        reasons = (report.results or [{}])[0].get("reasons") or []
        codes = ", ".join(r["code"] for r in reasons) if reasons else "rejected"
        raise ValidationError(f"The consent event was rejected ({codes}).", code="consent_rejected")
    return report
