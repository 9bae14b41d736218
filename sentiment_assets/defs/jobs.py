import dagster as dg

from sentiment_assets.defs.data_assets import padded_dataset, raw_reviews, stemmed_corpus
from sentiment_assets.defs.model_assets import production_model, trained_models

# Per drop: read and stem only that file.
ingest_drop = dg.define_asset_job(
    "ingest_drop",
    selection=dg.AssetSelection.assets(raw_reviews, stemmed_corpus),
    description="Read, validate and stem one review drop (one partition).",
)

# Across drops: rebuild the dataset, train the candidates, decide on production.
train_and_promote = dg.define_asset_job(
    "train_and_promote",
    selection=dg.AssetSelection.assets(padded_dataset, trained_models, production_model),
    description="Dataset from every stemmed drop, candidate models, production decision.",
)
