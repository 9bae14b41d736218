"""MLflow models-from-code entry point: loading a logged model runs this file instead of unpickling."""

import mlflow

from sentiment_assets.serving import SentimentModel

mlflow.models.set_model(SentimentModel())
