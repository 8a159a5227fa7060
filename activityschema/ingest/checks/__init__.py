"""Ingest checks: each module here exposes ``ORDER: int`` and ``check(con, table, raw_table) -> None``.

A check runs inside the load transaction after validation and before the merge; it may append reasons
(``{code, field, message}`` structs) to rows of ``table`` (the validator's output), which then become
rejects with those reasons. ``raw_table(_seq, payload)`` holds the original texts; a check may
redact a payload there (the rejects table keeps what is in ``raw_table``). Used by suppression (governance) and feature schemas (quality)."""
