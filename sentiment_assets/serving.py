"""The logged model: raw review text in, probability and label out, preprocessing bundled inside.

Serving runs the same `preprocessing` and `dataset` code that built the training data, copied into
the model artifact, so `mlflow models serve` and `sentiment-predict` cannot drift from training.
"""

from __future__ import annotations

import json
import tempfile
from importlib import metadata
from pathlib import Path
from typing import Any

import mlflow.pyfunc
import numpy as np
import pandas as pd
from mlflow.models import ModelSignature
from mlflow.types import ColSpec, Schema

from sentiment_assets.dataset import Vocabulary, pad
from sentiment_assets.preprocessing import stem_corpus

TEXT_COLUMN = "review_text"
TITLE_COLUMN = "title"
SIGNATURE = ModelSignature(
    inputs=Schema(
        [ColSpec("string", TEXT_COLUMN), ColSpec("string", TITLE_COLUMN, required=False)]
    ),
    outputs=Schema([ColSpec("double", "probability"), ColSpec("long", "label")]),
)
# Pinned explicitly: letting MLflow infer requirements costs 5-7 s per model in a subprocess.
_REQUIREMENTS = ("mlflow", "tensorflow", "keras", "nltk", "numpy", "pandas", "scikit-learn")


class SentimentModel(mlflow.pyfunc.PythonModel):
    """A Keras sequence model behind the seed's preprocessing: stems, vocabulary, padding, threshold.

    Input is a frame with a `review_text` column (MLflow enforces the signature before `predict`).
    """

    def load_context(self, context: mlflow.pyfunc.PythonModelContext) -> None:
        import keras

        config = json.loads(Path(context.artifacts["preprocessing"]).read_text())
        self.vocabulary = Vocabulary(tuple(config["words"]))
        self.sequence_length = int(config["sequence_length"])
        self.keep_negations = bool(config.get("keep_negations", False))
        self.threshold = float(config.get("threshold", 0.5))
        self.model = keras.saving.load_model(context.artifacts["keras_model"])

    def predict(
        self, context: Any, model_input: pd.DataFrame, params: dict[str, Any] | None = None
    ) -> pd.DataFrame:
        texts = model_input[TEXT_COLUMN]
        stems = stem_corpus(texts, keep_negations=self.keep_negations)
        x = pad(self.vocabulary.encode(stems), self.sequence_length)
        probabilities = self.model.predict(x, batch_size=1024, verbose=0).ravel().astype(float)
        labels = (probabilities >= self.threshold).astype(np.int64)
        return pd.DataFrame({"probability": probabilities, "label": labels})


def pip_requirements() -> list[str]:
    return [f"{name}=={metadata.version(name)}" for name in _REQUIREMENTS]


def log_keras_model(
    model: Any,
    vocabulary: Vocabulary,
    sequence_length: int,
    *,
    name: str,
    registered_model_name: str,
    threshold: float = 0.5,
) -> mlflow.models.model.ModelInfo:
    """Log a Keras model with its preprocessing into the active MLflow run and register it."""
    import sentiment_assets

    with tempfile.TemporaryDirectory() as tmp:
        keras_path = Path(tmp) / "model.keras"
        model.save(keras_path)
        config_path = Path(tmp) / "preprocessing.json"
        config = {
            "words": list(vocabulary.words),
            "sequence_length": sequence_length,
            "keep_negations": False,
            "threshold": threshold,
        }
        config_path.write_text(json.dumps(config))
        return mlflow.pyfunc.log_model(
            name=name,
            python_model=str(Path(__file__).with_name("serving_model.py")),
            artifacts={"keras_model": str(keras_path), "preprocessing": str(config_path)},
            signature=SIGNATURE,
            pip_requirements=pip_requirements(),
            code_paths=[str(Path(sentiment_assets.__file__).parent)],
            registered_model_name=registered_model_name,
        )
