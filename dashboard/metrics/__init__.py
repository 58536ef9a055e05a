"""Prometheus metrics, read from the database at scrape time so that every process tells the same numbers."""
