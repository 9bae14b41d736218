"""The n-gram network challenger: a small Keras network on TF-IDF word n-grams of title and text.

The n-gram vectorization is a layer of the model, so the saved Keras file takes normalized strings.
"""

from __future__ import annotations

import json
import math
from array import array
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from ..dataset import PaddedDataset
from ..stems import normalized_inputs
from .base import (
    EpochHook,
    FitReport,
    KerasTraining,
    compile_binary,
    fit_keras,
    refit_keras,
    split_inputs,
    string_inputs,
    with_validation_in_train,
)

# Titles and texts in, the model's TF-IDF features out (scipy CSR).
Features = Callable[[list[str], list[str]], Any]


def word_ngrams(doc: str, ngrams: int) -> Iterator[str]:
    """The doc's word 1- to `ngrams`-grams, one per occurrence, as `TextVectorization` forms them
    from normalized text (split on whitespace, joined with a space)."""
    words = doc.split()
    for n in range(1, ngrams + 1):
        for i in range(len(words) - n + 1):
            yield " ".join(words[i : i + n])


def ngram_vocabulary(
    docs: Sequence[str], ngrams: int, max_tokens: int, min_df: int = 2
) -> tuple[list[str], list[float]]:
    """The most common word n-grams by document frequency, and their IDF as Keras computes it.

    Fitted here instead of `TextVectorization.adapt`, which takes ten seconds on this data.
    """
    frequency: Counter[str] = Counter()
    for doc in docs:
        frequency.update(set(word_ngrams(doc, ngrams)))
    ranked = sorted(
        ((g, c) for g, c in frequency.items() if c >= min_df), key=lambda item: (-item[1], item[0])
    )[: max_tokens - 1]
    idf = [math.log(1 + len(docs) / (1 + count)) for _, count in ranked]
    return [g for g, _ in ranked], idf


def ngram_tfidf(
    docs: Sequence[str], vocabulary: Sequence[str], idf: list[float], ngrams: int
) -> Any:
    """What `TextVectorization(output_mode="tf_idf", ngrams=ngrams)` with this vocabulary and IDF
    outputs for the docs, as a scipy CSR matrix (float32), without TensorFlow.

    Column 0 counts the n-grams outside the vocabulary, weighted by the mean IDF as Keras weights
    them; column i the count of the vocabulary's (i - 1)th n-gram times its IDF. The products are
    float32, as in the layer, so the values are the layer's to the bit (a test compares them).
    Running the layers a batch at a time took three to four times as long (README, "Candidates
    and MLflow").
    """
    import scipy.sparse

    if not vocabulary:
        raise ValueError("no vocabulary to count: the layer refuses an empty one as well")
    index = {gram: i for i, gram in enumerate(vocabulary, start=1)}
    # Python floats (`ngram_vocabulary`'s), averaged in float64 as Keras averages them.
    weights = np.asarray(idf, dtype=np.float64)
    weights = np.concatenate([[np.average(weights)], weights])
    # One column per n-gram found, as C ints: ~100 a review, a million for the real drops.
    indptr, columns = [0], array("i")
    for doc in docs:
        columns.extend(index.get(gram, 0) for gram in word_ngrams(doc, ngrams))
        indptr.append(len(columns))
    counts = scipy.sparse.csr_matrix(
        (np.ones(len(columns), dtype=np.float32), np.frombuffer(columns, dtype=np.intc), indptr),
        shape=(len(docs), len(vocabulary) + 1),
    )
    counts.sum_duplicates()  # one entry per n-gram and review, holding its count
    counts.data *= weights.astype(np.float32)[counts.indices]
    return counts


@dataclass
class NgramMlp:
    """A Keras network on TF-IDF word n-grams of title and text, with dropout; the n-gram
    vectorization is a layer of the model, so the saved Keras file takes normalized strings."""

    family: ClassVar[str] = "ngram-mlp"
    requirements: ClassVar[tuple[str, ...]] = ("tensorflow", "keras")
    # Never refitted by default: it has not won the validation comparison on the real drops, and
    # its refit would add ~10 s to trained_models.
    refits: ClassVar[bool] = False
    name: str
    ngrams: int = 2
    text_tokens: int = 10_000
    title_tokens: int = 3_000
    units: int = 64
    dropout: float = 0.5
    batch_size: int = 128
    training: KerasTraining = field(default_factory=KerasTraining)
    model: Any = None

    def params(self) -> dict[str, Any]:
        return {
            "ngrams": self.ngrams,
            "text_tokens": self.text_tokens,
            "title_tokens": self.title_tokens,
            "units": self.units,
            "dropout": self.dropout,
            "batch_size": self.batch_size,
            **asdict(self.training),
            "text_input": "normalized words",
            "keep_negations": True,
            "uses_title": True,
        }

    def _vectorizer(self, vocabulary: list[str], idf: list[float]) -> Any:
        import keras

        return keras.layers.TextVectorization(
            standardize=None,
            ngrams=self.ngrams,
            output_mode="tf_idf",
            vocabulary=vocabulary,
            idf_weights=idf,
        )

    def _batches(self, x: Any, labels: np.ndarray, *, shuffle: bool) -> Any:
        from .sparse_features import sparse_batches

        return sparse_batches(
            x, labels, batch_size=self.batch_size, seed=self.training.seed, shuffle=shuffle
        )

    def fit(self, dataset: PaddedDataset, on_epoch: EpochHook | None = None) -> FitReport:
        val_titles, val_texts, val_labels = split_inputs(dataset, "validation")

        def train(head: Any, features: Features, x: Any, labels: np.ndarray) -> FitReport:
            validation = features(val_titles, val_texts)
            return fit_keras(
                head,
                self._batches(x, labels, shuffle=True),
                None,
                self._batches(validation, val_labels, shuffle=False),
                batch_size=None,
                training=self.training,
                on_epoch=on_epoch,
            )

        return self._train(dataset, train)

    def refit(self, dataset: PaddedDataset, report: FitReport) -> None:
        """Vocabularies and network fitted again on train+validation, for the best epoch count."""

        def train(head: Any, features: Features, x: Any, labels: np.ndarray) -> FitReport:
            batches = self._batches(x, labels, shuffle=True)
            refit_keras(head, batches, None, batch_size=None, epochs=report.best_epoch)
            return report

        self._train(with_validation_in_train(dataset), train)

    def _train(
        self,
        dataset: PaddedDataset,
        train: Callable[[Any, Features, Any, np.ndarray], FitReport],
    ) -> FitReport:
        """Build the network on the train split's vocabularies and let `train` fit its head."""
        import keras
        import scipy.sparse

        from .sparse_features import SparseDropout

        keras.utils.set_random_seed(self.training.seed)
        titles, texts, labels = split_inputs(dataset, "train")
        title_ngrams = ngram_vocabulary(titles, self.ngrams, self.title_tokens)
        text_ngrams = ngram_vocabulary(texts, self.ngrams, self.text_tokens)

        def features(of_titles: list[str], of_texts: list[str]) -> Any:
            """The vectorizing layers' outputs, computed without them (see `ngram_tfidf`)."""
            return scipy.sparse.hstack(
                [
                    ngram_tfidf(of_titles, *title_ngrams, self.ngrams),
                    ngram_tfidf(of_texts, *text_ngrams, self.ngrams),
                ],
                format="csr",
            )

        title_in = keras.Input(shape=(), dtype="string", name="title")
        text_in = keras.Input(shape=(), dtype="string", name="review_text")
        vectorized = keras.layers.Concatenate()(
            [self._vectorizer(*title_ngrams)(title_in), self._vectorizer(*text_ngrams)(text_in)]
        )
        hidden = keras.layers.Dense(self.units, activation="relu")
        output = keras.layers.Dense(1, activation="sigmoid")

        # Trained on the features computed once, kept sparse and fed a batch at a time (see
        # sparse_features) ...
        sparse_in = keras.Input(shape=vectorized.shape[1:], sparse=True)
        dropped = keras.layers.Dropout(self.dropout)(hidden(SparseDropout(self.dropout)(sparse_in)))
        head = keras.Model(sparse_in, output(dropped))
        compile_binary(head)
        report = train(head, features, features(titles, texts), labels)
        # ... and kept as one model from strings to a probability, with the same layers (dropout
        # does nothing at inference), so the saved file needs no custom layer to load.
        self.model = keras.Model([title_in, text_in], output(hidden(vectorized)))
        return report

    def predict_proba(self, texts: Sequence[str], titles: Sequence[str | None]) -> np.ndarray:
        titles_, texts_ = normalized_inputs(texts, titles)
        x = string_inputs(titles_, texts_)
        # The model's TF-IDF layer is dense (rows x 13,000 float32): small batches keep it small,
        # and what TensorFlow keeps after scoring with it (at 256 reviews a call, 28 MiB more of
        # it than at 64 on the real drops' test split, in as much time).
        return self.model.predict(x, batch_size=64, verbose=0).ravel().astype(float)

    def save(self, folder: Path) -> None:
        self.model.save(folder / "model.keras")
        settings = {k: v for k, v in asdict(self).items() if k != "model"}
        (folder / "config.json").write_text(json.dumps(settings))

    @classmethod
    def load(cls, folder: Path) -> NgramMlp:
        import keras

        settings = json.loads((folder / "config.json").read_text())
        settings["training"] = KerasTraining(**settings["training"])
        return cls(**settings, model=keras.saving.load_model(folder / "model.keras"))
