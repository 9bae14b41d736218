"""TF-IDF logistic regression averaged with a naive-Bayes-weighted one (NBSVM's features, Wang and
Manning 2012), both reading title and text with negated words marked.

The two err differently: TF-IDF weighs n-grams by rarity, the naive-Bayes model by how strongly each
one leans to a label, and it is sure of itself where the TF-IDF model hedges. Their average beats
either alone on validation and on the next drop (README, "Candidates and MLflow").
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from ..dataset import PaddedDataset
from ..stems import normalized_inputs
from .base import EpochHook, FitReport, split_inputs, with_validation_in_train
from .tfidf_logreg import NEGATED, TITLE, LinearTextModel, TfidfLogReg, features, text_frame

TFIDF_FOLDER, NB_FOLDER = "tfidf", "nb"


@dataclass
class TfidfNb:
    """The average probability of a TF-IDF logistic regression (`TfidfLogReg` with negation
    features) and a logistic regression on naive-Bayes-weighted binary word 1-2-grams."""

    family: ClassVar[str] = "tfidf-nb"
    requirements: ClassVar[tuple[str, ...]] = ("scikit-learn", "scipy")
    refits: ClassVar[bool] = True
    name: str
    c: float = 2.0  # the TF-IDF model's
    nb_c: float = 0.5
    negation_scope: int = 3
    tfidf: TfidfLogReg | None = None
    nb: LinearTextModel | None = None

    def params(self) -> dict[str, Any]:
        return {
            **self._tfidf_member().params(),
            "nb_c": self.nb_c,
            "nb_ngrams": "1-2 of title and text, 1-2 of the title",
            "ensemble": "mean probability",
        }

    def _tfidf_member(self) -> TfidfLogReg:
        return TfidfLogReg(self.name, c=self.c, negation_scope=self.negation_scope)

    def fit(self, dataset: PaddedDataset, on_epoch: EpochHook | None = None) -> FitReport:
        from sklearn.linear_model import LogisticRegression

        self.tfidf = self._tfidf_member()
        self.tfidf.fit(dataset)
        titles, texts, labels = split_inputs(dataset, "train")
        self.nb = fit_naive_bayes_features(
            text_frame(titles, texts, self.negation_scope),
            labels,
            LogisticRegression(C=self.nb_c, max_iter=3000),
        )
        return FitReport()

    def refit(self, dataset: PaddedDataset, report: FitReport) -> None:
        self.fit(with_validation_in_train(dataset))

    def predict_proba(self, texts: Sequence[str], titles: Sequence[str | None]) -> np.ndarray:
        frame = text_frame(*normalized_inputs(texts, titles), self.negation_scope)
        return (self.tfidf.model.predict_proba(frame) + self.nb.predict_proba(frame)) / 2

    def save(self, folder: Path) -> None:
        """Each member in a folder of its own, as JSON and npy: no pickle."""
        (folder / TFIDF_FOLDER).mkdir()
        self.tfidf.save(folder / TFIDF_FOLDER)
        (folder / NB_FOLDER).mkdir()
        config = {
            "name": self.name,
            "c": self.c,
            "nb_c": self.nb_c,
            "negation_scope": self.negation_scope,
            "nb": self.nb.save(folder / NB_FOLDER),
        }
        (folder / "config.json").write_text(json.dumps(config))

    @classmethod
    def load(cls, folder: Path) -> TfidfNb:
        config = json.loads((folder / "config.json").read_text())
        return cls(
            name=config["name"],
            c=config["c"],
            nb_c=config["nb_c"],
            negation_scope=config["negation_scope"],
            tfidf=TfidfLogReg.load(folder / TFIDF_FOLDER),
            nb=LinearTextModel.load(folder / NB_FOLDER, config["nb"]),
        )


def fit_naive_bayes_features(frame: Any, labels: np.ndarray, classifier: Any) -> LinearTextModel:
    """Binary word 1-2-grams of the negation-marked title and text and of the title alone, each
    weighted by its log-count ratio between the labels, then the classifier on them.

    The ratio takes the place of IDF in a `TfidfVectorizer` (binary counts, no normalisation), so
    the model saves and loads like any TF-IDF model.
    """
    from scipy.sparse import hstack
    from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer

    columns = {"negated_words": NEGATED, "title_words": TITLE}
    counters = {name: CountVectorizer(ngram_range=(1, 2), binary=True) for name in columns}
    counts = hstack(
        [counters[name].fit_transform(frame[column]) for name, column in columns.items()]
    ).tocsr()
    ratio = log_count_ratio(counts, labels)
    parts = []
    start = 0
    for name, column in columns.items():
        vocabulary = counters[name].vocabulary_
        weighted = TfidfVectorizer(
            vocabulary=vocabulary, ngram_range=(1, 2), binary=True, norm=None
        )
        weighted.idf_ = ratio[start : start + len(vocabulary)]
        start += len(vocabulary)
        parts.append((name, column, weighted))
    classifier.fit(features(parts, frame), labels)
    return LinearTextModel(parts, classifier.coef_.ravel(), float(classifier.intercept_[0]))


def log_count_ratio(counts: Any, labels: np.ndarray, alpha: float = 1.0) -> np.ndarray:
    """Per feature, log of its smoothed share among label-1 documents over its share among label-0
    ones: positive leans "recommended", negative "not recommended"."""
    labels = np.asarray(labels)
    positive = np.asarray(counts[labels == 1].sum(axis=0)).ravel() + alpha
    negative = np.asarray(counts[labels == 0].sum(axis=0)).ravel() + alpha
    return np.log(positive / positive.sum()) - np.log(negative / negative.sum())
