"""Memory routes: a customer's context and insights."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..errors import ValidationError
from ..memory.atoms import HISTORY_LIMIT_DEFAULT
from . import operations as ops
from .http_common import (
    bool_param,
    in_thread,
    int_param,
    json_object,
    principal_of,
    runtime_of,
    success,
)

INSIGHT_FIELDS = {"subject", "metric", "value", "provenance_query_hash", "ttl"}


async def get_context(request: Request) -> Response:
    max_bytes = int_param(request, "max_bytes", ops.CONTEXT_MAX_BYTES_DEFAULT)
    data = await in_thread(ops.get_context, runtime_of(request), principal_of(request),
                           request.path_params["customer"], max_bytes=max_bytes)
    return success(data)


async def get_insights(request: Request) -> Response:
    q = request.query_params
    data = await in_thread(ops.get_insights, runtime_of(request), principal_of(request),
                           request.path_params["customer"], subject=q.get("subject"), metric=q.get("metric"),
                           history=bool_param(request, "history"),
                           limit=int_param(request, "limit", HISTORY_LIMIT_DEFAULT))
    return success(data)


async def post_insight(request: Request) -> Response:
    body = await json_object(request)
    unknown = sorted(set(body) - INSIGHT_FIELDS)
    if unknown or "value" not in body:
        raise ValidationError(f"An insight has fields {', '.join(sorted(INSIGHT_FIELDS))}"
                              f"{'; unknown: ' + ', '.join(unknown) if unknown else '; value is required'}.",
                              code="invalid_body")
    data = await in_thread(ops.log_insight, runtime_of(request), principal_of(request),
                           customer=request.path_params["customer"], subject=body.get("subject"),
                           metric=body.get("metric"), value=body["value"],
                           provenance_query_hash=body.get("provenance_query_hash"), ttl=body.get("ttl"))
    return success(data, status=201)


async def purge_insights(request: Request) -> Response:
    return success(await in_thread(ops.purge_insights, runtime_of(request), principal_of(request)))


ROUTES = [
    Route("/v1/customers/{customer}/context", get_context, methods=["GET"]),
    Route("/v1/customers/{customer}/insights", get_insights, methods=["GET"]),
    Route("/v1/customers/{customer}/insights", post_insight, methods=["POST"]),
    Route("/v1/insights/purge", purge_insights, methods=["POST"]),
]
