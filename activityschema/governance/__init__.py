"""Governance: access control (API keys, roles, row scope), erasure and suppression, portability,
consent, retention, audit, masking, encryption.

Each module does one job and is applied at the edges (ingest checks, exports, the runner's row scope),
so no rule lives only in an interface. See docs/governance.md for the exact behaviour of each.
"""
