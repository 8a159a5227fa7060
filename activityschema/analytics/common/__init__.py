"""Pieces every product-analytics insight shares: event filters, durations, request parsing, results."""
