"""``POST /v1/activities``: a batch of events with a result per record.

The body is a JSON array of records, an object ``{"activities": [...]}``, or NDJSON
(``Content-Type: application/x-ndjson``; a line that is not JSON becomes a rejected record). Limits:
the body (``http_max_body_bytes``) and the number of records (``http_max_batch``) answer 413 when
exceeded. Every record ends accepted, duplicate or rejected (with reasons); the counts reconcile.

While the server runs its loader, ``accepted`` means durably queued on the spool (``durability:
"spooled"``): duplicates and conflicts are resolved by the loader moments later. ``?sync=true`` merges
before answering (``durability: "stored"``): statuses are final, ``duplicate`` included.
"""

from __future__ import annotations

import re
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..errors import PayloadTooLarge, ValidationError
from ..governance.access import Principal
from ..schema.fastjson import dumps_plain
from ..schema.jsonable import dumps
from . import operations as ops
from .envelope import ok
from .http_common import EnvelopeResponse, bool_param, in_thread, parse_json, principal_of, read_body, runtime_of
from .runtime import Runtime

NDJSON_TYPES = ("application/x-ndjson", "application/ndjson", "application/jsonl")
SOURCE = "http"
_ACCEPTED_KEYS = ("index", "status", "activity_id", "reasons")
# Characters an id may hold to be written between quotes as it is (what ``dumps`` would write too).
_PLAIN_IDS = re.compile(r"[0-9A-Za-z_.:-]*\Z")
_PLAIN_TYPES = (str, int, bool, type(None))


def _records(body: bytes, content_type: str) -> list[Any]:
    if content_type.split(";")[0].strip().lower() in NDJSON_TYPES:
        # Lines go to the validator as text: a bad line is a rejected record, not a failed batch.
        return [line.decode("utf-8", errors="replace") for line in body.splitlines() if line.strip()]
    value = parse_json(body)
    if isinstance(value, dict) and isinstance(value.get("activities"), list) and len(value) == 1:
        value = value["activities"]
    if not isinstance(value, list):
        raise ValidationError("The body must be a JSON array of activity records, {\"activities\": [...]}, "
                              "or NDJSON.", code="invalid_body")
    return value


async def post_activities(request: Request) -> Response:
    rt, principal = runtime_of(request), principal_of(request)
    principal.require("ingest")
    body = await read_body(request, rt.max_body_bytes)
    content_type, sync = request.headers.get("content-type", ""), bool_param(request, "sync")
    # Parsing, validating, queueing and rendering all happen in one worker thread: the event loop
    # keeps serving other connections meanwhile, and a request costs one thread hop.
    return await in_thread(_ingest, rt, principal, body, content_type, sync)  # type: ignore[no-any-return]


def _ingest(rt: Runtime, principal: Principal, body: bytes, content_type: str, sync: bool) -> Response:
    records = _records(body, content_type)
    if not records:
        raise ValidationError("The batch is empty; send at least one record.", code="empty_batch")
    if len(records) > rt.max_batch:
        raise PayloadTooLarge(f"The batch has {len(records):,} records; at most {rt.max_batch:,} are accepted "
                              "per request.", code="batch_too_large")
    return EnvelopeResponse.raw(render(ops.log_events(rt, principal, records, source=SOURCE, wait=sync)))


def render(data: dict[str, Any]) -> bytes:
    """``dumps(ok(data))``, byte for byte; rendered by orjson when every result is a plain accepted one.

    Encoding hundreds of small result objects is a good part of a batch's CPU. A plain accepted
    result (``index``, ``status``, ``activity_id``, ``reasons`` in that order, an int index, an id of
    plain characters, no reasons) and the envelope around it hold no floats, so orjson writes the
    same text as ``dumps`` (``schema/fastjson.py``). Anything else (rejected, duplicate, unusual ids
    or key orders) goes through ``dumps`` as before.
    """
    results = data.get("results")
    if type(results) is not list or not _plain_head(data):
        return dumps(ok(data)).encode("utf-8")
    ids = [r.get("activity_id") if type(r) is dict else None for r in results]
    if not all(type(i) is str for i in ids) or not _PLAIN_IDS.match("".join(ids)):  # type: ignore[arg-type]
        return dumps(ok(data)).encode("utf-8")
    for r in results:
        if not (tuple(r) == _ACCEPTED_KEYS and r["status"] == "accepted" and r["reasons"] == []
                and type(r["index"]) is int):
            return dumps(ok(data)).encode("utf-8")
    return dumps_plain(ok(data))


def _plain_head(data: dict[str, Any]) -> bool:
    """The fields around ``results`` are what ``log_events`` returns: no floats anywhere."""
    return all(type(v) in _PLAIN_TYPES or (type(v) is dict and all(type(n) is int for n in v.values()))
               for k, v in data.items() if k != "results")


ROUTES = [Route("/v1/activities", post_activities, methods=["POST"])]
