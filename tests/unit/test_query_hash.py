"""query_hash reproduces the spec's JavaScript generateQueryHash byte for byte."""

from __future__ import annotations

import datetime as dt
import doctest
import importlib
import json
import math
import random
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from activityschema.errors import ValidationError
from activityschema.provenance import query_hash as exported_query_hash
from activityschema.provenance.hashing import (
    JS_WHITESPACE,
    canonical_input,
    format_js_number,
    js_json_stringify,
    normalize_template,
    query_hash,
)

VECTORS_PATH = Path(__file__).parent.parent / "golden" / "query_hash_vectors.json"
VECTORS = json.loads(VECTORS_PATH.read_text(encoding="utf-8"))
CROSS_CHECK_CASES = 200
CROSS_CHECK_SEED = 20240115
NODE_TIMEOUT_SECONDS = 60
MAX_SAFE_INTEGER = 2**53

# The spec's function, verbatim, plus the canonical string it hashes. Non-finite numbers and
# dates cannot travel in JSON, so they arrive as sentinel objects that the reviver turns back.
NODE_SCRIPT = r"""
const crypto = require('crypto');
function generateQueryHash(template, params) {
  const normalized = template.replace(/\s+/g, ' ').trim();
  const paramString = JSON.stringify(params, Object.keys(params).sort());
  return crypto
    .createHash('sha256')
    .update(normalized + paramString)
    .digest('hex')
    .substring(0, 16);
}
function revive(key, value) {
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    const keys = Object.keys(value);
    if (keys.length === 1 && keys[0] === '__xcheck_number__') return Number(value[keys[0]]);
    if (keys.length === 1 && keys[0] === '__xcheck_date__') return new Date(value[keys[0]]);
  }
  return value;
}
let input = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk) => { input += chunk; });
process.stdin.on('end', () => {
  const cases = JSON.parse(input, revive);
  const out = cases.map(({template, params}) => ({
    hash: generateQueryHash(template, params),
    canonical: template.replace(/\s+/g, ' ').trim()
      + JSON.stringify(params, Object.keys(params).sort()),
  }));
  process.stdout.write(JSON.stringify(out));
});
"""


@pytest.mark.parametrize("vector", VECTORS, ids=[v["name"] for v in VECTORS])
def test_golden_vector_hash(vector):
    assert query_hash(vector["template"], vector["params"]) == vector["hash"]


@pytest.mark.parametrize("vector", VECTORS, ids=[v["name"] for v in VECTORS])
def test_golden_vector_canonical_input(vector):
    assert canonical_input(vector["template"], vector["params"]) == vector["canonical_input"]


def test_package_reexports_query_hash():
    assert exported_query_hash is query_hash


def test_module_docstring_examples_run():
    module = importlib.import_module("activityschema.provenance.hashing")
    assert doctest.testmod(module).failed == 0


@pytest.mark.parametrize("params", [[("a", 1)], "a=1", None, 3])
def test_non_mapping_params_are_rejected(params):
    with pytest.raises(ValidationError, match="must be a mapping") as info:
        query_hash("SELECT 1", params)
    assert info.value.code == "invalid_query_params"


@pytest.mark.parametrize(
    "params",
    [{"a": {1, 2}}, {"a": b"x"}, {"a": dt.date(2024, 1, 1)}, {"a": {"a": object()}}, {1: "x"}],
)
def test_values_json_cannot_express_are_rejected(params):
    with pytest.raises(ValidationError):
        query_hash("SELECT 1", params)


def test_values_under_dropped_keys_are_never_read():
    # JSON.stringify never visits them, so they cannot change the hash (nor fail it).
    assert canonical_input("q", {"a": {"b": object()}}) == 'q{"a":{}}'


def test_cyclic_params_are_rejected():
    inner: list[Any] = []
    inner.append(inner)
    with pytest.raises(ValidationError, match="contains itself"):
        query_hash("SELECT 1", {"a": inner})


def test_shared_but_acyclic_values_are_fine():
    shared = [1, 2]
    assert canonical_input("q", {"a": shared, "b": shared}) == 'q{"a":[1,2],"b":[1,2]}'


def test_non_string_template_is_rejected():
    with pytest.raises(ValidationError, match="template must be a string"):
        query_hash(b"SELECT 1", {})  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (2.0, "2"),
        (-0.0, "0"),
        (1e21, "1e+21"),
        (1e20, "100000000000000000000"),
        (1e-7, "1e-7"),
        (1.5e-7, "1.5e-7"),
        (0.000001, "0.000001"),
        (123456789.125, "123456789.125"),
        (1.7976931348623157e308, "1.7976931348623157e+308"),
        (5e-324, "5e-324"),
        (-2.5e-10, "-2.5e-10"),
        (float("inf"), "null"),
        (float("-inf"), "null"),
        (float("nan"), "null"),
    ],
)
def test_numbers_are_written_as_javascript_writes_them(value, expected):
    assert format_js_number(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [(2**53 + 1, "9007199254740992"), (10**21, "1e+21"), (10**400, "null"), (True, "true")],
)
def test_ints_are_read_as_javascript_doubles(value, expected):
    assert js_json_stringify({"n": value}, ["n"]) == '{"n":' + expected + "}"


def test_strings_escape_only_quote_backslash_controls_and_lone_surrogates():
    text = '"\\\b\f\n\r\t\x00\x1f\x7f\u2028é🚀\ud800'
    expected = '"\\"\\\\\\b\\f\\n\\r\\t\\u0000\\u001f\x7f\u2028é🚀\\ud800"'
    assert js_json_stringify({"s": text}, ["s"]) == '{"s":' + expected + "}"


def test_surrogate_code_points_that_pair_are_the_astral_character():
    assert query_hash("q", {"s": "\ud83d\ude80"}) == query_hash("q", {"s": "🚀"})
    assert canonical_input("a\ud83d\ude80", {}) == "a🚀{}"


def test_lone_surrogate_in_template_hashes_as_replacement_character():
    assert query_hash("a\ud800b", {}) == query_hash("a\ufffdb", {})


def test_keys_sort_by_utf16_code_units_not_code_points():
    # U+FF5E is one code unit 0xFF5E; U+1F680 is 0xD83D 0xDE80, which sorts first.
    assert canonical_input("q", {"\uff5e": 1, "🚀": 2}) == 'q{"🚀":2,"\uff5e":1}'


def test_datetimes_serialize_like_a_javascript_date():
    aware = dt.datetime(2024, 1, 15, 16, 30, 0, 123999, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    naive = dt.datetime(2024, 1, 15, 14, 30, 0, 123000)
    expected = 'q{"t":"2024-01-15T14:30:00.123Z"}'
    assert canonical_input("q", {"t": aware}) == expected
    assert canonical_input("q", {"t": naive}) == expected


def test_proto_key_reproduces_the_inherited_object_prototype():
    params = {"__proto__": 1, "a": {"b": 2}}
    assert canonical_input("q", params) == 'q{"__proto__":1,"a":{"__proto__":{"__proto__":null}}}'


def test_python_only_whitespace_is_not_collapsed():
    assert normalize_template("a\x1c\x85b") == "a\x1c\x85b"
    assert normalize_template("\ufeffa\u00a0\u3000b\u2029") == "a b"


# --- properties ------------------------------------------------------------------------------

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(-MAX_SAFE_INTEGER, MAX_SAFE_INTEGER)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=8)
)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3)
    ),
    max_leaves=8,
)
params_strategy = st.dictionaries(st.text(max_size=6), json_values, max_size=5)
words = st.text(
    alphabet=st.characters(exclude_characters=JS_WHITESPACE, exclude_categories=("Cs",)),
    min_size=1,
    max_size=6,
)
whitespace_runs = st.text(alphabet=st.sampled_from(JS_WHITESPACE), min_size=1, max_size=4)


@given(params=params_strategy, data=st.data())
def test_key_order_does_not_change_the_hash(params, data):
    order = data.draw(st.permutations(list(params)))
    shuffled = {key: params[key] for key in order}
    assert query_hash("SELECT ?", shuffled) == query_hash("SELECT ?", params)


@given(tokens=st.lists(words, min_size=1, max_size=6), data=st.data())
def test_whitespace_runs_collapse_to_one_space(tokens, data):
    runs = data.draw(st.lists(whitespace_runs, min_size=len(tokens) + 1, max_size=len(tokens) + 1))
    spaced = runs[0] + "".join(token + run for token, run in zip(tokens, runs[1:], strict=True))
    assert normalize_template(spaced) == " ".join(tokens)
    assert query_hash(spaced, {}) == query_hash(" ".join(tokens), {})


@given(top=params_strategy, nested=st.dictionaries(st.text(max_size=4), json_scalars, max_size=5))
def test_nested_keys_survive_only_when_also_top_level(top, nested):
    params = {**top, "outer": nested}
    kept = {key: value for key, value in nested.items() if key in params}
    assert query_hash("q", params) == query_hash("q", {**top, "outer": kept})
    written = json.loads(canonical_input("q", params)[1:])
    assert set(written["outer"]) == set(kept)


@given(number=st.integers(-MAX_SAFE_INTEGER, MAX_SAFE_INTEGER))
def test_whole_floats_hash_like_ints(number):
    assert query_hash("q", {"n": float(number)}) == query_hash("q", {"n": number})


@given(number=st.floats(allow_nan=False, allow_infinity=False))
def test_number_text_reads_back_as_the_same_double(number):
    assert float(format_js_number(number)) == number


# --- cross-check against the spec's JavaScript, run by node ----------------------------------

KEY_POOL = ["a", "b", "limit", "steps", "filter", "__proto__", "length", "toString", "", "é", "🚀"]
CHAR_POOL = (
    list("abcXYZ09_?*'\"\\,;(){}")
    + list(JS_WHITESPACE)
    + ["\x00", "\x01", "\x1c", "\x1f", "\x7f", "\x85", "\u180e", "é", "東", "🚀", "\U0010ffff"]
    + ["\ud800", "\udfff", "\ud83d", "\ude80", "\ufffd"]
)
FLOAT_SPECIALS = [0.0, -0.0, 2.0, 1e21, 1e-7, 5e-324, 1.7976931348623157e308, 0.1, 1 / 3]
FLOAT_SPECIALS += [math.nan, math.inf, -math.inf, 123e-20, 9.999999999999999e20]
INT_SPECIALS = [0, -1, MAX_SAFE_INTEGER, -MAX_SAFE_INTEGER, MAX_SAFE_INTEGER + 1, 10**21, 10**400]


def random_text(rng: random.Random, max_size: int = 10) -> str:
    return "".join(rng.choice(CHAR_POOL) for _ in range(rng.randint(0, max_size)))


def random_float(rng: random.Random) -> float:
    if rng.random() < 0.3:
        return rng.choice(FLOAT_SPECIALS)
    return rng.uniform(-10, 10) * 10.0 ** rng.randint(-323, 300)


def random_datetime(rng: random.Random) -> dt.datetime:
    moment = dt.datetime(1, 1, 1) + dt.timedelta(microseconds=rng.randrange(2**58))
    if rng.random() < 0.5:
        return moment
    return moment.replace(tzinfo=dt.timezone(dt.timedelta(minutes=rng.randint(-900, 900))))


def random_scalar(rng: random.Random) -> Any:
    makers = [
        lambda: None,
        lambda: rng.random() < 0.5,
        lambda: rng.choice(INT_SPECIALS) if rng.random() < 0.2 else rng.randint(-(2**53), 2**53),
        lambda: random_float(rng),
        lambda: random_text(rng),
        lambda: random_datetime(rng),
    ]
    return rng.choice(makers)()


def random_key(rng: random.Random) -> str:
    return rng.choice(KEY_POOL) if rng.random() < 0.7 else random_text(rng, 4)


def random_value(rng: random.Random, depth: int) -> Any:
    roll = rng.random()
    if depth <= 0 or roll < 0.6:
        return random_scalar(rng)
    if roll < 0.8:
        return [random_value(rng, depth - 1) for _ in range(rng.randint(0, 3))]
    return {random_key(rng): random_value(rng, depth - 1) for _ in range(rng.randint(0, 4))}


def random_case(rng: random.Random) -> tuple[str, dict[str, Any]]:
    params = {random_key(rng): random_value(rng, 3) for _ in range(rng.randint(0, 6))}
    return random_text(rng, 30), params


def to_node_json(value: Any) -> Any:
    """Encode a value for JSON.parse in node; non-finite floats and datetimes become sentinels."""
    if isinstance(value, float) and not math.isfinite(value):
        return {"__xcheck_number__": str(value).replace("inf", "Infinity").replace("nan", "NaN")}
    if isinstance(value, dt.datetime):
        moment = value if value.utcoffset() is not None else value.replace(tzinfo=dt.UTC)
        epoch = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
        return {"__xcheck_date__": (moment - epoch) // dt.timedelta(milliseconds=1)}
    if isinstance(value, dict):
        return {key: to_node_json(item) for key, item in value.items()}
    if isinstance(value, list):
        return [to_node_json(item) for item in value]
    return value


def run_node(node: str, cases: list[tuple[str, dict[str, Any]]]) -> list[dict[str, str]]:
    payload = json.dumps([{"template": t, "params": to_node_json(p)} for t, p in cases])
    completed = subprocess.run(
        [node, "-e", NODE_SCRIPT],
        input=payload,
        capture_output=True,
        encoding="utf-8",
        timeout=NODE_TIMEOUT_SECONDS,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    return list(json.loads(completed.stdout))


def test_hashes_match_the_spec_javascript_run_by_node():
    node = shutil.which("node")
    if node is None:
        pytest.skip("node not installed: cross-check needs it")
    rng = random.Random(CROSS_CHECK_SEED)
    cases = [random_case(rng) for _ in range(CROSS_CHECK_CASES)] + [
        (v["template"], v["params"]) for v in VECTORS
    ]
    expected = run_node(node, cases)
    mismatches = [
        (template, params, js)
        for (template, params), js in zip(cases, expected, strict=True)
        if (canonical_input(template, params), query_hash(template, params))
        != (js["canonical"], js["hash"])
    ]
    assert not mismatches, f"{len(mismatches)} of {len(cases)} differ, first: {mismatches[0]!r}"
