"""The ``Dialect`` base: capability flags, identifier quoting and ``transpile``.

The engine writes each query once, in the portable (DuckDB-flavoured) form its templates use.
A backend renders it through its dialect: sqlglot transpiles the portable part and the dialect's
``TRANSFORMS`` rewrite the constructs sqlglot gets wrong or cannot express (ASOF joins, regular
expression semantics). A construct a dialect cannot express raises ``UnsupportedFeature``; it is
never approximated silently.

Provenance hashes are taken over the portable template, never over the rendered text, so one
question hashes the same on every backend.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from typing import ClassVar

import sqlglot
from sqlglot import exp
from sqlglot.errors import ErrorLevel, ParseError, UnsupportedError

from ..errors import ConfigError, QueryError, UnsupportedFeature, suggest

# The dialect the engine's templates are written in.
PORTABLE_DIALECT = "duckdb"
TRANSPILE_CACHE_SIZE = 1024
IDENTIFIER_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_$]*$")

Transform = Callable[[exp.Expr], exp.Expr]


class Dialect:
    """What a backend's SQL can do, and how portable SQL is rendered for it."""

    name: ClassVar[str] = "base"
    SQLGLOT_NAME: ClassVar[str] = PORTABLE_DIALECT
    SUPPORTS_QUALIFY: ClassVar[bool] = True
    SUPPORTS_ASOF_JOIN: ClassVar[bool] = True
    # "merge": MERGE INTO … WHEN NOT MATCHED; "insert_anti_join": INSERT … WHERE NOT EXISTS.
    MERGE_STYLE: ClassVar[str] = "merge"
    # Rewrites applied to the parsed portable SQL before it is generated for this dialect.
    TRANSFORMS: ClassVar[dict[type[exp.Expr], Transform]] = {}
    # Function names (lower case) that sqlglot does not know and this dialect accepts as they are.
    PASSTHROUGH_FUNCTIONS: ClassVar[frozenset[str]] = frozenset()

    def quote(self, identifier: str) -> str:
        """Quote an identifier that comes from an allow-list (never from user input)."""
        if not IDENTIFIER_RE.match(identifier):
            raise QueryError(f"'{identifier}' is not a valid identifier: use letters, digits and _.")
        return identifier

    def transpile(self, sql: str, *, read: str = PORTABLE_DIALECT) -> str:
        """Render ``sql`` (written for ``read``) in this dialect, or raise ``UnsupportedFeature``."""
        if read == self.SQLGLOT_NAME and not self.TRANSFORMS:
            return sql
        return _transpile_cached(type(self), sql, read)

    def transpile_named(self, sql: str, *, read: str = PORTABLE_DIALECT,
                        lists: frozenset[str] = frozenset()) -> tuple[str, tuple[str, ...]]:
        """Render ``sql`` with ``$name`` parameters as numbered ``:1, :2, …`` for drivers that bind
        only positionally; returns the text and the distinct names, the n-th bound as ``:n``.

        Numbered (not ``?``) so a name used twice binds once and the binding order never depends on
        where a database parses a clause (a ``LIMIT ?`` is numbered before ``WHERE`` by some).
        ``lists`` names the parameters bound to lists; a dialect that cannot bind a list rewrites
        their uses (``list_rewrite``) and ``bind_named`` sends them as JSON text.
        """
        return _transpile_named_cached(type(self), sql, read, lists)

    def list_rewrite(self, placeholder: exp.Placeholder, node: exp.Expr) -> exp.Expr | None:
        """The form of ``node`` (a use of the list parameter ``placeholder``) in this dialect; None
        keeps the placeholder as it is (the dialect binds lists natively)."""
        return None

    def _parse(self, sql: str, read: str) -> list[exp.Expr]:
        try:
            return [s for s in sqlglot.parse(sql, read=read) if s is not None]
        except ParseError as exc:
            raise QueryError(f"SQL does not parse as {read}: {str(exc).splitlines()[0]}",
                             code="invalid_sql") from None

    def _generate(self, statements: list[exp.Expr]) -> str:
        out = []
        for statement in statements:
            self._check_functions(statement)
            rewritten = statement.transform(self._rewrite, copy=True)
            try:
                out.append(rewritten.sql(dialect=self.SQLGLOT_NAME, unsupported_level=ErrorLevel.RAISE))
            except UnsupportedError as exc:
                raise UnsupportedFeature(self.name, str(exc).splitlines()[0]) from None
        return ";\n".join(out)

    def _render(self, sql: str, read: str) -> str:
        return self._generate(self._parse(sql, read))

    def _render_named(self, sql: str, read: str, lists: frozenset[str]) -> tuple[str, tuple[str, ...]]:
        statements = self._parse(sql, read)
        names: list[str] = []
        for statement in statements:
            # Number every placeholder first, then rewrite the uses of list parameters: a rewrite
            # copies the expression around the list (``list_contains($list, f(x, $p))``), and a
            # placeholder inside that copy must already carry its number.
            listed: list[exp.Placeholder] = []
            for node in list(statement.find_all(exp.Placeholder, bfs=False)):
                if not node.name or node.name == "?":
                    raise QueryError("Use either named ($name) or positional (?) parameters, not both.",
                                     code="mixed_parameters")
                if node.name not in names:
                    names.append(node.name)
                numbered = exp.Placeholder(this=str(names.index(node.name) + 1))
                node.replace(numbered)
                if node.name in lists:
                    listed.append(numbered)
            for numbered in listed:
                contains = isinstance(numbered.parent, exp.ArrayContains) and numbered.arg_key == "this"
                target = numbered.parent if contains else numbered
                rewritten = self.list_rewrite(numbered.copy(), target)
                if rewritten is not None:
                    target.replace(rewritten)
        return self._generate(statements), tuple(names)

    def _rewrite(self, node: exp.Expr) -> exp.Expr:
        transform = self.TRANSFORMS.get(type(node))
        return transform(node) if transform else node

    def _check_functions(self, statement: exp.Expr) -> None:
        if self.SQLGLOT_NAME == PORTABLE_DIALECT:
            return
        for fn in statement.find_all(exp.Anonymous):
            if fn.name.lower() not in self.PASSTHROUGH_FUNCTIONS:
                raise UnsupportedFeature(self.name, f"the function {fn.name.lower()}()")


@functools.lru_cache(maxsize=TRANSPILE_CACHE_SIZE)
def _transpile_cached(cls: type[Dialect], sql: str, read: str) -> str:
    return cls()._render(sql, read)


@functools.lru_cache(maxsize=TRANSPILE_CACHE_SIZE)
def _transpile_named_cached(cls: type[Dialect], sql: str, read: str,
                            lists: frozenset[str]) -> tuple[str, tuple[str, ...]]:
    return cls()._render_named(sql, read, lists)


def bind_named(names: tuple[str, ...], params: dict[str, object]) -> list[object]:
    """Positional values for ``names`` (from ``transpile_named``); every name must have a value."""
    missing = sorted(set(names) - set(params))
    if missing:
        raise QueryError(f"Missing value for parameter(s): {', '.join(missing)}.", code="missing_parameter")
    return [params[n] for n in names]


_DIALECTS: dict[str, type[Dialect]] = {}


def register_dialect(cls: type[Dialect]) -> type[Dialect]:
    """Register a dialect class under its ``name`` (built-ins use this too)."""
    _DIALECTS[cls.name] = cls
    return cls


def get_dialect(name: str) -> Dialect:
    if not _DIALECTS:
        from . import duckdb, snowflake  # noqa: F401  (register themselves)
    try:
        return _DIALECTS[name]()
    except KeyError:
        raise ConfigError(f"Unknown dialect '{name}'." + suggest(name, sorted(_DIALECTS))) from None


def transpile(sql: str, *, to: str, read: str = PORTABLE_DIALECT) -> str:
    """Render portable SQL for the dialect ``to``.

    Example:
        >>> transpile("SELECT regexp_full_match(activity, '^a_b$') FROM activities", to="snowflake")
        "SELECT REGEXP_LIKE(activity, '^a_b$') FROM activities"
    """
    return get_dialect(to).transpile(sql, read=read)
