"""JSON Schema validation of feature_json values (the ``jsonschema`` package).

Validation is Python per value, so it runs only on the events of activities that have a schema, and
each distinct feature_json text is validated once per batch (callers group by text). The compiled
validator of a schema is cached by its canonical text.
"""

from __future__ import annotations

import functools
import json
from typing import Any

import referencing.exceptions
from jsonschema import Draft202012Validator  # type: ignore[import-untyped]
from jsonschema.exceptions import SchemaError  # type: ignore[import-untyped]
from jsonschema.validators import validator_for  # type: ignore[import-untyped]

from ..errors import ValidationError

MAX_ERRORS_SHOWN = 3
MAX_ERROR_CHARS = 160
VALIDATOR_CACHE_SIZE = 256


def canonical(schema: Any) -> str:
    """Canonical JSON text of a schema (sorted keys), used as its identity and cache key."""
    return json.dumps(schema, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def check_schema(schema: Any, *, activity: str = "") -> None:
    """Raise ``ValidationError(invalid_feature_schema)`` unless ``schema`` is a usable JSON Schema."""
    where = f" for activity '{activity}'" if activity else ""
    if not isinstance(schema, dict):
        raise ValidationError(
            f"Feature schema{where} must be a JSON object (a JSON Schema), got {type(schema).__name__}.",
            code="invalid_feature_schema",
        )
    cls = validator_for(schema, default=Draft202012Validator)
    try:
        cls.check_schema(schema)
        list(cls(schema).iter_errors({}))
    except SchemaError as exc:
        raise ValidationError(
            f"Feature schema{where} is not a valid JSON Schema: {exc.message}",
            code="invalid_feature_schema",
        ) from None
    except referencing.exceptions.Unresolvable as exc:
        raise ValidationError(
            f"Feature schema{where} has a $ref that cannot be resolved ({exc}); schemas must be "
            "self-contained.",
            code="invalid_feature_schema",
        ) from None


@functools.lru_cache(maxsize=VALIDATOR_CACHE_SIZE)
def compiled(schema_text: str) -> Any:
    schema = json.loads(schema_text)
    cls = validator_for(schema, default=Draft202012Validator)
    return cls(schema)


def _short(text: str) -> str:
    return text if len(text) <= MAX_ERROR_CHARS else text[: MAX_ERROR_CHARS - 1] + "…"


def violations(validator: Any, instance: Any) -> list[str]:
    """Up to ``MAX_ERRORS_SHOWN`` messages ``"$.path: message"``, sorted; empty when valid."""
    try:
        errors = sorted(
            (f"{e.json_path}: {_short(e.message)}" for e in validator.iter_errors(instance)),
        )
    except referencing.exceptions.Unresolvable as exc:
        return [f"the schema cannot be evaluated: {_short(str(exc))}"]
    if len(errors) > MAX_ERRORS_SHOWN:
        errors = errors[:MAX_ERRORS_SHOWN] + [f"… {len(errors) - MAX_ERRORS_SHOWN} more"]
    return errors


def violations_of_text(schema_text: str, feature_text: str) -> list[str]:
    """Violations of one feature_json text (as stored) against a schema given as canonical text."""
    return violations(compiled(schema_text), json.loads(feature_text))
