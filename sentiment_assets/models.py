"""Candidate models behind one interface: fit on the dataset, score raw reviews, save, load.

Every family scores raw review text (and an optional title) itself, so the served model, the
evaluation and the production decision all run the same code path. TensorFlow and scikit-learn
are imported inside the functions: the Dagster code location must load without them.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Protocol

import numpy as np

from sentiment_assets.dataset import PaddedDataset, Vocabulary, pad
from sentiment_assets.preprocessing import stem_corpus

EpochHook = Callable[[int, dict[str, float]], None]


@dataclass
class FitReport:
    """What training did: per-epoch history (empty for one-shot fits), epochs run, best epoch."""

    history: dict[str, list[float]] = field(default_factory=dict)
    epochs_trained: int = 1
    best_epoch: int = 1


class Candidate(Protocol):
    family: ClassVar[str]
    name: str

    def params(self) -> dict[str, Any]: ...
    def fit(self, dataset: PaddedDataset, on_epoch: EpochHook | None = None) -> FitReport: ...
    def predict_proba(self, texts: Sequence[str], titles: Sequence[str | None]) -> np.ndarray: ...
    def save(self, folder: Path) -> None: ...


@dataclass
class KerasTraining:
    """How a Keras candidate is fitted; the test split is never seen."""

    max_epochs: int = 50
    patience: int = 2
    seed: int = 42


def fit_keras(
    model: Any,
    x_train: Any,
    y_train: np.ndarray,
    validation: tuple[Any, np.ndarray],
    *,
    batch_size: int,
    training: KerasTraining,
    on_epoch: EpochHook | None,
) -> FitReport:
    """Early stopping on validation loss with the best epoch's weights restored."""
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
        callbacks=callbacks,
        verbose=0,
    ).history
    losses = history["val_loss"]
    return FitReport(
        history={k: [float(v) for v in vals] for k, vals in history.items()},
        epochs_trained=len(losses),
        best_epoch=int(np.argmin(losses)) + 1,
    )


def _compile(model: Any) -> None:
    # Many small batches per call into TensorFlow: the same updates, half the wall time here,
    # because models this small are bound by per-step overhead, not arithmetic.
    model.compile(
        optimizer="adam",
        loss="binary_crossentropy",
        metrics=["accuracy"],
        steps_per_execution=256,
    )


@dataclass
class SeedKeras:
    """The seed's network: Embedding -> GlobalAveragePooling1D -> Dense(6, relu) -> Dense(1, sigmoid),
    on the stems of the review text (no title, negations dropped with the other stopwords)."""

    family: ClassVar[str] = "seed-keras"
    name: str
    embedding_dim: int
    batch_size: int
    training: KerasTraining = field(default_factory=KerasTraining)
    vocabulary: Vocabulary | None = None
    sequence_length: int = 0
    model: Any = None

    def params(self) -> dict[str, Any]:
        return {
            "embedding_dim": self.embedding_dim,
            "batch_size": self.batch_size,
            **asdict(self.training),
            "text_input": "stems",
            "keep_negations": False,
            "uses_title": False,
            "ngrams": 1,
        }

    def build(self, vocabulary_size: int, sequence_length: int) -> Any:
        import keras

        model = keras.Sequential(
            [
                keras.Input(shape=(sequence_length,), dtype="int32"),
                keras.layers.Embedding(vocabulary_size, self.embedding_dim),
                keras.layers.GlobalAveragePooling1D(),
                keras.layers.Dense(6, activation="relu"),
                keras.layers.Dense(1, activation="sigmoid"),
            ]
        )
        _compile(model)
        return model

    def fit(self, dataset: PaddedDataset, on_epoch: EpochHook | None = None) -> FitReport:
        import keras

        keras.utils.set_random_seed(self.training.seed)
        self.vocabulary, self.sequence_length = dataset.vocabulary, dataset.sequence_length
        self.model = self.build(dataset.vocabulary.size, dataset.sequence_length)
        x_train, y_train = dataset.split("train")
        return fit_keras(
            self.model,
            x_train,
            y_train,
            dataset.split("validation"),
            batch_size=self.batch_size,
            training=self.training,
            on_epoch=on_epoch,
        )

    def predict_proba(self, texts: Sequence[str], titles: Sequence[str | None]) -> np.ndarray:
        x = pad(self.vocabulary.encode(stem_corpus(texts)), self.sequence_length)
        return self.model.predict(x, batch_size=1024, verbose=0).ravel().astype(float)

    def save(self, folder: Path) -> None:
        self.model.save(folder / "model.keras")
        config = {
            "name": self.name,
            "embedding_dim": self.embedding_dim,
            "batch_size": self.batch_size,
            "training": asdict(self.training),
            "words": list(self.vocabulary.words),
            "sequence_length": self.sequence_length,
        }
        (folder / "config.json").write_text(json.dumps(config))

    @classmethod
    def load(cls, folder: Path) -> SeedKeras:
        import keras

        config = json.loads((folder / "config.json").read_text())
        return cls(
            name=config["name"],
            embedding_dim=config["embedding_dim"],
            batch_size=config["batch_size"],
            training=KerasTraining(**config["training"]),
            vocabulary=Vocabulary(tuple(config["words"])),
            sequence_length=config["sequence_length"],
            model=keras.saving.load_model(folder / "model.keras"),
        )


SEED_CANDIDATES = (
    ("embedding-32", 32, 32),
    ("embedding-64", 64, 64),
    ("embedding-128", 128, 128),
)
