"""TF-IDF logistic regression averaged with a naive-Bayes-weighted one (NBSVM's features, Wang and
Manning 2012), both reading title and text with negated words marked.

The two err differently: TF-IDF weighs n-grams by rarity, the naive-Bayes model by how strongly each
one leans to a label, and it is sure of itself where the TF-IDF model hedges. Their average beats
either alone on validation and on the next drop (README, "Candidates and MLflow").
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from ..dataset import PaddedDataset
from ..stems import normalized_inputs
from .base import EpochHook, FitReport, split_inputs
from .linear_scoring import LinearScorer, probability
from .tfidf_logreg import (
    FIT_DTYPE,
    FirstFit,
    LinearTextModel,
    TfidfLogReg,
    fit_parts,
    fitted_coef,
    text_columns,
    validation_columns,
)

TFIDF_FOLDER, NB_FOLDER = "tfidf", "nb"


@dataclass
class TfidfNb:
    """The average probability of a TF-IDF logistic regression (`TfidfLogReg` with negation
    features) and a logistic regression on the naive-Bayes-weighted presence of the same word
    1-2-grams of the title and of the negation-marked title and text."""

    family: ClassVar[str] = "tfidf-nb"
    requirements: ClassVar[tuple[str, ...]] = ("scikit-learn", "scipy")
    refits: ClassVar[bool] = True
    name: str
    c: float = 2.0  # the TF-IDF model's
    nb_c: float = 0.5
    word_ngrams: int = 2
    negation_scope: int = 3
    tfidf: TfidfLogReg | None = None
    nb: LinearTextModel | None = None
    _first_fit: FirstFit | None = field(default=None, init=False, repr=False, compare=False)
    _nb_classifier: Any = field(default=None, init=False, repr=False, compare=False)
    _scorer: LinearScorer | None = field(default=None, init=False, repr=False, compare=False)

    def params(self) -> dict[str, Any]:
        return {
            **self._tfidf_member().params(),
            "nb_c": self.nb_c,
            "nb_features": f"presence of the {NB_PARTS} n-grams, log-count-ratio weighted",
            "ensemble": "mean probability",
        }

    def _tfidf_member(self) -> TfidfLogReg:
        return TfidfLogReg(
            self.name, c=self.c, word_ngrams=self.word_ngrams, negation_scope=self.negation_scope
        )

    def fit(self, dataset: PaddedDataset, on_epoch: EpochHook | None = None) -> FitReport:
        from sklearn.linear_model import LogisticRegression

        titles, texts, labels = split_inputs(dataset, "train")
        columns = text_columns(titles, texts, self.negation_scope)
        self.tfidf = self._tfidf_member()
        parts = self.tfidf.parts()
        # Both members read the word n-grams counted once, which halves the fitting time.
        self._first_fit = FirstFit(fit_parts(parts, columns), labels, self.tfidf.classifier())
        self._nb_classifier = LogisticRegression(C=self.nb_c, max_iter=3000)
        self._fit_members(parts, self._first_fit)
        return FitReport()

    def refit(self, dataset: PaddedDataset, report: FitReport) -> None:
        """Both members' weights (and the naive-Bayes ratios) learnt again on train+validation,
        the TF-IDF member's from zero and the naive-Bayes member's from its first fit; the n-gram
        vocabularies and IDF weights stay the training split's (see `FirstFit`)."""
        first = FirstFit.of(self._first_fit, self.name)
        parts = self.tfidf.model.parts
        # From its first solution L-BFGS took 14 iterations against 20 from zero, on the three
        # real drops (the TF-IDF member's classifier starts from zero: see `FirstFit`).
        self._nb_classifier.set_params(warm_start=True)
        self._fit_members(
            parts, first.with_validation(parts, *validation_columns(dataset, self.negation_scope))
        )
        self._first_fit = self._nb_classifier = None

    def _fit_members(self, parts: list[tuple[str, str, Any]], first: FirstFit) -> None:
        self.tfidf.model = first.fit(parts)
        shared = [
            (part, matrix)
            for part, matrix in zip(parts, first.matrices, strict=True)
            if part[0] in NB_PARTS
        ]
        self.nb = fit_naive_bayes(shared, first.labels, self._nb_classifier)
        self._scorer = None

    def predict_proba(self, texts: Sequence[str], titles: Sequence[str | None]) -> np.ndarray:
        columns = text_columns(*normalized_inputs(texts, titles), self.negation_scope)
        if self._scorer is None:
            # One scorer for both members: the word n-grams they share are counted once.
            self._scorer = LinearScorer([self.tfidf.model, self.nb])
        tfidf, nb = self._scorer.logits(columns)
        return (probability(tfidf) + probability(nb)) / 2

    def save(self, folder: Path) -> None:
        """Each member in a folder of its own, as JSON and npy: no pickle."""
        (folder / TFIDF_FOLDER).mkdir()
        self.tfidf.save(folder / TFIDF_FOLDER)
        (folder / NB_FOLDER).mkdir()
        config = {
            "name": self.name,
            "c": self.c,
            "nb_c": self.nb_c,
            "word_ngrams": self.word_ngrams,
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
            word_ngrams=config["word_ngrams"],
            negation_scope=config["negation_scope"],
            tfidf=TfidfLogReg.load(folder / TFIDF_FOLDER),
            nb=LinearTextModel.load(folder / NB_FOLDER, config["nb"]),
        )


# The TF-IDF member's parts whose n-grams the naive-Bayes member weighs.
NB_PARTS = ("negated_words", "title_words")


def fit_naive_bayes(
    shared: list[tuple[tuple[str, str, Any], Any]], labels: np.ndarray, classifier: Any
) -> LinearTextModel:
    """The classifier on the presence of the fitted parts' n-grams, each weighted by its
    log-count ratio between the labels; `shared` pairs each part with its training matrix.

    The ratio takes the place of IDF in a `TfidfVectorizer` (binary counts, no normalisation), so
    the model saves and loads like any TF-IDF model.
    """
    from scipy.sparse import hstack
    from sklearn.feature_extraction.text import TfidfVectorizer

    presence = hstack([(matrix > 0).astype(np.float64) for _, matrix in shared]).tocsr()
    ratio = log_count_ratio(presence, labels)
    # Fitted in float32 as the TF-IDF member is (`FIT_DTYPE`); the ratios stay float64.
    classifier.fit(presence.multiply(ratio).tocsr().astype(FIT_DTYPE), labels)
    parts = []
    start = 0
    for (name, column, fitted), _ in shared:
        weighted = TfidfVectorizer(
            vocabulary=fitted.vocabulary_, ngram_range=fitted.ngram_range, binary=True, norm=None
        )
        weighted.idf_ = ratio[start : start + len(fitted.vocabulary_)]
        start += len(fitted.vocabulary_)
        parts.append((name, column, weighted))
    return LinearTextModel(parts, fitted_coef(classifier), float(classifier.intercept_[0]))


def log_count_ratio(counts: Any, labels: np.ndarray, alpha: float = 1.0) -> np.ndarray:
    """Per feature, log of its smoothed share among label-1 documents over its share among label-0
    ones: positive leans "recommended", negative "not recommended"."""
    labels = np.asarray(labels)
    positive = np.asarray(counts[labels == 1].sum(axis=0)).ravel() + alpha
    negative = np.asarray(counts[labels == 0].sum(axis=0)).ravel() + alpha
    return np.log(positive / positive.sum()) - np.log(negative / negative.sum())
