"""Admin routes (scope ``admin``): API keys, and the privacy operations on one customer — erasure
(``DELETE /v1/customers/{customer}``), lifting its suppression, portability export and the
disclosure report. A new key's secret is in the response once. Every call is audited."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..errors import ValidationError
from . import operations_admin as admin
from .http_common import bool_param, in_thread, json_object, principal_of, runtime_of, success

KEY_FIELDS = {"name", "scopes", "customers", "tenant"}
UNSUPPRESS_FIELDS = {"reason"}
EXPORT_MEDIA_TYPES = {"json": "application/json", "ndjson": "application/x-ndjson"}


async def list_keys(request: Request) -> Response:
    return success(await in_thread(admin.list_keys, runtime_of(request), principal_of(request)))


async def create_key(request: Request) -> Response:
    principal_of(request).require("admin")
    body = await json_object(request)
    unknown = sorted(set(body) - KEY_FIELDS)
    if unknown or not isinstance(body.get("scopes"), list):
        raise ValidationError("A key needs name and scopes (a list of ingest, query, admin), optionally customers and tenant.",
                              code="invalid_body")
    data = await in_thread(admin.create_key, runtime_of(request), principal_of(request), body.get("name"),
                           body["scopes"], customers=body.get("customers"), tenant=body.get("tenant"))
    return success(data, status=201)


async def revoke_key(request: Request) -> Response:
    return success(await in_thread(admin.revoke_key, runtime_of(request), principal_of(request),
                                   request.path_params["key_id"]))


async def forget_customer(request: Request) -> Response:
    """Erase a customer everywhere (``?reason=`` is kept in the audit log); the report says what went."""
    data = await in_thread(admin.forget_customer, runtime_of(request), principal_of(request),
                           request.path_params["customer"], reason=request.query_params.get("reason"))
    return success(data)


async def unsuppress_customer(request: Request) -> Response:
    principal_of(request).require("admin")
    body = await json_object(request)
    unknown = sorted(set(body) - UNSUPPRESS_FIELDS)
    if unknown or not isinstance(body.get("reason"), str):
        raise ValidationError("Lifting a suppression needs a body {\"reason\": \"...\"} (audited).", code="invalid_body")
    data = await in_thread(admin.unsuppress_customer, runtime_of(request), principal_of(request),
                           request.path_params["customer"], reason=body["reason"])
    return success(data)


async def export_customer(request: Request) -> Response:
    """The portability file itself (``?format=json|ndjson``, ``?decrypt=true`` needs the master key)."""
    fmt = request.query_params.get("format", "json")
    _, text = await in_thread(admin.export_customer, runtime_of(request), principal_of(request),
                              request.path_params["customer"], fmt=fmt, decrypt=bool_param(request, "decrypt"))
    customer = request.path_params["customer"]
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in customer)[:100] or "customer"
    return Response(text, media_type=EXPORT_MEDIA_TYPES[fmt],
                    headers={"Content-Disposition": f'attachment; filename="{safe}.{fmt}"'})


async def get_disclosure(request: Request) -> Response:
    return success(await in_thread(admin.disclosure_report, runtime_of(request), principal_of(request),
                                   request.path_params["customer"]))


ROUTES = [
    Route("/v1/keys", list_keys, methods=["GET"]),
    Route("/v1/keys", create_key, methods=["POST"]),
    Route("/v1/keys/{key_id}", revoke_key, methods=["DELETE"]),
    Route("/v1/customers/{customer}", forget_customer, methods=["DELETE"]),
    Route("/v1/customers/{customer}/unsuppress", unsuppress_customer, methods=["POST"]),
    Route("/v1/customers/{customer}/export", export_customer, methods=["GET"]),
    Route("/v1/customers/{customer}/disclosure", get_disclosure, methods=["GET"]),
]
