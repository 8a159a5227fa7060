"""The spec's query hash, reproduced byte for byte from its JavaScript.

The spec (section "Provenance Tracking") defines the hash as::

    function generateQueryHash(template, params) {
      const normalized = template.replace(/\\s+/g, ' ').trim();
      const paramString = JSON.stringify(params, Object.keys(params).sort());
      return crypto.createHash('sha256').update(normalized + paramString)
        .digest('hex').substring(0, 16);
    }

Python's defaults differ from JavaScript's in every step, so each one is written out here:

- **Whitespace.** JavaScript's ``\\s`` (and ``trim()``) is the set ``JS_WHITESPACE``: tab, LF,
  VT, FF, CR, space, U+00A0, U+1680, U+2000-U+200A, U+2028, U+2029, U+202F, U+205F, U+3000 and
  U+FEFF. Python's ``\\s`` also matches U+001C-U+001F and U+0085 and misses U+FEFF. Runs become
  one space, also inside SQL string literals.
- **Key allow-list.** The sorted top-level keys are a replacer *array*: it applies at every nesting
  level, so a nested object keeps only the keys that are also top-level keys, written in the sorted
  order. Keys sort by UTF-16 code units. (One JavaScript quirk is kept: when ``"__proto__"`` is a
  top-level key, a nested object without that key inherits ``Object.prototype`` and is written with
  ``"__proto__":{"__proto__":null}``.)
- **Numbers** are IEEE doubles written as JavaScript writes them: ``2.0`` is ``2``, ``1e21`` is
  ``1e+21``, ``1e-7`` is ``1e-7``, ``-0.0`` is ``0``; NaN and infinities are ``null``. A Python
  int is first rounded to the nearest double (as JavaScript would read it), so ints beyond 2**53
  may lose digits and ints beyond the double range become ``null``. ``True``/``False`` are
  ``true``/``false`` and ``None`` is ``null``.
- **Strings** are not ASCII-escaped: only ``"``, ``\\`` and control characters below U+0020 are
  escaped (``\\b \\f \\n \\r \\t`` short forms, ``\\u00XX`` otherwise), plus lone surrogates, which
  modern JavaScript writes as ``\\udXXX``. A Python string is read as its UTF-16 code units, so two
  surrogate code points that form a pair are the same as the astral character they encode.
- **Datetimes** are serialized as JavaScript serializes a ``Date`` (its ``toJSON``):
  ``"YYYY-MM-DDTHH:MM:SS.mmmZ"`` in UTC. Naive datetimes are taken as UTC (as at ingest) and
  sub-millisecond digits are truncated, because a ``Date`` holds milliseconds only.
- **Other types** (sets, bytes, Decimal, date without time, non-string keys, cycles) are rejected
  with ``ValidationError``: convert them to JSON types first. As in JavaScript, a value under a
  dropped nested key is never read, so it is neither hashed nor checked.
- **Bytes hashed.** SHA-256 over the UTF-8 of ``normalized + paramString`` (a lone surrogate left in
  the template is encoded as U+FFFD, as Node does); the first 16 hex characters.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

from activityschema.errors import ValidationError

__all__ = [
    "HASH_LENGTH",
    "JS_WHITESPACE",
    "canonical_input",
    "format_js_number",
    "js_json_stringify",
    "normalize_template",
    "query_hash",
]

HASH_LENGTH = 16
"""Hex characters kept from the SHA-256 digest (the spec's ``substring(0, 16)``)."""

JS_WHITESPACE = "\t\n\v\f\r \u00a0\u1680\u2028\u2029\u202f\u205f\u3000\ufeff" + "".join(
    chr(code) for code in range(0x2000, 0x200B)
)
"""Every character JavaScript's ``\\s`` and ``String.prototype.trim`` treat as whitespace."""

JS_NUMBER_FIXED_LIMIT = 21
"""Largest decimal exponent JavaScript writes without ``e`` notation (``1e21`` is ``1e+21``)."""

JS_NUMBER_SMALL_LIMIT = -6
"""Small numbers above this exponent are written ``0.000…``; below, ``1e-7``."""

PROTO_KEY = "__proto__"
PROTO_OBJECT_JSON = '{"__proto__":null}'
"""How JSON.stringify writes ``Object.prototype`` when ``"__proto__"`` is in the key allow-list."""

_WHITESPACE_RUN = re.compile("[" + re.escape(JS_WHITESPACE) + "]+")
_NEEDS_ESCAPE = re.compile(r'["\\\x00-\x1f\ud800-\udfff]')
_SURROGATE = re.compile(r"[\ud800-\udfff]")
_SHORT_ESCAPES = {
    '"': '\\"',
    "\\": "\\\\",
    "\b": "\\b",
    "\f": "\\f",
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
}
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def query_hash(template: str, params: Mapping[str, Any]) -> str:
    """Return the spec's 16-hex query hash of a template and its parameters.

    Args:
        template: the query template; whitespace runs are collapsed before hashing.
        params: the bound parameters, a mapping of names to JSON-like values.

    Returns:
        The first 16 hex characters of SHA-256 over ``canonical_input(template, params)``.

    Raises:
        ValidationError: ``params`` is not a mapping or holds a value JSON cannot express.

    Example:
        >>> query_hash("SELECT 1", {})
        'e8c2375c3ca3bb7e'
        >>> query_hash("SELECT  ?", {"n": 2.0}) == query_hash("SELECT ?", {"n": 2})
        True
    """
    text = canonical_input(template, params)
    data = _SURROGATE.sub("\ufffd", text).encode("utf-8")
    return hashlib.sha256(data).hexdigest()[:HASH_LENGTH]


def canonical_input(template: str, params: Mapping[str, Any]) -> str:
    """Return the exact string the spec hashes: ``normalized_template + param_string``.

    Astral characters are single code points in the result; a lone surrogate from the template is
    kept as is (``query_hash`` encodes it as U+FFFD).

    Example:
        >>> canonical_input(" SELECT *\\n FROM t ", {"b": 1, "a": {"b": 2, "c": 3}})
        'SELECT * FROM t{"a":{"b":2},"b":1}'
    """
    if not isinstance(params, Mapping):
        raise ValidationError(
            f"Query parameters must be a mapping of names to values, got {type(params).__name__}.",
            code="invalid_query_params",
        )
    keys = sorted(_object_items(params, "params"), key=_utf16_sort_key)
    return normalize_template(template) + js_json_stringify(params, keys)


def normalize_template(template: str) -> str:
    """Collapse JavaScript whitespace runs to one space and trim: ``replace(/\\s+/g, ' ').trim()``.

    Example:
        >>> normalize_template("\\ufeff SELECT\\t1 \\n")
        'SELECT 1'
    """
    if not isinstance(template, str):
        raise ValidationError(
            f"Query template must be a string, got {type(template).__name__}.",
            code="invalid_query_template",
        )
    return _WHITESPACE_RUN.sub(" ", _as_js_string(template)).strip(JS_WHITESPACE)


def js_json_stringify(value: Any, keys: Sequence[str]) -> str:
    """Serialize like JavaScript's ``JSON.stringify(value, keys)`` with a replacer array.

    ``keys`` is the allow-list applied to every object at every depth, in its own order.

    Example:
        >>> js_json_stringify({"z": [1.0, None, "é"], "a": {"a": 1e21, "q": 0}}, ["a", "z"])
        '{"a":{"a":1e+21},"z":[1,null,"é"]}'
    """
    allow = [_as_js_string(key) for key in keys]
    return _serialize(value, allow, "params", set())


def format_js_number(value: float) -> str:
    """Write a number as ``JSON.stringify`` does (``Number::toString``; non-finite is ``null``).

    Example:
        >>> [format_js_number(x) for x in (2.0, 1e21, 1e20, 1e-7, 0.000001, -0.0, float("nan"))]
        ['2', '1e+21', '100000000000000000000', '1e-7', '0.000001', '0', 'null']
    """
    if not math.isfinite(value):
        return "null"
    if value == 0:
        return "0"
    if value < 0:
        return "-" + format_js_number(-value)
    digits, point = _shortest_digits(value)
    return _place_decimal_point(digits, point)


def _shortest_digits(value: float) -> tuple[str, int]:
    """Return the shortest round-trip digits ``d`` and exponent ``n`` with value = 0.d × 10**n."""
    mantissa, _, exponent = repr(value).partition("e")
    whole, _, fraction = mantissa.partition(".")
    digits = whole + fraction
    point = int(exponent or "0") + len(whole)
    significant = digits.lstrip("0")
    point -= len(digits) - len(significant)
    return significant.rstrip("0"), point


def _place_decimal_point(digits: str, point: int) -> str:
    """Lay out digits the way ECMAScript ``Number::toString`` does (k digits, exponent n)."""
    count = len(digits)
    if count <= point <= JS_NUMBER_FIXED_LIMIT:
        return digits + "0" * (point - count)
    if 0 < point <= JS_NUMBER_FIXED_LIMIT:
        return digits[:point] + "." + digits[point:]
    if JS_NUMBER_SMALL_LIMIT < point <= 0:
        return "0." + "0" * -point + digits
    exponent = point - 1
    sign = "+" if exponent >= 0 else "-"
    mantissa = digits if count == 1 else digits[0] + "." + digits[1:]
    return f"{mantissa}e{sign}{abs(exponent)}"


def _serialize(value: Any, keys: list[str], path: str, active: set[int]) -> str:
    """Serialize one value; ``active`` holds the ids of the containers being written (cycles)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return _format_int(value)
    if isinstance(value, float):
        return format_js_number(value)
    if isinstance(value, str):
        return _quote(value)
    if isinstance(value, dt.datetime):
        return _quote(_date_to_json(value))
    if isinstance(value, Mapping | list | tuple):
        return _serialize_container(value, keys, path, active)
    raise ValidationError(
        f"Query parameter {path} has type {type(value).__name__}, which JSON cannot express; "
        "allowed: str, int, float, bool, None, datetime, list, tuple, mapping.",
        code="invalid_query_params",
    )


def _serialize_container(value: Any, keys: list[str], path: str, active: set[int]) -> str:
    """Serialize a mapping or a sequence, refusing cycles as JavaScript does (TypeError there)."""
    if id(value) in active:
        raise ValidationError(
            f"Query parameter {path} contains itself; a cyclic value cannot be hashed.",
            code="invalid_query_params",
        )
    active.add(id(value))
    try:
        if isinstance(value, Mapping):
            return _serialize_object(value, keys, path, active)
        return _serialize_array(value, keys, path, active)
    finally:
        active.discard(id(value))


def _serialize_object(
    value: Mapping[Any, Any], keys: list[str], path: str, active: set[int]
) -> str:
    """Write the allowed keys present in ``value``, in allow-list order."""
    items = _object_items(value, path)
    members: list[str] = []
    for key in keys:
        if key in items:
            member = _serialize(items[key], keys, f"{path}[{key!r}]", active)
        elif key == PROTO_KEY:
            member = PROTO_OBJECT_JSON
        else:
            continue
        members.append(f"{_quote(key)}:{member}")
    return "{" + ",".join(members) + "}"


def _serialize_array(value: Sequence[Any], keys: list[str], path: str, active: set[int]) -> str:
    """Write every element of a list or tuple."""
    parts = (_serialize(item, keys, f"{path}[{index}]", active) for index, item in enumerate(value))
    return "[" + ",".join(parts) + "]"


def _object_items(value: Mapping[Any, Any], path: str) -> dict[str, Any]:
    """Return the mapping keyed by JavaScript strings; a later duplicate wins, as in JSON.parse."""
    items: dict[str, Any] = {}
    for key, item in value.items():
        if not isinstance(key, str):
            raise ValidationError(
                f"Query parameter {path} has key {key!r} of type {type(key).__name__}; "
                "keys must be strings.",
                code="invalid_query_params",
            )
        items[_as_js_string(key)] = item
    return items


def _format_int(value: int) -> str:
    """Write an int as the double JavaScript would read it (null past the double range)."""
    try:
        return format_js_number(float(value))
    except OverflowError:
        return "null"


def _quote(text: str) -> str:
    """Quote a string as ``JSON.stringify`` does (well-formed: lone surrogates escaped)."""
    return '"' + _NEEDS_ESCAPE.sub(_escape_char, _as_js_string(text)) + '"'


def _escape_char(match: re.Match[str]) -> str:
    char = match.group()
    return _SHORT_ESCAPES.get(char) or f"\\u{ord(char):04x}"


def _date_to_json(value: dt.datetime) -> str:
    """Return ``Date.prototype.toJSON`` output: UTC, milliseconds (truncated), ``Z``."""
    moment = value.replace(tzinfo=dt.UTC) if value.utcoffset() is None else value
    millis = (moment - _EPOCH) // dt.timedelta(milliseconds=1)
    try:
        utc = _EPOCH + dt.timedelta(milliseconds=millis)
    except OverflowError:
        raise ValidationError(
            f"Datetime {value.isoformat()} falls outside years 1-9999 in UTC; it cannot be hashed.",
            code="invalid_query_params",
        ) from None
    date_part = f"{utc.year:04d}-{utc.month:02d}-{utc.day:02d}"
    time_part = f"{utc.hour:02d}:{utc.minute:02d}:{utc.second:02d}.{utc.microsecond // 1000:03d}"
    return f"{date_part}T{time_part}Z"


def _as_js_string(text: str) -> str:
    """Re-read a string as UTF-16 code units: surrogate pairs become one astral character."""
    return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "surrogatepass")


def _utf16_sort_key(key: str) -> bytes:
    """Sort key equal to JavaScript's default string order (UTF-16 code units)."""
    return key.encode("utf-16-be", "surrogatepass")
