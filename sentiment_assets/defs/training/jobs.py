from collections.abc import Mapping
from typing import Any

import dagster as dg

from sentiment_assets.defs.asset_keys import PADDED_DATASET, PRODUCTION_MODEL, TRAINED_MODELS

# The training job's assets, upstream first (`sentiment-run` materializes those stale among them).
TRAINING_ASSETS = (PADDED_DATASET, TRAINED_MODELS, PRODUCTION_MODEL)

# Across drops: rebuild the dataset, train the candidates, decide on production.
train_and_promote = dg.define_asset_job(
    "train_and_promote",
    selection=dg.AssetSelection.assets(*TRAINING_ASSETS),
    description="Dataset from every stemmed drop, candidate models, production decision.",
)


def training_run_config(config: Mapping[str, Any]) -> dict[str, Any]:
    """The run config of a training run with these `trained_models` settings (`TrainingConfig`)."""
    return {"ops": {"trained_models": {"config": dict(config)}}}
