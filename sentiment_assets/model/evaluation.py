"""Metrics for a sentiment classifier, centred on the class the retailer must catch: 'not recommended'."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

NOT_RECOMMENDED = 0


def not_recommended_share(labels: Any) -> float:
    """The share of reviews labelled 'not recommended' (0.0 of none)."""
    labels = np.asarray(labels)
    return float((labels.astype(int) == NOT_RECOMMENDED).mean()) if labels.size else 0.0


@dataclass(frozen=True)
class Metrics:
    """How a model scored one split. The `n_<truth>_predicted_<guess>` fields are the confusion
    counts; `constant_output` flags a collapsed model (e.g. all ReLUs dead) that gives every review
    the same score."""

    accuracy: float
    roc_auc: float
    not_recommended_precision: float
    not_recommended_recall: float
    not_recommended_f1: float
    majority_baseline_accuracy: float
    constant_output: bool
    n_recommended_predicted_recommended: int
    n_recommended_predicted_not_recommended: int
    n_not_recommended_predicted_recommended: int
    n_not_recommended_predicted_not_recommended: int

    @property
    def n_recommended(self) -> int:
        return (
            self.n_recommended_predicted_recommended + self.n_recommended_predicted_not_recommended
        )

    @property
    def n_not_recommended(self) -> int:
        return (
            self.n_not_recommended_predicted_recommended
            + self.n_not_recommended_predicted_not_recommended
        )

    def as_dict(self) -> dict[str, float]:
        """Every field as a number, for MLflow metrics and tables."""
        return {name: float(value) for name, value in asdict(self).items()}

    def headline(self) -> dict[str, float]:
        """The figures people compare models by (no counts)."""
        return {k: v for k, v in self.as_dict().items() if not k.startswith("n_")}


def classification_metrics(
    labels: np.ndarray,
    probabilities: np.ndarray,
    threshold: float = 0.5,
    predicted: np.ndarray | None = None,
) -> Metrics:
    """Accuracy, ROC AUC, minority-class precision/recall/F1, the majority-class baseline, the
    confusion counts, and whether the model collapsed to one score.

    Labels are `probabilities >= threshold` unless the model's own `predicted` labels are given.
    """
    from sklearn.metrics import accuracy_score, precision_recall_fscore_support, roc_auc_score

    labels = np.asarray(labels).astype(int)
    probabilities = np.asarray(probabilities, dtype=float)
    if predicted is None:
        predicted = probabilities >= threshold
    predicted = np.asarray(predicted).astype(int)
    precision, recall, f1, _ = precision_recall_fscore_support(
        labels, predicted, pos_label=NOT_RECOMMENDED, average="binary", zero_division=0
    )
    both_classes = len(np.unique(labels)) == 2
    counts = {
        f"n_{truth}_predicted_{guess}": int(((labels == t) & (predicted == g)).sum())
        for truth, t in (("recommended", 1), ("not_recommended", 0))
        for guess, g in (("recommended", 1), ("not_recommended", 0))
    }
    return Metrics(
        accuracy=float(accuracy_score(labels, predicted)),
        roc_auc=float(roc_auc_score(labels, probabilities)) if both_classes else math.nan,
        not_recommended_precision=float(precision),
        not_recommended_recall=float(recall),
        not_recommended_f1=float(f1),
        majority_baseline_accuracy=majority_baseline(labels),
        constant_output=is_constant(probabilities),
        **counts,
    )


def majority_baseline(labels: np.ndarray) -> float:
    """Accuracy of always predicting the most common label: the bar a useful model must clear."""
    labels = np.asarray(labels).astype(int)
    if labels.size == 0:
        return math.nan
    return float(max(labels.mean(), 1 - labels.mean()))


def is_constant(probabilities: np.ndarray, tolerance: float = 1e-6) -> bool:
    """True for a collapsed model (e.g. all ReLUs dead) that gives every review the same score."""
    probabilities = np.asarray(probabilities, dtype=float)
    return probabilities.size == 0 or float(np.ptp(probabilities)) <= tolerance


def tune_threshold(labels: np.ndarray, probabilities: np.ndarray) -> float:
    """The cut-off that maximises F1 of "not recommended" on the validation split.

    Searched on a 0.01 grid; among equally good cut-offs the one nearest 0.5 wins, so a flat
    optimum does not drift to an extreme.
    """
    labels = np.asarray(labels).astype(int)
    probabilities = np.asarray(probabilities, dtype=float)
    grid = np.round(np.arange(0.05, 0.96, 0.01), 2)
    # Every cut-off at once, as scikit-learn's f1_score computes it from the counts: 2 tp /
    # (true + predicted), 0 when the class is neither present nor predicted. One f1_score call
    # per cut-off took 0.4 s a candidate, for its input checks.
    predicted_not = ~(probabilities[None, :] >= grid[:, None])  # as `>=` labels "recommended"
    true_positives = (predicted_not & (labels == NOT_RECOMMENDED)[None, :]).sum(axis=1)
    denominator = float((labels == NOT_RECOMMENDED).sum()) + predicted_not.sum(axis=1)
    scores = np.divide(
        2.0 * true_positives,
        denominator,
        out=np.zeros(len(grid)),
        where=denominator > 0,
    )
    best = scores.max()
    return float(min(grid[scores == best], key=lambda t: abs(t - 0.5)))


def brier_score(labels: np.ndarray, probabilities: np.ndarray) -> float:
    """Mean squared difference between the probability of "recommended" and what happened (0 or
    1): 0 for a certain, right model; 0.25 for one that always says 0.5."""
    labels = np.asarray(labels).astype(float)
    probabilities = np.asarray(probabilities, dtype=float)
    return float(np.mean((probabilities - labels) ** 2)) if labels.size else math.nan


@dataclass(frozen=True)
class ReliabilityBin:
    """Reviews whose probability of "recommended" fell in [low, high) (the last bin includes 1):
    how many, their mean probability, and the share actually recommended. A calibrated model
    has the last two close in every bin."""

    low: float
    high: float
    reviews: int
    mean_probability: float
    recommended_share: float


def reliability_table(
    labels: np.ndarray, probabilities: np.ndarray, bins: int = 10
) -> list[ReliabilityBin]:
    """The reliability diagram as a table: equal-width probability bins, empty ones left out."""
    labels = np.asarray(labels).astype(float)
    probabilities = np.asarray(probabilities, dtype=float)
    # i / bins, not linspace's: its 0.30000000000000004 put a probability of exactly 0.3 in the bin
    # below (and the probability times `bins` put 0.8999999999999999 in the bin above).
    edges = np.arange(bins + 1) / bins
    # Bin i holds [edges[i], edges[i + 1]); a probability of exactly 1 goes to the last bin.
    index = np.clip(np.searchsorted(edges, probabilities, side="right") - 1, 0, bins - 1)
    table = []
    for i in range(bins):
        inside = index == i
        if inside.any():
            table.append(
                ReliabilityBin(
                    low=round(float(edges[i]), 10),
                    high=round(float(edges[i + 1]), 10),
                    reviews=int(inside.sum()),
                    mean_probability=float(probabilities[inside].mean()),
                    recommended_share=float(labels[inside].mean()),
                )
            )
    return table


def calibration_error(table: list[ReliabilityBin]) -> float:
    """Expected calibration error: the gap between mean probability and observed share in each
    bin, weighted by the bin's share of reviews (0 for a calibrated model)."""
    total = sum(b.reviews for b in table)
    if not total:
        return math.nan
    return sum(b.reviews * abs(b.mean_probability - b.recommended_share) for b in table) / total
