"""One candidate, end to end, inside an active MLflow run: train, tune, evaluate, log, register."""

from __future__ import annotations

import time
from typing import Any

import mlflow
import numpy as np

from sentiment_assets.dataset import PaddedDataset
from sentiment_assets.evaluation import classification_metrics, tune_threshold
from sentiment_assets.models import Candidate
from sentiment_assets.plots import training_curves_png
from sentiment_assets.serving import log_candidate


def _png(data: bytes) -> Any:
    from io import BytesIO

    from PIL import Image

    return Image.open(BytesIO(data))


def _log_epoch(epoch: int, logs: dict[str, float] | None = None) -> None:
    mlflow.log_metrics({k: float(v) for k, v in (logs or {}).items()}, step=epoch)


def score_split(
    candidate: Candidate, dataset: PaddedDataset, split: str
) -> tuple[np.ndarray, np.ndarray]:
    """Probabilities for a split's raw reviews, through the same code that serves them."""
    reviews = dataset.split_reviews(split)
    probabilities = candidate.predict_proba(reviews["text"].tolist(), reviews["title"].tolist())
    return reviews["label"].to_numpy(dtype=int), probabilities


def train_candidate(
    dataset: PaddedDataset, candidate: Candidate, *, registered_model_name: str
) -> dict[str, Any]:
    """Fit one candidate, tune its threshold on validation, score validation and test, log it all."""
    mlflow.log_params(
        {"candidate": candidate.name, "family": candidate.family, **candidate.params()}
    )
    started = time.perf_counter()
    report = candidate.fit(dataset, on_epoch=_log_epoch)
    seconds = time.perf_counter() - started

    scored = {split: score_split(candidate, dataset, split) for split in ("validation", "test")}
    threshold = tune_threshold(*scored["validation"])
    scores = {}
    for split, (labels, probabilities) in scored.items():
        metrics = classification_metrics(labels, probabilities, threshold)
        scores[split] = metrics
        mlflow.log_metrics({f"{split}_{k}": v for k, v in metrics.items()})
    mlflow.log_metrics(
        {
            "threshold": threshold,
            "epochs_trained": report.epochs_trained,
            "best_epoch": report.best_epoch,
            "training_seconds": seconds,
        }
    )
    if report.history.get("val_loss"):
        curves = training_curves_png(report.history, f"{candidate.name}: training curves")
        mlflow.log_image(_png(curves), "training_curves.png")
    info = log_candidate(candidate, threshold, registered_model_name=registered_model_name)
    return {
        "candidate": candidate.name,
        "family": candidate.family,
        "run_id": mlflow.active_run().info.run_id,
        "model_uri": info.model_uri,
        "version": str(info.registered_model_version),
        "threshold": threshold,
        "validation": scores["validation"],
        "test": scores["test"],
        "epochs_trained": report.epochs_trained,
        "training_seconds": seconds,
        "history": report.history,
    }
