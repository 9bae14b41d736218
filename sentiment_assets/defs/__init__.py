"""Dagster definitions by domain: ingestion, training, platform. Loaded by `definitions.py`."""
