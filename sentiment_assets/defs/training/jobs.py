import dagster as dg

# Across drops: rebuild the dataset, train the candidates, decide on production.
train_and_promote = dg.define_asset_job(
    "train_and_promote",
    selection=dg.AssetSelection.assets("padded_dataset", "trained_models", "production_model"),
    description="Dataset from every stemmed drop, candidate models, production decision.",
)
