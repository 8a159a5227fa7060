"""Thin adapters over the library: CLI, MCP server, HTTP API. No business rule lives only here."""
