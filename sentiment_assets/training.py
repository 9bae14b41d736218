"""One candidate, end to end, inside an active MLflow run: train, evaluate, log, register."""

from __future__ import annotations

from typing import Any

import mlflow

from sentiment_assets.dataset import PaddedDataset
from sentiment_assets.evaluation import classification_metrics, is_constant
from sentiment_assets.models import KerasCandidate, train_seed_model
from sentiment_assets.serving import log_keras_model


def _epoch_logger() -> Any:
    import keras

    class MlflowEpochLogger(keras.callbacks.Callback):
        """Per-epoch loss and accuracy, so the MLflow UI draws the training curves."""

        def on_epoch_end(self, epoch: int, logs: dict[str, float] | None = None) -> None:
            mlflow.log_metrics({k: float(v) for k, v in (logs or {}).items()}, step=epoch)

    return MlflowEpochLogger()


def evaluate(model: Any, dataset: PaddedDataset, split: str) -> dict[str, float]:
    x, y = dataset.split(split)
    probabilities = model.predict(x, batch_size=1024, verbose=0).ravel()
    metrics = classification_metrics(y, probabilities)
    metrics["constant_output"] = float(is_constant(probabilities))
    return metrics


def train_keras_candidate(
    dataset: PaddedDataset,
    candidate: KerasCandidate,
    *,
    registered_model_name: str,
    epochs: int,
    patience: int,
    seed: int,
) -> dict[str, Any]:
    """Train one seed-style candidate and log params, curves, metrics and the bundled model."""
    mlflow.log_params(
        {
            "candidate": candidate.name,
            "embedding_dim": candidate.embedding_dim,
            "batch_size": candidate.batch_size,
            "max_epochs": epochs,
            "patience": patience,
            "seed": seed,
            "vocabulary_size": dataset.vocabulary.size,
            "sequence_length": dataset.sequence_length,
            "keep_negations": False,
            "uses_title": False,
        }
    )
    trained = train_seed_model(
        dataset, candidate, epochs=epochs, patience=patience, seed=seed, callbacks=[_epoch_logger()]
    )
    scores = {split: evaluate(trained.model, dataset, split) for split in ("validation", "test")}
    for split, metrics in scores.items():
        mlflow.log_metrics({f"{split}_{k}": v for k, v in metrics.items()})
    mlflow.log_metrics(
        {
            "epochs_trained": trained.epochs_trained,
            "best_epoch": trained.best_epoch,
            "training_seconds": trained.seconds,
        }
    )
    info = log_keras_model(
        trained.model,
        dataset.vocabulary,
        dataset.sequence_length,
        name=candidate.name,
        registered_model_name=registered_model_name,
    )
    return {
        "candidate": candidate.name,
        "run_id": mlflow.active_run().info.run_id,
        "model_uri": info.model_uri,
        "version": str(info.registered_model_version),
        "validation": scores["validation"],
        "test": scores["test"],
        "epochs_trained": trained.epochs_trained,
        "training_seconds": trained.seconds,
        "history": trained.history,
    }
