"""Dagster definitions by domain: ingestion, training, monitoring, platform. Loaded by
`definitions.py`."""
