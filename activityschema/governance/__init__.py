"""Governance: access control (API keys, scopes, row scope); more rules arrive with later work."""
