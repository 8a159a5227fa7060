"""The Snowflake dialect: only the differences from the portable (DuckDB) form.

sqlglot transpiles most of the portable SQL. The rewrites below cover what it gets wrong:

- ``ASOF JOIN … ON eq AND a.ts >= b.ts`` becomes ``ASOF JOIN … MATCH_CONDITION (a.ts >= b.ts) ON eq``.
  Snowflake's ASOF JOIN keeps unmatched left rows (like DuckDB's ``ASOF LEFT JOIN``); an inner
  DuckDB ASOF join also needs ``<right column> IS NOT NULL`` in WHERE, which is added.
- DuckDB ``regexp_matches`` finds a match anywhere; Snowflake ``REGEXP_LIKE`` must match the whole
  string. So ``regexp_matches(x, p)`` becomes ``REGEXP_INSTR(x, p) > 0`` and
  ``regexp_full_match(x, p)`` becomes ``REGEXP_LIKE(x, p)``.
- Lists cannot be bound. A list parameter is sent as JSON text: ``list_contains($list, x)`` becomes
  ``x IN (SELECT CAST(value AS VARCHAR) FROM TABLE(FLATTEN(INPUT => PARSE_JSON(:n))))`` (a bound
  list is compared as text: the engine binds lists of names and ids), any other use ``PARSE_JSON(:n)``.
- ``epoch_us(ts)`` becomes ``DATE_PART(EPOCH_MICROSECOND, ts)``.
- ``ts + to_microseconds(n)`` / ``ts - to_microseconds(n)`` become ``DATEADD(MICROSECOND, ±n, ts)``;
  ``to_microseconds`` anywhere else (a window frame offset) is unsupported.
- ``TRY_CAST(x AS …)``: Snowflake's TRY_CAST takes text only, and sqlglot turns it into a plain
  (failing) CAST when it cannot tell ``x`` is text; ``x`` is cast to VARCHAR first.
- ``CAST('infinity' AS TIMESTAMP)``: Snowflake has no infinite timestamp; the latest one it has
  (``9999-12-31 23:59:59.999999``) stands in, which compares the same against any stored time.
- ``time_bucket`` has no exact Snowflake form with DuckDB's origin: unsupported (use date_trunc).
- ``INSERT … ON CONFLICT`` and ``INSERT OR REPLACE`` do not exist in Snowflake: unsupported (sqlglot
  would pass them through unchanged); write a MERGE.
"""

from __future__ import annotations

import sqlglot
from sqlglot import exp

from ..errors import UnsupportedFeature
from .dialect import Dialect, register_dialect

NAME = "snowflake"
_INEQUALITIES = (exp.GTE, exp.GT, exp.LTE, exp.LT)


def _conjuncts(condition: exp.Expr) -> list[exp.Expr]:
    return list(condition.flatten()) if isinstance(condition, exp.And) else [condition]


def asof_joins(node: exp.Expr) -> exp.Expr:
    """DuckDB's ASOF joins of one SELECT (inequality inside ON) in Snowflake's MATCH_CONDITION form."""
    if not isinstance(node, exp.Select):
        return node
    for join in node.args.get("joins") or []:
        if (join.args.get("method") or "").upper() != "ASOF" or join.args.get("match_condition"):
            continue
        side = (join.args.get("side") or "").upper()
        if side not in ("LEFT", ""):
            raise UnsupportedFeature(NAME, f"ASOF {side} JOIN")
        on = join.args.get("on")
        parts = _conjuncts(on) if on is not None else []
        inequalities = [p for p in parts if isinstance(p, _INEQUALITIES)]
        if len(inequalities) != 1:
            raise UnsupportedFeature(NAME, "an ASOF join without exactly one inequality in ON")
        equalities = [p.copy() for p in parts if p is not inequalities[0]]
        join.set("match_condition", inequalities[0].copy())
        join.set("on", exp.and_(*equalities) if equalities else None)
        join.set("side", None)
        if not side:  # inner: drop left rows that found no match, as DuckDB does
            matched = exp.Not(this=exp.Is(this=_right_column(inequalities[0], join), expression=exp.Null()))
            node.where(matched, copy=False)
    return node


def _right_column(inequality: exp.Expr, join: exp.Expr) -> exp.Column:
    right = join.this.alias_or_name
    for side in (inequality.this, inequality.expression):
        if isinstance(side, exp.Column) and side.table == right:
            return side.copy()
    raise UnsupportedFeature(NAME, "an inner ASOF join whose inequality does not name the right table")


def regexp_partial(node: exp.Expr) -> exp.Expr:
    return exp.GT(this=exp.Anonymous(this="REGEXP_INSTR", expressions=[node.this, node.expression]),
                  expression=exp.Literal.number(0))


def regexp_full(node: exp.Expr) -> exp.Expr:
    return exp.RegexpLike(this=node.this, expression=node.expression)


_IN_LIST_SQL = "x IN (SELECT CAST(value AS VARCHAR) FROM TABLE(FLATTEN(INPUT => PARSE_JSON(p))))"


def list_parameter(placeholder: exp.Placeholder, node: exp.Expr) -> exp.Expr:
    """A use of a list parameter (bound as JSON text) in a form Snowflake can run."""
    array = exp.Anonymous(this="PARSE_JSON", expressions=[placeholder])
    if not isinstance(node, exp.ArrayContains):
        return array
    test = sqlglot.parse_one(_IN_LIST_SQL, read="snowflake")
    test.this.replace(node.expression.copy())
    for column in test.find_all(exp.Column):
        if column.name.lower() == "p":
            column.replace(placeholder.copy())
    return test


def epoch_us(node: exp.Expr) -> exp.Expr:
    """DuckDB ``epoch_us(ts)`` (microseconds since the epoch) as Snowflake's DATE_PART."""
    if node.name.lower() == "to_microseconds":
        raise UnsupportedFeature(NAME, "to_microseconds() other than `timestamp ± to_microseconds(n)`")
    if node.name.lower() != "epoch_us":
        return node
    if len(node.expressions) != 1:
        raise UnsupportedFeature(NAME, "epoch_us() with other than one argument")
    return exp.Anonymous(this="DATE_PART", expressions=[exp.var("EPOCH_MICROSECOND"), node.expressions[0].copy()])


def _is_to_microseconds(node: exp.Expr | None) -> bool:
    return isinstance(node, exp.Anonymous) and node.name.lower() == "to_microseconds" and len(node.expressions) == 1


def interval_add(node: exp.Expr) -> exp.Expr:
    """``ts ± to_microseconds(n)`` (DuckDB) as ``DATEADD(MICROSECOND, ±n, ts)``."""
    left, right = node.this, node.expression
    if isinstance(node, exp.Add) and _is_to_microseconds(left) and not _is_to_microseconds(right):
        left, right = right, left
    if not _is_to_microseconds(right):
        return node
    amount = right.expressions[0].copy()
    if isinstance(node, exp.Sub):
        amount = exp.Neg(this=exp.Paren(this=amount))
    return exp.DateAdd(this=left.copy(), expression=amount, unit=exp.var("MICROSECOND"))


def try_cast_text(node: exp.Expr) -> exp.Expr:
    """Snowflake's TRY_CAST takes only text: cast the operand to VARCHAR first (sqlglot would
    otherwise write a plain CAST, which fails on bad values instead of giving NULL)."""
    inner = node.this
    if isinstance(inner, exp.Cast) and inner.to.is_type(*exp.DataType.TEXT_TYPES):
        return node
    node.set("this", exp.Cast(this=inner.copy(), to=exp.DataType.build("VARCHAR")))
    return node


LATEST_TIMESTAMP = "9999-12-31 23:59:59.999999"


def finite_timestamp(node: exp.Expr) -> exp.Expr:
    """``CAST('infinity' AS TIMESTAMP)`` as the latest timestamp Snowflake has."""
    literal = node.this
    if (isinstance(literal, exp.Literal) and literal.is_string and literal.this.lower() == "infinity"
            and node.to.is_type(*exp.DataType.TEMPORAL_TYPES)):
        node.set("this", exp.Literal.string(LATEST_TIMESTAMP))
    return node


def no_time_bucket(node: exp.Expr) -> exp.Expr:
    raise UnsupportedFeature(NAME, "time_bucket() (use date_trunc)")


def insert_without_upsert(node: exp.Expr) -> exp.Expr:
    """Snowflake has no INSERT … ON CONFLICT / INSERT OR REPLACE: writers use MERGE there."""
    if node.args.get("conflict") is not None:
        raise UnsupportedFeature(NAME, "INSERT … ON CONFLICT (write a MERGE instead)")
    if node.args.get("alternative"):
        raise UnsupportedFeature(NAME, f"INSERT OR {node.args['alternative']} (write a MERGE instead)")
    return node


@register_dialect
class SnowflakeDialect(Dialect):
    name = NAME
    SQLGLOT_NAME = "snowflake"
    SUPPORTS_QUALIFY = True
    SUPPORTS_ASOF_JOIN = True
    MERGE_STYLE = "merge"
    TRANSFORMS = {
        **Dialect.TRANSFORMS,
        exp.Select: asof_joins,
        exp.RegexpLike: regexp_partial,
        exp.RegexpFullMatch: regexp_full,
        exp.DateBin: no_time_bucket,
        exp.Insert: insert_without_upsert,
        exp.Anonymous: epoch_us,
        exp.Add: interval_add,
        exp.Sub: interval_add,
        exp.TryCast: try_cast_text,
        exp.Cast: finite_timestamp,
    }
    # hash(x): Snowflake's HASH (64-bit, deterministic); the dataset builder orders rows by it only to
    # place one actor's rows together, never for a result.
    PASSTHROUGH_FUNCTIONS = frozenset({"regexp_instr", "epoch_us", "parse_json", "date_part", "to_microseconds",
                                       "hash"})

    def list_rewrite(self, placeholder: exp.Placeholder, node: exp.Expr) -> exp.Expr | None:
        return list_parameter(placeholder, node)

    def quote(self, identifier: str) -> str:
        # Unquoted Snowflake identifiers fold to upper case, which is what the DDL creates.
        return super().quote(identifier)
