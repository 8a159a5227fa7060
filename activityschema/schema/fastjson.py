"""JSON parsing and rendering with orjson where it gives exactly what the json module gives.

A batch of 500 events is parsed and its per-record answer rendered on every ``POST /v1/activities``;
orjson does both several times faster than the json module. It is used only where the result is the
same, value for value and byte for byte, so the API's behaviour does not depend on it:

- **Parsing** (``loads``): orjson reads integers beyond 64 bits as floats (json keeps them exact), so
  a body with a run of 19 or more digits goes to the json module; anything orjson refuses (NaN,
  lone surrogates, a byte-order mark, non-UTF-8 text, numbers out of range) goes to the json module
  too, which accepts it or raises its own error, exactly as before. For everything else both give
  equal values (floats included: both round correctly).
- **Rendering** (``dumps_plain``): orjson writes the same compact text as ``jsonable.dumps`` for
  strings, integers, booleans, None, lists and dicts with string keys (every string escape checked
  the same); floats (exponent spelling) and other types differ, so callers use it only for values
  they know to hold none.

Without orjson installed, both fall back to the json module.
"""

from __future__ import annotations

import json
from typing import Any

try:
    import orjson
except ImportError:  # pragma: no cover - orjson is a pinned dependency
    orjson = None  # type: ignore[assignment]

from .jsonable import dumps

# Every byte to a space but digits, which become "0": a run of 19 digits is then one ``find``.
_DIGITS_ONLY = bytes(48 if 48 <= b <= 57 else 32 for b in range(256))
_LONG_NUMBER = b"0" * 19  # 18 digits always fit 64 bits, signed or not


def loads(body: bytes) -> Any:
    """``json.loads(body)``, faster (see the module docstring); raises what ``json.loads`` raises."""
    if orjson is not None and body.translate(_DIGITS_ONLY).find(_LONG_NUMBER) < 0:
        try:
            return orjson.loads(body)
        except orjson.JSONDecodeError:
            pass  # json.loads decides: it accepts a few things orjson does not, or raises its error
    return json.loads(body)


def dumps_plain(value: Any) -> bytes:
    """``dumps(value)`` as UTF-8, for values made only of str, int, bool, None, lists and str-keyed
    dicts (no floats): the caller guarantees that; anything orjson cannot write goes to ``dumps``."""
    if orjson is not None:
        try:
            return orjson.dumps(value)
        except TypeError:  # an integer beyond 64 bits, a lone surrogate, a non-str key...
            pass
    return dumps(value).encode("utf-8")
