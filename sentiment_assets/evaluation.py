"""Metrics for a sentiment classifier, centred on the class the retailer must catch: 'not recommended'."""

from __future__ import annotations

import numpy as np

NOT_RECOMMENDED = 0


def classification_metrics(
    labels: np.ndarray, probabilities: np.ndarray, threshold: float = 0.5
) -> dict[str, float]:
    """Accuracy, ROC AUC, minority-class precision/recall/F1 and the majority-class baseline."""
    from sklearn.metrics import accuracy_score, precision_recall_fscore_support, roc_auc_score

    labels = np.asarray(labels).astype(int)
    probabilities = np.asarray(probabilities, dtype=float)
    predicted = (probabilities >= threshold).astype(int)
    precision, recall, f1, _ = precision_recall_fscore_support(
        labels, predicted, pos_label=NOT_RECOMMENDED, average="binary", zero_division=0
    )
    both_classes = len(np.unique(labels)) == 2
    return {
        "accuracy": float(accuracy_score(labels, predicted)),
        "roc_auc": float(roc_auc_score(labels, probabilities)) if both_classes else float("nan"),
        "not_recommended_precision": float(precision),
        "not_recommended_recall": float(recall),
        "not_recommended_f1": float(f1),
        "majority_baseline_accuracy": majority_baseline(labels),
    }


def majority_baseline(labels: np.ndarray) -> float:
    """Accuracy of always predicting the most common label: the bar a useful model must clear."""
    labels = np.asarray(labels).astype(int)
    if labels.size == 0:
        return float("nan")
    return float(max(labels.mean(), 1 - labels.mean()))


def is_constant(probabilities: np.ndarray, tolerance: float = 1e-6) -> bool:
    """True for a collapsed model (e.g. all ReLUs dead) that gives every review the same score."""
    probabilities = np.asarray(probabilities, dtype=float)
    return probabilities.size == 0 or float(np.ptp(probabilities)) <= tolerance
