"""The logged model: raw review text (and an optional title) in, probability and label out.

The candidate's own code scores the text, from the package copied into the model artifact, so
`mlflow models serve`, `sentiment-predict` and the evaluation cannot drift apart.
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

from sentiment_assets.candidates import load_candidate
from sentiment_assets.models import Candidate

TEXT_COLUMN = "review_text"
TITLE_COLUMN = "title"
SIGNATURE = ModelSignature(
    inputs=Schema(
        [ColSpec("string", TEXT_COLUMN), ColSpec("string", TITLE_COLUMN, required=False)]
    ),
    outputs=Schema([ColSpec("double", "probability"), ColSpec("long", "label")]),
)
# Pinned explicitly: letting MLflow infer requirements costs 5-7 s per model in a subprocess.
_REQUIREMENTS = (
    "mlflow",
    "tensorflow",
    "keras",
    "nltk",
    "numpy",
    "pandas",
    "scikit-learn",
)


class SentimentModel(mlflow.pyfunc.PythonModel):
    """Any candidate family behind one signature, with its tuned decision threshold.

    Input is a frame with `review_text` and optionally `title` (MLflow enforces the signature).
    """

    def load_context(self, context: mlflow.pyfunc.PythonModelContext) -> None:
        folder = Path(context.artifacts["candidate"])
        serving = json.loads((folder / "serving.json").read_text())
        self.candidate = load_candidate(serving["family"], folder)
        self.threshold = float(serving["threshold"])

    def predict(
        self, context: Any, model_input: pd.DataFrame, params: dict[str, Any] | None = None
    ) -> pd.DataFrame:
        texts = model_input[TEXT_COLUMN].tolist()
        titles = (
            model_input[TITLE_COLUMN].tolist()
            if TITLE_COLUMN in model_input
            else [None] * len(texts)
        )
        probabilities = self.candidate.predict_proba(texts, titles)
        labels = (probabilities >= self.threshold).astype(np.int64)
        return pd.DataFrame({"probability": probabilities, "label": labels})


def pip_requirements() -> list[str]:
    return [f"{name}=={metadata.version(name)}" for name in _REQUIREMENTS]


def log_candidate(
    candidate: Candidate, threshold: float, *, registered_model_name: str
) -> mlflow.models.model.ModelInfo:
    """Log a trained candidate with its threshold into the active MLflow run and register it."""
    import sentiment_assets

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "candidate"
        folder.mkdir()
        candidate.save(folder)
        serving = {"family": candidate.family, "threshold": threshold}
        (folder / "serving.json").write_text(json.dumps(serving))
        return mlflow.pyfunc.log_model(
            name=candidate.name,
            python_model=str(Path(__file__).with_name("serving_model.py")),
            artifacts={"candidate": str(folder)},
            signature=SIGNATURE,
            pip_requirements=pip_requirements(),
            code_paths=[str(Path(sentiment_assets.__file__).parent)],
            registered_model_name=registered_model_name,
        )
