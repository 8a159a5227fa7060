"""Ingestion: validation in bulk, merge into the store, import of files, the spool and loader."""
