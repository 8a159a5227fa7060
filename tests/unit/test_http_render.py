"""The ingest answer is rendered by orjson for plain accepted results: it must be the very bytes the
generic envelope encoder writes, for every mix of results."""

from __future__ import annotations

import uuid

import pytest

from activityschema.interfaces.envelope import ok
from activityschema.interfaces.http_ingest import render
from activityschema.schema.jsonable import dumps

ACCEPTED = {"index": 0, "status": "accepted", "activity_id": str(uuid.UUID(int=7)), "reasons": []}
REJECTED = {"index": 1, "status": "rejected", "activity_id": None,
            "reasons": [{"code": "invalid_ts", "message": "ts is not ISO-8601: \"x\" — é", "field": "ts"}]}


def batch(results, **head):
    return {"batch_id": None, "durability": "spooled", "submitted": len(results), "accepted": 0, "duplicate": 0,
            "rejected": 0, "reasons": {}, **head, "results": results}


@pytest.mark.parametrize("data", [
    batch([dict(ACCEPTED, index=i, activity_id=str(uuid.uuid4())) for i in range(50)]),
    batch([ACCEPTED, REJECTED, dict(ACCEPTED, index=2, status="duplicate")], reasons={"invalid_ts": 1}),
    batch([]),
    {"results": [ACCEPTED]},
    {"results": []},
    batch([{"status": "accepted", "index": 0, "activity_id": "a", "reasons": []}]),  # another key order
    batch([dict(ACCEPTED, index=True)]),                                             # a bool is not an index
    batch([dict(ACCEPTED, activity_id='a"b\\c')]),                                   # needs escaping
    batch([dict(ACCEPTED, activity_id="é")]),
    batch([dict(ACCEPTED, activity_id=7)]),
    batch([dict(ACCEPTED, reasons=None)]),
    {"results": [ACCEPTED], "after": 1},                                             # results not last
    {"results": "not a list"},
    {"results": [{"activity_id": "a"}]},                                              # keys missing
    {},
    batch([ACCEPTED], took=1.5e16),                                                  # a float: orjson spells it 1e16
    batch([ACCEPTED], reasons={"x": 0.5}),
    batch([ACCEPTED], reasons={3: 1}),                                               # a non-str key
    batch([dict(ACCEPTED, index=2**70)]),                                            # beyond 64 bits
    batch([ACCEPTED], batch_id="b\u2028\x7f\x1f\"é"),                                 # escapes in the head
])
def test_render_writes_exactly_what_the_envelope_encoder_writes(data):
    assert render(data) == dumps(ok(data)).encode("utf-8")
