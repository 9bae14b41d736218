import dagster as dg

from sentiment_assets.defs.asset_keys import (
    DROP_PREDICTIONS,
    LIVE_QUALITY,
    RAW_REVIEWS,
    STEMMED_CORPUS,
)

# Per drop: read and stem only that file, then score it with the production model in the same
# run. The retraining sensor waits while any run is in flight, and the scoring step is in the MLflow
# pool, so no queued retraining starts before the drop's live quality is recorded.
ingest_drop = dg.define_asset_job(
    "ingest_drop",
    selection=dg.AssetSelection.assets(RAW_REVIEWS, STEMMED_CORPUS, DROP_PREDICTIONS, LIVE_QUALITY),
    description="Read, validate and stem one review drop (one partition), and score it with the "
    "production model before any retraining learns from it.",
)
