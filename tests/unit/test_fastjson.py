"""``schema/fastjson.py``: orjson only where it gives what the json module gives, value for value and
byte for byte; everything else through the json module, errors included."""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from activityschema.schema import fastjson
from activityschema.schema.jsonable import dumps


def same(a, b) -> bool:
    """Equal values of equal types (1 and 1.0 differ; NaN equals NaN; -0.0 differs from 0.0)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        return (math.isnan(a) and math.isnan(b)) or (a == b and math.copysign(1, a) == math.copysign(1, b))
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    return a == b


BODIES = [
    b'{"a":1,"a":2}', b'[1.0, -0.0, 1e16, 0.1, 5e-324, 1.7976931348623157e308, 1.5e-400]',
    b"[123456789012345678901234567890]", b"[-9223372036854775809]", b"[18446744073709551616]",
    b"[9223372036854775807, -9223372036854775808, 18446744073709551615]", b"[1e400]", b"[-1E400]",
    b"NaN", b"[Infinity, -Infinity]", b'"\\ud800"', b'["\xed\xa0\x80"]', b"\xef\xbb\xbf[1]",
    b'{"\\ud83d\\ude00": "\\u00e9\\u2028"}', b'["a\x7fb"]', b"  [1]  \r\n", b"[-0, 0e0, 1E+2]",
    b'{"customer": "12345678901234567890"}', b"[12345678901234567.5]",
    "[\"é\"]".encode("utf-16"), "[\"é\"]".encode("utf-32"),
]
INVALID = [b"", b"[1,]", b'["a\tb"]', b"[01]", b"[.5]", b"[True]", b"\x00[1]", b"\xa0[1]", b"[1] x", b"{", b"[" * 5000]


@pytest.mark.parametrize("body", BODIES)
def test_loads_gives_what_json_gives(body):
    assert same(fastjson.loads(body), json.loads(body))


@pytest.mark.parametrize("body", INVALID)
def test_loads_raises_what_json_raises(body):
    with pytest.raises(Exception) as expected:
        json.loads(body)
    with pytest.raises(type(expected.value)) as got:
        fastjson.loads(body)
    assert str(got.value) == str(expected.value)


def json_trees(scalars):
    """Lists and objects nested from ``scalars`` (small: a few levels, up to 20 leaves)."""
    return st.recursive(
        scalars,
        lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(), children, max_size=4),
        max_leaves=20)


plain_scalars = st.none() | st.booleans() | st.integers(min_value=-(2**70), max_value=2**70) | st.text()
json_values = json_trees(plain_scalars | st.floats(allow_nan=False, allow_infinity=False))


@settings(max_examples=300, deadline=None)
@given(json_values)
def test_loads_round_trips_like_json(value):
    try:
        body = dumps(value).encode("utf-8", "surrogatepass")
    except ValueError:
        return
    assert same(fastjson.loads(body), json.loads(body))


plain_values = json_trees(plain_scalars)


@settings(max_examples=300, deadline=None)
@given(plain_values)
def test_dumps_plain_writes_what_dumps_writes(value):
    try:
        expected = dumps(value).encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate: neither can write it as UTF-8
        return
    assert fastjson.dumps_plain(value) == expected
