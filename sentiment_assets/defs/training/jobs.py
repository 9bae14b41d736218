import dagster as dg

# The training job's assets, upstream first (`sentiment-run` materializes those stale among them).
TRAINING_ASSETS = ("padded_dataset", "trained_models", "production_model")

# Across drops: rebuild the dataset, train the candidates, decide on production.
train_and_promote = dg.define_asset_job(
    "train_and_promote",
    selection=dg.AssetSelection.assets(*TRAINING_ASSETS),
    description="Dataset from every stemmed drop, candidate models, production decision.",
)
