"""Admin routes (scope ``admin``): API keys. A new key's secret is in the response once."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..errors import ValidationError
from ..governance import access
from .http_common import in_thread, json_object, principal_of, runtime_of, success

KEY_FIELDS = {"name", "scopes", "customers"}


async def list_keys(request: Request) -> Response:
    principal_of(request).require("admin")
    return success(await in_thread(access.list_keys, runtime_of(request).store))


async def create_key(request: Request) -> Response:
    principal_of(request).require("admin")
    body = await json_object(request)
    unknown = sorted(set(body) - KEY_FIELDS)
    if unknown or not isinstance(body.get("scopes"), list):
        raise ValidationError("A key needs name and scopes (a list of ingest, query, admin), optionally customers.",
                              code="invalid_body")
    described, key = await in_thread(access.create_key, runtime_of(request).store, body.get("name"), body["scopes"],
                                     customers=body.get("customers"))
    return success({**described, "key": key}, status=201)


async def revoke_key(request: Request) -> Response:
    principal_of(request).require("admin")
    rt = runtime_of(request)
    key_id = request.path_params["key_id"]
    await in_thread(access.revoke_key, rt.store, key_id)
    rt.keys.forget(key_id)
    return success({"key_id": key_id, "revoked": True})


ROUTES = [
    Route("/v1/keys", list_keys, methods=["GET"]),
    Route("/v1/keys", create_key, methods=["POST"]),
    Route("/v1/keys/{key_id}", revoke_key, methods=["DELETE"]),
]
