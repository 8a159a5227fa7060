"""Named SQL templates (the "SafeSQL" layer, SEMANTICS §8).

Every analytic query the engine runs is a ``Template``: a name, a pydantic model that types and
validates the parameters, and either fixed SQL or a ``build`` function that assembles SQL from
fixed fragments and validated identifiers. Values are *always* bound parameters (``$name``); no user
value is ever formatted into SQL text. ``register_template`` refuses a template whose SQL could
interpolate values (Python format fields, ``%`` placeholders, unbound or unused ``$`` parameters).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import sqlglot
from pydantic import BaseModel, ConfigDict
from pydantic import ValidationError as PydanticValidationError

from ..errors import ConfigError, NotFoundError, ValidationError, suggest

PLACEHOLDER_RE = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")
# Python format fields anywhere (even inside quotes: that is how an f-string interpolates), and
# driver placeholders outside string literals.
_FORMAT_FIELD_RE = re.compile(r"\{[A-Za-z_][A-Za-z0-9_!:.\[\]]*\}")
_DRIVER_PLACEHOLDER_RE = re.compile(r"%\(?[a-z_]*\)?[sd]|\?")
# Identifiers that vary (output column names) must match this; values never need it (they are bound).
SAFE_IDENTIFIER_RE = re.compile(r"^[a-z][a-z0-9_]{0,127}$")
PARSE_CACHE_SIZE = 512


class Params(BaseModel):
    """Base of every template's parameter model: unknown keys are an error, values are typed."""

    model_config = ConfigDict(extra="forbid", frozen=True)


Builder = Callable[[Any], tuple[str, dict[str, Any]]]


@dataclass(frozen=True)
class Template:
    name: str
    params: type[Params]
    description: str
    sql: str | None = None
    build: Builder | None = None

    def render(self, params: Params) -> tuple[str, dict[str, Any]]:
        """(sql, bound values) for validated parameters."""
        if self.build is not None:
            sql, bind = self.build(params)
            check_sql_is_parameterized(self.name, sql, set(bind))
            return sql, bind
        assert self.sql is not None
        used = set(PLACEHOLDER_RE.findall(self.sql))
        values = params.model_dump(mode="python")
        return self.sql, {k: values[k] for k in used}


_TEMPLATES: dict[str, Template] = {}


def check_sql_is_parameterized(name: str, sql: str, bound: set[str]) -> None:
    """Refuse SQL that interpolates values instead of binding them, or that does not parse."""
    stripped = re.sub(r"'(?:[^']|'')*'", "''", sql)
    found = _FORMAT_FIELD_RE.search(sql) or _DRIVER_PLACEHOLDER_RE.search(stripped)
    if found:
        raise ConfigError(f"Template '{name}' interpolates values ({found.group(0)!r}); "
                          "use $name placeholders bound as parameters.", code="template_interpolates")
    used = set(PLACEHOLDER_RE.findall(stripped))
    if used - bound:
        raise ConfigError(f"Template '{name}' uses unbound parameters: {sorted(used - bound)}.", code="template_unbound")
    problem = _parse_problem(PLACEHOLDER_RE.sub("NULL", stripped))
    if problem:
        raise ConfigError(f"Template '{name}' is not valid SQL: {problem}", code="template_invalid")


@functools.lru_cache(maxsize=PARSE_CACHE_SIZE)
def _parse_problem(sql: str) -> str | None:
    """The first line of sqlglot's parse error, or None. Cached: a builder renders the same text for
    the same request shape, and parsing a large query costs tens of milliseconds."""
    try:
        sqlglot.parse_one(sql, read="duckdb")
    except sqlglot.errors.ParseError as exc:
        return str(exc).splitlines()[0]
    return None


def register_template(template: Template) -> Template:
    """Add a template to the registry after checking it cannot interpolate values."""
    if (template.sql is None) == (template.build is None):
        raise ConfigError(f"Template '{template.name}' needs exactly one of sql or build.")
    if template.sql is not None:
        fields = set(template.params.model_fields)
        used = set(PLACEHOLDER_RE.findall(template.sql))
        check_sql_is_parameterized(template.name, template.sql, fields)
        if fields - used:
            raise ConfigError(f"Template '{template.name}' declares parameters it never uses: {sorted(fields - used)}.")
    _TEMPLATES[template.name] = template
    return template


def get_template(name: str) -> Template:
    load_builtin_templates()
    try:
        return _TEMPLATES[name]
    except KeyError:
        raise NotFoundError(f"Unknown template '{name}'." + suggest(name, sorted(_TEMPLATES)), code="unknown_template") from None


def list_templates() -> list[Template]:
    load_builtin_templates()
    return [_TEMPLATES[k] for k in sorted(_TEMPLATES)]


def validate_params(template: Template, raw: Any) -> Params:
    """Typed parameters, or a ValidationError naming every bad field and what is allowed."""
    if not isinstance(raw, dict):
        raise ValidationError(f"Parameters of '{template.name}' must be a JSON object.", code="invalid_params")
    try:
        return template.params.model_validate(raw)
    except PydanticValidationError as exc:
        problems = [f"{'.'.join(str(p) for p in e['loc']) or '(root)'}: {e['msg']}" for e in exc.errors()]
        allowed = ", ".join(template.params.model_fields)
        raise ValidationError(
            f"Invalid parameters for '{template.name}': {'; '.join(problems)}. Allowed parameters: {allowed}.",
            code="invalid_params", details=problems) from None


_BUILTIN_PACKAGES = ("activityschema.analytics",)
_loaded = {"done": False}


def load_builtin_templates() -> None:
    """Import every module under analytics/ so their templates register (once)."""
    if _loaded["done"]:
        return
    _loaded["done"] = True
    import importlib
    import pkgutil

    for package_name in _BUILTIN_PACKAGES:
        package = importlib.import_module(package_name)
        for info in pkgutil.walk_packages(package.__path__, package_name + "."):
            importlib.import_module(info.name)
