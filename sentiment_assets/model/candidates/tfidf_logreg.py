"""The TF-IDF challenger: a logistic regression on word and character n-grams of title and text.

The title is the strongest single signal in this data ("Disappointed", "Love it!"), and the seed
threw both it and every "not" away; this family reads the title and keeps negations.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from ..dataset import PaddedDataset
from ..stems import normalized_inputs
from .base import EpochHook, FitReport, split_inputs


@dataclass
class TfidfLogReg:
    """Logistic regression on TF-IDF word n-grams of title and text and character n-grams of both."""

    family: ClassVar[str] = "tfidf-logreg"
    requirements: ClassVar[tuple[str, ...]] = ("scikit-learn", "scipy")
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

        from .char_ngrams import WordwiseCharTfidf

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
        titles, texts, labels = split_inputs(dataset, "train")
        self.pipeline = make_pipeline(features, classifier).fit(self._frame(titles, texts), labels)
        return FitReport()

    def predict_proba(self, texts: Sequence[str], titles: Sequence[str | None]) -> np.ndarray:
        frame = self._frame(*normalized_inputs(texts, titles))
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

        from .char_ngrams import WordwiseCharTfidf

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
