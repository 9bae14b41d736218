"""Every asset's key, named once, in the order the data flows. The assets take their keys from
their function names (score_drop from its outputs' names); code that looks an asset up by its key
(sensors, checks, the I/O manager, sentiment-run) imports it from here, and a test holds these
names to the definitions."""

import dagster as dg

RAW_REVIEWS = dg.AssetKey("raw_reviews")
STEMMED_CORPUS = dg.AssetKey("stemmed_corpus")
DROP_PREDICTIONS = dg.AssetKey("drop_predictions")
LIVE_QUALITY = dg.AssetKey("live_quality")
PADDED_DATASET = dg.AssetKey("padded_dataset")
TRAINED_MODELS = dg.AssetKey("trained_models")
PRODUCTION_MODEL = dg.AssetKey("production_model")
