"""The platform around the assets: resources, storage, concurrency, alerts, metadata rendering."""
