"""Find and remove an erased person's identifiers in every table of the store.

Two passes, both driven by the catalog (``information_schema``), so tables added by other features
are covered without changes here:

1. **Own rows.** ``ERASABLE`` says, per table, which rows *are* the person's (their events, rejects,
   identity links, atoms, context). A table not listed there, or missing a listed column, falls back
   to its identity-named columns (``IDENTITY_COLUMNS``). Those rows are deleted. ``clear_columns``
   names identity columns that are set to NULL on rows that stay (another customer's event that
   carries an erased anonymous id).
2. **Mentions.** In every text or JSON column of every other row, an erased id appearing as a whole
   token (not inside a longer id) is replaced by its keyed-hash token ``hmac:…`` — provenance
   parameters, feature values of other customers (``"referred_by": "alice"``), reject messages.

Tables in ``PROTECTED_TABLES`` are never changed (the audit chain would break; they hold only keyed
hashes by construction) but are scanned by ``find_mentions``, which erasure runs at the end to prove
that no trace is left.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import duckdb
import pyarrow as pa

PROTECTED_TABLES = frozenset({"audit_log", "audit_head", "suppressions", "erasures", "disclosures",
                              "disclosure_subjects", "governance_secrets", "governance_policies",
                              "retention_policies"})
TEXT_TYPES = frozenset({"VARCHAR", "JSON"})
IDENTITY_COLUMNS = ("customer", "customer_id", "anonymous_customer_id", "actor", "actor_id")
_ID_CHAR = r"A-Za-z0-9_@+\-"
FETCH_ROWS = 10_000


@dataclass(frozen=True)
class Erasable:
    """How to find the erased person's own rows in one table (``$ids`` is the list of its ids)."""

    owner_sql: str
    columns: tuple[str, ...]
    clear_columns: tuple[str, ...] = ()


ERASABLE: dict[str, Erasable] = {
    "activities": Erasable(
        "list_contains($ids, customer) OR (customer IS NULL AND list_contains($ids, anonymous_customer_id))",
        ("customer", "anonymous_customer_id"), ("anonymous_customer_id",)),
    "rejected_activities": Erasable(
        "list_contains($ids, try(json_extract_string(payload, '$.customer'))) "
        "OR list_contains($ids, try(json_extract_string(payload, '$.anonymous_customer_id')))", ("payload",)),
    "identity_map": Erasable(
        "list_contains($ids, customer) OR list_contains($ids, anonymous_customer_id)",
        ("customer", "anonymous_customer_id")),
    "touched_actors": Erasable("list_contains($ids, actor)", ("actor",)),
    "insight_atoms": Erasable("list_contains($ids, customer_id)", ("customer_id",)),
    "context_cache": Erasable("list_contains($ids, customer_id)", ("customer_id",)),
}

CATALOG_SQL = """
SELECT c.table_name, c.column_name, c.data_type
FROM information_schema.columns c
JOIN information_schema.tables t
  ON t.table_catalog = c.table_catalog AND t.table_schema = c.table_schema AND t.table_name = c.table_name
WHERE c.table_schema = 'main' AND c.table_catalog = current_database() AND t.table_type = 'BASE TABLE'
ORDER BY c.table_name, c.ordinal_position
"""


def qi(name: str) -> str:
    """Quote an identifier read from the catalog (never user input)."""
    return '"' + name.replace('"', '""') + '"'


def catalog(con: duckdb.DuckDBPyConnection) -> dict[str, dict[str, str]]:
    tables: dict[str, dict[str, str]] = {}
    for table, column, dtype in con.execute(CATALOG_SQL).fetchall():
        tables.setdefault(table, {})[column] = dtype
    return tables


def id_forms(ids: Iterable[str]) -> list[str]:
    """Each id as written in text and as written inside a JSON string (escapes), longest first."""
    forms = set()
    for i in ids:
        if i:
            forms.add(i)
            forms.add(json.dumps(i, ensure_ascii=True)[1:-1])
            forms.add(json.dumps(i, ensure_ascii=False)[1:-1])
    return sorted(forms, key=lambda f: (-len(f), f))


def mention_pattern(forms: list[str]) -> re.Pattern[str]:
    """Whole-token matches: not inside a longer id (``c1`` does not match ``c10`` or ``c1-x``)."""
    alternation = "|".join(re.escape(f) for f in forms)
    return re.compile(rf"(?<![{_ID_CHAR}.])(?:{alternation})(?![{_ID_CHAR}])(?!\.[A-Za-z0-9])")


def owner_predicate(table: str, columns: dict[str, str]) -> tuple[str | None, tuple[str, ...]]:
    rule = ERASABLE.get(table)
    if rule is not None and all(c in columns for c in rule.columns):
        return rule.owner_sql, rule.clear_columns
    present = [c for c in IDENTITY_COLUMNS if c in columns and columns[c] == "VARCHAR"]
    if not present:
        return None, ()
    return " OR ".join(f"list_contains($ids, {qi(c)})" for c in present), ()


def delete_owned(con: duckdb.DuckDBPyConnection, ids: list[str]) -> tuple[dict[str, int], dict[str, list[int]]]:
    """Delete the person's own rows everywhere; clear its ids on rows that stay.

    Returns rows deleted per table and, per table, the rowids whose identity columns were cleared.
    """
    deleted: dict[str, int] = {}
    cleared: dict[str, list[int]] = {}
    for table, columns in catalog(con).items():
        if table in PROTECTED_TABLES:
            continue
        predicate, clear = owner_predicate(table, columns)
        if predicate is None:
            continue
        row = con.execute(f"SELECT count(*) FROM {qi(table)} WHERE {predicate}", {"ids": ids}).fetchone()
        if row and row[0]:
            con.execute(f"DELETE FROM {qi(table)} WHERE {predicate}", {"ids": ids})
            deleted[table] = int(row[0])
        for column in clear:
            rowids = [r[0] for r in con.execute(
                f"SELECT rowid FROM {qi(table)} WHERE list_contains($ids, {qi(column)})", {"ids": ids}).fetchall()]
            if rowids:
                con.execute(f"UPDATE {qi(table)} SET {qi(column)} = NULL WHERE list_contains($rids, rowid)", {"rids": rowids})
                cleared.setdefault(table, []).extend(rowids)
    return deleted, cleared


def _prefilter(columns: list[str]) -> str:
    return " OR ".join(f"len(list_filter($forms, lambda f: contains(CAST({qi(c)} AS VARCHAR), f))) > 0" for c in columns)


def _matching_rows(con: duckdb.DuckDBPyConnection, table: str, columns: list[str], forms: list[str]) -> Iterable[tuple[Any, ...]]:
    cols = ", ".join(f"CAST({qi(c)} AS VARCHAR)" for c in columns)
    cur = con.execute(f"SELECT rowid, {cols} FROM {qi(table)} WHERE {_prefilter(columns)}", {"forms": forms})
    while batch := cur.fetchmany(FETCH_ROWS):
        yield from batch


def scrub_mentions(con: duckdb.DuckDBPyConnection, ids: list[str], replacement: Callable[[str], str]) -> dict[str, list[int]]:
    """Replace whole-token mentions of ``ids`` in text/JSON columns of unprotected tables.

    ``replacement`` maps the matched text to its stand-in. Returns the changed rowids per table.
    """
    forms = id_forms(ids)
    if not forms:
        return {}
    pattern = mention_pattern(forms)
    changed: dict[str, list[int]] = {}
    for table, columns in catalog(con).items():
        text_cols = [c for c, t in columns.items() if t in TEXT_TYPES]
        if table in PROTECTED_TABLES or not text_cols:
            continue
        updates: dict[str, list[Any]] = {"rid": [], **{c: [] for c in text_cols}}
        for rid, *values in list(_matching_rows(con, table, text_cols, forms)):
            new = [None if v is None else pattern.sub(lambda m: replacement(m.group(0)), v) for v in values]
            if new != values:
                updates["rid"].append(rid)
                for c, v in zip(text_cols, new, strict=True):
                    updates[c].append(v)
        if updates["rid"]:
            _apply(con, table, columns, text_cols, updates)
            changed[table] = updates["rid"]
    return changed


def _apply(con: duckdb.DuckDBPyConnection, table: str, columns: dict[str, str], text_cols: list[str],
           updates: dict[str, list[Any]]) -> None:
    con.register("_scrub_arrow", pa.table({k: pa.array(v, pa.int64() if k == "rid" else pa.string()) for k, v in updates.items()}))
    try:
        sets = ", ".join(f"{qi(c)} = CAST(u.{qi(c)} AS {columns[c]})" for c in text_cols)
        con.execute(f"UPDATE {qi(table)} SET {sets} FROM _scrub_arrow u WHERE {qi(table)}.rowid = u.rid")
    finally:
        con.unregister("_scrub_arrow")


def find_mentions(con: duckdb.DuckDBPyConnection, ids: list[str]) -> list[dict[str, Any]]:
    """Every (table, column) of the store, protected ones included, still mentioning an id."""
    forms = id_forms(ids)
    if not forms:
        return []
    pattern = mention_pattern(forms)
    residue = []
    for table, columns in catalog(con).items():
        names = list(columns)
        hits: dict[str, int] = {}
        for _rid, *values in _matching_rows(con, table, names, forms):
            for c, v in zip(names, values, strict=True):
                if v is not None and pattern.search(v):
                    hits[c] = hits.get(c, 0) + 1
        residue.extend({"table": table, "column": c, "rows": n} for c, n in hits.items())
    return residue
