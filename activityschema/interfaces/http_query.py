"""Query routes: run a named template, explain a hash, the activity catalog."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..errors import ValidationError
from . import operations as ops
from .http_common import in_thread, int_param, json_object, principal_of, runtime_of, success

QUERY_FIELDS = {"params", "max_bytes", "max_rows"}


async def post_query(request: Request) -> Response:
    body = await json_object(request, optional=True)
    unknown = sorted(set(body) - QUERY_FIELDS)
    if unknown:
        raise ValidationError(f"Unknown fields {', '.join(unknown)}; a query body has params, max_bytes, max_rows.",
                              code="invalid_body")
    data = await in_thread(ops.run_query, runtime_of(request), principal_of(request), request.path_params["template"],
                           body.get("params"), max_bytes=body.get("max_bytes"), max_rows=body.get("max_rows"))
    return success(data)


async def get_provenance(request: Request) -> Response:
    return success(await in_thread(ops.explain_provenance, runtime_of(request), principal_of(request),
                                   request.path_params["query_hash"]))


async def get_catalog(request: Request) -> Response:
    return success(await in_thread(ops.list_activities, runtime_of(request), principal_of(request)))


async def post_analysis(request: Request) -> Response:
    from .operations_analytics import run_analysis

    body = await json_object(request)
    data = await in_thread(run_analysis, runtime_of(request), principal_of(request), request.path_params["kind"], body,
                           max_bytes=int_param(request, "max_bytes"))
    return success(data)


ROUTES = [
    Route("/v1/query/{template}", post_query, methods=["POST"]),
    Route("/v1/provenance/{query_hash}", get_provenance, methods=["GET"]),
    Route("/v1/catalog/activities", get_catalog, methods=["GET"]),
    Route("/v1/analytics/{kind}", post_analysis, methods=["POST"]),
]
