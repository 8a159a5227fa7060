"""The analytics operations (dataset builder, funnels, retention, paths, journeys, recent activity),
shared by the MCP tools and the HTTP routes.

Each analysis lives in its own library module; this file only maps a name to the module and its
entry point and imports it *when called*, so the servers start (and every other tool works) even in
a build where an analysis module is not installed: calling it then gives a clear
``feature_unavailable`` error. Every entry point takes ``(store, request, *, scope, created_by, now)``
and returns an object with ``to_dict()`` and ``query_hash``.
"""

from __future__ import annotations

import importlib
import time
from datetime import UTC, datetime
from typing import Any

from ..errors import ActivitySchemaError, NotFoundError, ValidationError, suggest
from ..governance.access import Principal
from ..schema.jsonable import jsonable, size_of
from .operations import RESULT_MAX_BYTES_DEFAULT, _check_result_bytes, cap_rows
from .audited import audited
from .runtime import Runtime

ANALYSES: dict[str, tuple[str, str, str]] = {
    "dataset": ("activityschema.analytics.dataset", "build_dataset",
                "Build a dataset: a cohort activity plus appended activities (SEMANTICS §4 request)."),
    "funnel": ("activityschema.analytics.funnels", "run_funnel",
               "Funnel conversion between ordered steps (SEMANTICS §5 request)."),
    "retention": ("activityschema.analytics.retention", "run_retention",
                  "Cohort retention by period (SEMANTICS §6 request)."),
    "paths": ("activityschema.analytics.paths", "run_paths",
              "Most frequent paths and transitions between activities (SEMANTICS §7 request)."),
    "journey": ("activityschema.analytics.paths", "run_journey",
                "One customer's journey: its events in order with time between them."),
    "recent_activity": ("activityschema.analytics.recent", "run_recent",
                        "Recent activity: the newest events, optionally filtered."),
}


class FeatureUnavailable(ActivitySchemaError):
    code = "feature_unavailable"
    status = 501


def _entry_point(kind: str) -> Any:
    if kind not in ANALYSES:
        raise NotFoundError(f"Unknown analysis '{kind}'." + suggest(kind, sorted(ANALYSES)), code="unknown_analysis")
    module_name, function, _ = ANALYSES[kind]
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name and module_name.startswith(exc.name):
            raise FeatureUnavailable(f"The '{kind}' analysis is not available in this build "
                                     f"(module {module_name} is missing).") from None
        raise
    try:
        return getattr(module, function)
    except AttributeError:
        raise FeatureUnavailable(f"The '{kind}' analysis is not available in this build "
                                 f"({module_name}.{function} is missing).") from None


@audited("analysis", template="kind")
def run_analysis(rt: Runtime, principal: Principal, kind: str, request: dict[str, Any], *,
                 max_bytes: int | None = None) -> dict[str, Any]:
    """Run one analysis under the caller's row scope; rows are capped to ``max_bytes`` of JSON."""
    principal.require("query")
    if not isinstance(request, dict):
        raise ValidationError(f"The {kind} request must be a JSON object.", code="invalid_request")
    limit = _check_result_bytes(max_bytes) if max_bytes is not None else RESULT_MAX_BYTES_DEFAULT
    entry = _entry_point(kind)
    started = time.perf_counter()
    result = entry(rt.store, request, scope=principal.scope, created_by=principal.label,
                   now=datetime.now(UTC).replace(tzinfo=None))
    rt.observe_query(kind, time.perf_counter() - started)
    body = jsonable(result.to_dict())
    truncated = False
    if isinstance(body, dict) and isinstance(body.get("rows"), list) and size_of(body) > limit:
        others = size_of({k: v for k, v in body.items() if k != "rows"})
        body["rows"], truncated = cap_rows(body["rows"], max(limit - others, 2))
        body["truncated"] = True
    elif size_of(body) > limit:
        raise ValidationError(f"The {kind} result is {size_of(body):,} bytes, over max_bytes {limit:,}; "
                              "narrow the request or raise max_bytes.", code="result_too_large")
    return {"kind": kind, "query_hash": getattr(result, "query_hash", None), "truncated": truncated,
            "result": body}
