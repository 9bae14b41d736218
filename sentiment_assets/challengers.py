"""Challengers to the seed: they read the title too, keep negations, and use word n-grams.

The title is the strongest single signal in this data ("Disappointed", "Love it!"), and the seed
threw both it and every "not" away.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from sentiment_assets.dataset import PaddedDataset
from sentiment_assets.models import EpochHook, FitReport, KerasTraining, _compile, fit_keras
from sentiment_assets.preprocessing import normalize_text


def _inputs(texts: Sequence[str], titles: Sequence[str | None]) -> tuple[list[str], list[str]]:
    return [normalize_text(t) for t in titles], [normalize_text(t) for t in texts]


def _split_inputs(dataset: PaddedDataset, split: str) -> tuple[list[str], list[str], np.ndarray]:
    reviews = dataset.split_reviews(split)
    titles, texts = _inputs(reviews["text"], reviews["title"])
    return titles, texts, reviews["label"].to_numpy(dtype=np.int32)


@dataclass
class TfidfLogReg:
    """Logistic regression on TF-IDF word n-grams of title and text and character n-grams of both."""

    family: ClassVar[str] = "tfidf-logreg"
    name: str
    c: float = 2.0
    word_ngrams: int = 3
    char_ngrams: tuple[int, int] = (2, 5)
    pipeline: Any = None

    def params(self) -> dict[str, Any]:
        return {
            "c": self.c,
            "class_weight": "balanced",
            "ngrams": self.word_ngrams,
            "word_ngrams": self.word_ngrams,
            "char_ngrams": f"{self.char_ngrams[0]}-{self.char_ngrams[1]}",
            "text_input": "normalized words",
            "keep_negations": True,
            "uses_title": True,
        }

    def _frame(self, titles: list[str], texts: list[str]) -> pd.DataFrame:
        both = [f"{title} . {text}" for title, text in zip(titles, texts, strict=True)]
        return pd.DataFrame({"title": titles, "text": texts, "both": both})

    def fit(self, dataset: PaddedDataset, on_epoch: EpochHook | None = None) -> FitReport:
        from sklearn.compose import ColumnTransformer
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline

        from sentiment_assets.char_ngrams import WordwiseCharTfidf

        def words(ngrams: int, min_df: int) -> TfidfVectorizer:
            return TfidfVectorizer(ngram_range=(1, ngrams), min_df=min_df, sublinear_tf=True)

        features = ColumnTransformer(
            [
                ("title_words", words(2, 1), "title"),
                ("text_words", words(self.word_ngrams, 2), "text"),
                (
                    "chars",
                    WordwiseCharTfidf(ngram_range=self.char_ngrams, min_df=3, sublinear_tf=True),
                    "both",
                ),
            ]
        )
        classifier = LogisticRegression(C=self.c, max_iter=3000, class_weight="balanced")
        titles, texts, labels = _split_inputs(dataset, "train")
        self.pipeline = make_pipeline(features, classifier).fit(self._frame(titles, texts), labels)
        return FitReport()

    def predict_proba(self, texts: Sequence[str], titles: Sequence[str | None]) -> np.ndarray:
        frame = self._frame(*_inputs(texts, titles))
        return self.pipeline.predict_proba(frame)[:, 1].astype(float)

    def save(self, folder: Path) -> None:
        """Vocabularies and IDF weights as JSON and npy, coefficients as npy: no pickle, and a
        fraction of the size and time of serialising the scikit-learn objects."""
        features, classifier = self.pipeline[0], self.pipeline[-1]
        parts = []
        for name, vectorizer, column in features.transformers_:
            vocabulary = sorted(vectorizer.vocabulary_, key=vectorizer.vocabulary_.__getitem__)
            (folder / f"{name}.vocabulary.json").write_text(json.dumps(vocabulary))
            np.save(folder / f"{name}.idf.npy", vectorizer.idf_, allow_pickle=False)
            settings = {k: vectorizer.get_params()[k] for k in _VECTORIZER_SETTINGS}
            parts.append(
                {"name": name, "column": column, "analyzer": vectorizer.analyzer, **settings}
            )
        np.save(folder / "coef.npy", classifier.coef_.ravel(), allow_pickle=False)
        config = {
            "name": self.name,
            "c": self.c,
            "word_ngrams": self.word_ngrams,
            "char_ngrams": list(self.char_ngrams),
            "intercept": float(classifier.intercept_[0]),
            "features": parts,
        }
        (folder / "config.json").write_text(json.dumps(config))

    @classmethod
    def load(cls, folder: Path) -> TfidfLogReg:
        config = json.loads((folder / "config.json").read_text())
        return cls(
            name=config["name"],
            c=config["c"],
            word_ngrams=config["word_ngrams"],
            char_ngrams=tuple(config["char_ngrams"]),
            pipeline=_LoadedLinearModel.load(folder, config),
        )


_VECTORIZER_SETTINGS = ("ngram_range", "sublinear_tf")


@dataclass
class _LoadedLinearModel:
    """The fitted TF-IDF features and logistic regression, rebuilt from their saved arrays."""

    parts: list[tuple[str, Any]]
    coef: np.ndarray
    intercept: float

    @classmethod
    def load(cls, folder: Path, config: dict[str, Any]) -> _LoadedLinearModel:
        from sklearn.feature_extraction.text import TfidfVectorizer

        from sentiment_assets.char_ngrams import WordwiseCharTfidf

        parts = []
        for part in config["features"]:
            name = part["name"]
            settings = {k: part[k] for k in _VECTORIZER_SETTINGS}
            settings["ngram_range"] = tuple(settings["ngram_range"])
            vocabulary = json.loads((folder / f"{name}.vocabulary.json").read_text())
            idf = np.load(folder / f"{name}.idf.npy", allow_pickle=False)
            if part["analyzer"] == WordwiseCharTfidf.analyzer:
                vectorizer = WordwiseCharTfidf.fitted(vocabulary, idf, **settings)
            else:
                vectorizer = TfidfVectorizer(vocabulary=vocabulary, **settings)
                vectorizer.idf_ = idf
            parts.append((part["column"], vectorizer))
        return cls(parts, np.load(folder / "coef.npy", allow_pickle=False), config["intercept"])

    def predict_proba(self, frame: pd.DataFrame) -> np.ndarray:
        from scipy.sparse import hstack

        x = hstack([vectorizer.transform(frame[column]) for column, vectorizer in self.parts])
        positive = 1 / (1 + np.exp(-(x @ self.coef + self.intercept)))
        return np.column_stack([1 - positive, positive])


def ngram_vocabulary(
    docs: Sequence[str], ngrams: int, max_tokens: int, min_df: int = 2
) -> tuple[list[str], list[float]]:
    """The most common word n-grams by document frequency, and their IDF as Keras computes it.

    Fitted here instead of `TextVectorization.adapt`, which takes ten seconds on this data.
    """
    frequency: Counter[str] = Counter()
    for doc in docs:
        words = doc.split()
        grams = {
            " ".join(words[i : i + n])
            for n in range(1, ngrams + 1)
            for i in range(len(words) - n + 1)
        }
        frequency.update(grams)
    ranked = sorted(
        ((g, c) for g, c in frequency.items() if c >= min_df), key=lambda item: (-item[1], item[0])
    )[: max_tokens - 1]
    idf = [math.log(1 + len(docs) / (1 + count)) for _, count in ranked]
    return [g for g, _ in ranked], idf


@dataclass
class NgramMlp:
    """A Keras network on TF-IDF word n-grams of title and text, with dropout; the n-gram
    vectorization is a layer of the model, so the saved Keras file takes normalized strings."""

    family: ClassVar[str] = "ngram-mlp"
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

    def _vectorizer(self, docs: list[str], max_tokens: int) -> Any:
        import keras

        vocabulary, idf = ngram_vocabulary(docs, self.ngrams, max_tokens)
        return keras.layers.TextVectorization(
            standardize=None,
            ngrams=self.ngrams,
            output_mode="tf_idf",
            vocabulary=vocabulary,
            idf_weights=idf,
        )

    def fit(self, dataset: PaddedDataset, on_epoch: EpochHook | None = None) -> FitReport:
        import keras

        from sentiment_assets.sparse_features import SparseDropout, sparse_outputs

        keras.utils.set_random_seed(self.training.seed)
        titles, texts, labels = _split_inputs(dataset, "train")
        title_in = keras.Input(shape=(), dtype="string", name="title")
        text_in = keras.Input(shape=(), dtype="string", name="review_text")
        vectorize = keras.Model(
            [title_in, text_in],
            keras.layers.Concatenate()(
                [
                    self._vectorizer(titles, self.title_tokens)(title_in),
                    self._vectorizer(texts, self.text_tokens)(text_in),
                ]
            ),
        )
        hidden = keras.layers.Dense(self.units, activation="relu")
        output = keras.layers.Dense(1, activation="sigmoid")

        # Trained on the features computed once and kept sparse (see sparse_features) ...
        features = keras.Input(shape=vectorize.output.shape[1:], sparse=True)
        dropped = keras.layers.Dropout(self.dropout)(hidden(SparseDropout(self.dropout)(features)))
        head = keras.Model(features, output(dropped))
        _compile(head)
        val_titles, val_texts, val_labels = _split_inputs(dataset, "validation")
        report = fit_keras(
            head,
            sparse_outputs(vectorize, _strings(titles, texts)),
            labels,
            (sparse_outputs(vectorize, _strings(val_titles, val_texts)), val_labels),
            batch_size=self.batch_size,
            training=self.training,
            on_epoch=on_epoch,
        )
        # ... and kept as one model from strings to a probability, with the same layers (dropout
        # does nothing at inference), so the saved file needs no custom layer to load.
        self.model = keras.Model([title_in, text_in], output(hidden(vectorize.output)))
        return report

    def predict_proba(self, texts: Sequence[str], titles: Sequence[str | None]) -> np.ndarray:
        titles_, texts_ = _inputs(texts, titles)
        x = _strings(titles_, texts_)
        return self.model.predict(x, batch_size=1024, verbose=0).ravel().astype(float)

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


def _strings(titles: list[str], texts: list[str]) -> list[np.ndarray]:
    # Keras 3 string inputs must be 1-D object arrays.
    return [np.asarray(titles, dtype=object), np.asarray(texts, dtype=object)]
