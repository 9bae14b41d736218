"""Ingestion: a CSV drop lands, becomes a partition, and is read, validated and stemmed."""
