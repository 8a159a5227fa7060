"""Run a dataset request: validate it, check its activities exist, and run the ``dataset`` template.

The template is the one way a dataset reaches the store, so every dataset is recorded in the
provenance chain and returned with its query hash, and the caller's row scope applies.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ...errors import NotFoundError, suggest
from ...sql.templates import Template, register_template, validate_params
from ...store.duckdb import DuckDBStore
from ..runner import UNRESTRICTED, QueryResult, Scope, execute
from .query import DatasetRequest
from .sql import build_dataset_sql

TEMPLATE_NAME = "dataset"
KNOWN_SHOWN_MAX = 20

ACTIVITY_EXISTS_SQL = "SELECT 1 FROM activities WHERE activity = ? LIMIT 1"
KNOWN_ACTIVITIES_SQL = "SELECT DISTINCT activity FROM activities ORDER BY activity"

DATASET_TEMPLATE = register_template(Template(
    name=TEMPLATE_NAME,
    params=DatasetRequest,
    description="A cohort activity with appended activities joined in time (first/last/nth, aggregates).",
    build=build_dataset_sql,
))


def check_activities(store: DuckDBStore, request: DatasetRequest) -> None:
    """Raise NotFoundError naming an activity the store has never seen, the known ones and the closest."""
    for name in request.activities():
        if store.fetchone(ACTIVITY_EXISTS_SQL, [name]) is None:
            known = [row[0] for row in store.fetchall(KNOWN_ACTIVITIES_SQL)]
            shown = ", ".join(known[:KNOWN_SHOWN_MAX]) + (" …" if len(known) > KNOWN_SHOWN_MAX else "")
            raise NotFoundError(
                f"activity '{name}' does not exist; known: {shown or '(none: the store is empty)'}." + suggest(name, known),
                code="unknown_activity", details={"activity": name, "known": known})


def parse_request(request: dict[str, Any] | DatasetRequest) -> DatasetRequest:
    """A validated request (ValidationError naming every bad field otherwise)."""
    if isinstance(request, DatasetRequest):
        return request
    params = validate_params(DATASET_TEMPLATE, request)
    assert isinstance(params, DatasetRequest)
    return params


def build_dataset(store: DuckDBStore, request: dict[str, Any] | DatasetRequest, *, scope: Scope = UNRESTRICTED,
                  created_by: str = "library", now: datetime | None = None) -> QueryResult:
    """Build the dataset described by ``request`` (SEMANTICS §4).

    Args:
        store: the activity store.
        request: the dataset request as a dict (JSON shape) or a ``DatasetRequest``.
        scope: the actors the caller may read; others are invisible.
        created_by: recorded in the provenance chain.
        now: the recording time (default: the current UTC time).

    Returns:
        A ``QueryResult``: ``.table`` (Arrow) holds one row per cohort row, ``.query_hash`` names the
        recorded query.

    Example:
        >>> from activityschema import DuckDBStore, ingest_records
        >>> store = DuckDBStore()
        >>> _ = ingest_records(store, [
        ...     {"activity": "user_signed_up", "ts": "2026-01-01T00:00:00Z", "customer": "c1"},
        ...     {"activity": "order_completed", "ts": "2026-01-03T00:00:00Z", "customer": "c1"}])
        >>> result = build_dataset(store, {
        ...     "cohort": {"activity": "user_signed_up", "columns": ["customer"]},
        ...     "append": [{"relationship": "first_after", "activity": "order_completed", "columns": ["ts"]}]})
        >>> result.rows()
        [{'customer': 'c1', 'first_after_order_completed_ts': datetime.datetime(2026, 1, 3, 0, 0)}]
    """
    params = parse_request(request)
    check_activities(store, params)
    return execute(store, DATASET_TEMPLATE, params, created_by=created_by, scope=scope, now=now)
