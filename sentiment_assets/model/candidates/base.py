"""What every candidate family shares: the interface, the fit report, and Keras training.

Every family scores raw review text (and an optional title) itself, so the served model, the
evaluation and the production decision all run the same code path. TensorFlow and scikit-learn
are imported inside the functions: the Dagster code location must load without them, and a TF-IDF
model must score without TensorFlow.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, ClassVar, Protocol

import numpy as np

from ..dataset import PaddedDataset
from ..stems import Corpus, normalized_inputs

EpochHook = Callable[[int, dict[str, float]], None]


@dataclass
class FitReport:
    """What training did: per-epoch history (empty for one-shot fits), epochs run, best epoch."""

    history: dict[str, list[float]] = field(default_factory=dict)
    epochs_trained: int = 1
    best_epoch: int = 1


class Candidate(Protocol):
    family: ClassVar[str]
    # Distributions the family needs to score, besides mlflow, numpy and pandas; a logged model
    # pins exactly these, so a TF-IDF model never installs TensorFlow.
    requirements: ClassVar[tuple[str, ...]]
    # Whether the logged model is fitted again on train+validation unless the config says
    # otherwise (`refit`).
    refits: ClassVar[bool]
    name: str

    def params(self) -> dict[str, Any]: ...
    def fit(self, dataset: PaddedDataset, on_epoch: EpochHook | None = None) -> FitReport: ...
    def refit(self, dataset: PaddedDataset, report: FitReport) -> None:
        """After `fit` on the same dataset, fit the same configuration again on the train and
        validation splits together (never test): a Keras family trains a new network for the best
        epoch count of `report`, a linear family its weights with the vocabularies of its first fit
        (`FirstFit`)."""
        ...

    def predict_proba(self, texts: Sequence[str], titles: Sequence[str | None]) -> np.ndarray: ...
    def save(self, folder: Path) -> None: ...


@dataclass
class KerasTraining:
    """How a Keras candidate is fitted; the test split is never seen."""

    max_epochs: int = 50
    patience: int = 2
    seed: int = 42


def with_validation_in_train(dataset: PaddedDataset) -> PaddedDataset:
    """The dataset with its validation reviews moved into the train split, for a refit; the test
    split stays as it is, and validation is left empty."""
    reviews = dataset.reviews.copy()
    reviews[Corpus.SPLIT] = reviews[Corpus.SPLIT].replace({"validation": "train"})
    return replace(dataset, reviews=reviews)


def fit_keras(
    model: Any,
    x_train: Any,
    y_train: np.ndarray | None,
    validation: Any,
    *,
    batch_size: int | None,
    training: KerasTraining,
    on_epoch: EpochHook | None,
) -> FitReport:
    """Early stopping on validation loss with the best epoch's weights restored.

    The inputs are arrays with their labels (`validation` a pair), or datasets of batches that
    hold their labels (`y_train` and `batch_size` None, `validation` a dataset).
    """
    import keras

    callbacks: list[Any] = [
        keras.callbacks.EarlyStopping(
            monitor="val_loss", patience=training.patience, restore_best_weights=True
        )
    ]
    if on_epoch is not None:
        callbacks.append(keras.callbacks.LambdaCallback(on_epoch_end=on_epoch))
    history = model.fit(
        x_train,
        y_train,
        validation_data=validation,
        epochs=training.max_epochs,
        batch_size=batch_size,
        shuffle=y_train is not None,  # a dataset comes shuffled as it should be
        callbacks=callbacks,
        verbose=0,
    ).history
    losses = history["val_loss"]
    return FitReport(
        history={k: [float(v) for v in vals] for k, vals in history.items()},
        epochs_trained=len(losses),
        best_epoch=int(np.argmin(losses)) + 1,
    )


def refit_keras(
    model: Any, x_train: Any, y_train: np.ndarray | None, *, batch_size: int | None, epochs: int
) -> None:
    """A fixed number of epochs, without validation: the refit of an early-stopped network (the
    inputs as `fit_keras` takes them)."""
    model.fit(
        x_train,
        y_train,
        epochs=epochs,
        batch_size=batch_size,
        shuffle=y_train is not None,
        verbose=0,
    )


def compile_binary(model: Any) -> None:
    """Adam and binary cross-entropy, as the seed compiled its network."""
    from .fused_adam import FusedAdam

    # Many small batches per call into TensorFlow (the same updates, half the wall time here) and
    # Adam as one operation per variable (`FusedAdam`): models this small are bound by per-step
    # overhead, not arithmetic.
    model.compile(
        optimizer=FusedAdam(),
        loss="binary_crossentropy",
        metrics=["accuracy"],
        steps_per_execution=256,
    )


def split_inputs(dataset: PaddedDataset, split: str) -> tuple[list[str], list[str], np.ndarray]:
    """Normalized titles and texts of a split, and its labels, as the challengers read them."""
    reviews = dataset.split_reviews(split)
    titles, texts = normalized_inputs(reviews[Corpus.TEXT], reviews[Corpus.TITLE])
    return titles, texts, reviews[Corpus.LABEL].to_numpy(dtype=np.int32)


def string_inputs(titles: list[str], texts: list[str]) -> list[np.ndarray]:
    """Title and text as Keras 3 string inputs, which must be 1-D object arrays."""
    return [np.asarray(titles, dtype=object), np.asarray(texts, dtype=object)]
