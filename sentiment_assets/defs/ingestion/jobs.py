import dagster as dg

# Per drop: read and stem only that file, then score it with the production model in the same
# run. The retraining sensor waits while any run is in flight, and the scoring step is in the MLflow
# pool, so no queued retraining starts before the drop's live quality is recorded.
ingest_drop = dg.define_asset_job(
    "ingest_drop",
    selection=dg.AssetSelection.assets(
        "raw_reviews", "stemmed_corpus", "drop_predictions", "live_quality"
    ),
    description="Read, validate and stem one review drop (one partition), and score it with the "
    "production model before any retraining learns from it.",
)
