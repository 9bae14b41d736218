"""Keras candidates: the seed's bag-of-embeddings network and how it is trained.

TensorFlow is imported inside the functions: it costs seconds and most of a GiB, and loading the
Dagster code location must not pay for it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from sentiment_assets.dataset import PaddedDataset

if TYPE_CHECKING:
    import keras


@dataclass(frozen=True)
class KerasCandidate:
    """One point of the seed's grid: embedding width and batch size."""

    name: str
    embedding_dim: int
    batch_size: int


SEED_CANDIDATES = (
    KerasCandidate("embedding-32", embedding_dim=32, batch_size=32),
    KerasCandidate("embedding-64", embedding_dim=64, batch_size=64),
    KerasCandidate("embedding-128", embedding_dim=128, batch_size=128),
)


@dataclass
class TrainedModel:
    model: keras.Model
    history: dict[str, list[float]] = field(default_factory=dict)
    epochs_trained: int = 0
    best_epoch: int = 0
    seconds: float = 0.0


def build_seed_model(vocabulary_size: int, embedding_dim: int, sequence_length: int) -> keras.Model:
    """Embedding -> GlobalAveragePooling1D -> Dense(6, relu) -> Dense(1, sigmoid), as in the seed."""
    import keras

    model = keras.Sequential(
        [
            keras.Input(shape=(sequence_length,), dtype="int32"),
            keras.layers.Embedding(vocabulary_size, embedding_dim),
            keras.layers.GlobalAveragePooling1D(),
            keras.layers.Dense(6, activation="relu"),
            keras.layers.Dense(1, activation="sigmoid"),
        ]
    )
    # Many small batches per call into TensorFlow: the same updates, half the wall time here,
    # because a model this small is bound by per-step overhead, not arithmetic.
    model.compile(
        optimizer="adam",
        loss="binary_crossentropy",
        metrics=["accuracy"],
        steps_per_execution=256,
    )
    return model


def train_seed_model(
    dataset: PaddedDataset,
    candidate: KerasCandidate,
    *,
    epochs: int = 50,
    patience: int = 2,
    seed: int = 42,
    callbacks: list[Any] | None = None,
) -> TrainedModel:
    """Fit on the training split with early stopping on validation loss; the test split is not seen.

    The weights of the best validation epoch are restored, so a late bad epoch cannot leak in.
    """
    import keras

    keras.utils.set_random_seed(seed)
    model = build_seed_model(
        dataset.vocabulary.size, candidate.embedding_dim, dataset.sequence_length
    )
    x_train, y_train = dataset.split("train")
    x_val, y_val = dataset.split("validation")
    stop = keras.callbacks.EarlyStopping(
        monitor="val_loss", patience=patience, restore_best_weights=True
    )
    started = time.perf_counter()
    history = model.fit(
        x_train,
        y_train,
        validation_data=(x_val, y_val),
        epochs=epochs,
        batch_size=candidate.batch_size,
        callbacks=[stop, *(callbacks or [])],
        verbose=0,
    )
    losses = history.history["val_loss"]
    return TrainedModel(
        model=model,
        history={k: [float(v) for v in vals] for k, vals in history.history.items()},
        epochs_trained=len(losses),
        best_epoch=int(np.argmin(losses)) + 1,
        seconds=time.perf_counter() - started,
    )
