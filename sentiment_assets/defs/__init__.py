"""Dagster definitions: thin wrappers around the plain modules of `sentiment_assets`."""
