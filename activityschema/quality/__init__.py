"""Data quality: the activity catalog, feature schemas, drift and volume-anomaly detection, typed views.

The spec's Data Quality practices — validate on ingestion, monitor for anomalies, track schema
evolution, document all activities — as library functions; the CLI (``catalog``, ``quality``) and
the MCP server only call these. See docs/quality.md.
"""
