"""The seed's network, kept unchanged for comparison: it reads the stems of the review text only."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from ..dataset import PaddedDataset, Vocabulary, pad
from ..stems import stem_corpus
from .base import (
    EpochHook,
    FitReport,
    KerasTraining,
    compile_binary,
    fit_keras,
    refit_keras,
    with_validation_in_train,
)


@dataclass
class SeedKeras:
    """The seed's network: Embedding -> GlobalAveragePooling1D -> Dense(6, relu) -> Dense(1, sigmoid),
    on the stems of the review text (no title, negations dropped with the other stopwords)."""

    family: ClassVar[str] = "seed-keras"
    requirements: ClassVar[tuple[str, ...]] = ("tensorflow", "keras", "nltk")
    # Kept as the seed trained it, on the training split, for comparison; it never takes production.
    refits: ClassVar[bool] = False
    name: str
    embedding_dim: int = 32  # the seed's first: embedding-32 (SEED_CANDIDATES)
    batch_size: int = 32
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
        compile_binary(model)
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

    def refit(self, dataset: PaddedDataset, report: FitReport) -> None:
        """The network trained again on train+validation for the best epoch count; the vocabulary
        stays the dataset's, which is the training split's."""
        import keras

        keras.utils.set_random_seed(self.training.seed)
        self.model = self.build(dataset.vocabulary.size, dataset.sequence_length)
        x, y = with_validation_in_train(dataset).split("train")
        refit_keras(self.model, x, y, batch_size=self.batch_size, epochs=report.best_epoch)

    def predict_proba(self, texts: Sequence[str], titles: Sequence[str | None]) -> np.ndarray:
        x = pad(self.vocabulary.encode(stem_corpus(texts)), self.sequence_length)
        # 256 reviews a call: at 1,024 TensorFlow kept 0.06 GiB more after scoring (embedding-128).
        return self.model.predict(x, batch_size=256, verbose=0).ravel().astype(float)

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
        # Without its optimizer: scoring needs none, and the file records the class that trained
        # it (`FusedAdam`), which a process that only scores has no reason to import.
        return cls(
            name=config["name"],
            embedding_dim=config["embedding_dim"],
            batch_size=config["batch_size"],
            training=KerasTraining(**config["training"]),
            vocabulary=Vocabulary(tuple(config["words"])),
            sequence_length=config["sequence_length"],
            model=keras.saving.load_model(folder / "model.keras", compile=False),
        )


SEED_CANDIDATES = (
    ("embedding-32", 32, 32),
    ("embedding-64", 64, 64),
    ("embedding-128", 128, 128),
)
