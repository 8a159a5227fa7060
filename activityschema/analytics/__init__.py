"""Analytics: one package per insight, each a named template with provenance."""
