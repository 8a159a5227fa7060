"""The spool's shared state survives being lost or stale (as after a power failure)."""

from __future__ import annotations

import os

from activityschema.ingest.spool import STATE_FILE, Spool, SpoolState, peek_active
from activityschema.ingest.spool_files import list_segments, segment_seq


def test_state_round_trips_and_garbage_is_refused():
    state = SpoolState("seg-000000000042-0123456789ab.ndjson", 5, 7)
    assert SpoolState.decode(state.encode()) == state
    assert SpoolState.decode(b"") is None and SpoolState.decode(b"x" * len(state.encode())) is None


def test_a_lost_state_adopts_the_newest_segment(tmp_path):
    with Spool(tmp_path) as spool:
        spool.append(b'{"a":1}\n')
        first = spool.active()
    (tmp_path / STATE_FILE).write_bytes(b"")  # the state never reached the disk
    with Spool(tmp_path) as spool:
        assert spool.active() == first
        spool.append(b'{"a":2}\n')  # first-write time unknown: rotates rather than guess its age
        assert segment_seq(spool.active()) == segment_seq(first) + 1


def test_a_stale_state_never_reuses_a_name_or_goes_back(tmp_path):
    with Spool(tmp_path, segment_bytes=1) as spool:
        spool.append(b'{"a":1}\n')
        old_state = (tmp_path / STATE_FILE).read_bytes()
        spool.append(b'{"a":2}\n')
        newest = spool.active()
    (tmp_path / STATE_FILE).write_bytes(old_state)  # the state went back to an older segment
    with Spool(tmp_path) as spool:
        assert spool.active() == newest
    os.remove(tmp_path / newest)  # and if the segment it names is gone, a successor is created
    (tmp_path / STATE_FILE).write_bytes(SpoolState(newest).encode())
    with Spool(tmp_path) as spool:
        successor = spool.active()
    assert successor != newest and segment_seq(successor) == segment_seq(newest) + 1
    assert peek_active(tmp_path) == successor and list_segments(tmp_path)[-1] == successor
