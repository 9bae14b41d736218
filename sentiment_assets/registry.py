"""MLflow names and the promotion rule: which candidate may become the production model.

Aliases, not the deprecated stages: production is `models:/customer-sentiment-analysis@production`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mlflow import MlflowClient
    from mlflow.entities.model_registry import ModelVersion

EXPERIMENT_NAME = "customer-sentiment-analysis"
MODEL_NAME = "customer-sentiment-analysis"
PRODUCTION_ALIAS = "production"
SELECTION_METRIC = "roc_auc"
# Catches a broken model (collapsed, inverted, trained on garbage), not a mediocre one: whether a
# model is better is the comparison with production. Real drops give 0.96, sample drops about 0.9.
ROC_AUC_FLOOR = 0.75


def model_uri(name: str = MODEL_NAME, alias: str = PRODUCTION_ALIAS) -> str:
    return f"models:/{name}@{alias}"


PRODUCTION_URI = model_uri()


def production_version(client: MlflowClient, name: str = MODEL_NAME) -> ModelVersion | None:
    """The version behind the production alias, or None before the first promotion."""
    from mlflow.exceptions import MlflowException

    try:
        return client.get_model_version_by_alias(name, PRODUCTION_ALIAS)
    except MlflowException:
        return None


@dataclass(frozen=True)
class Decision:
    """Whether the challenger takes the production alias, and why, in words for the UI."""

    promote: bool
    reason: str


def decide(challenger: dict[str, float], champion: dict[str, float] | None) -> Decision:
    """The promotion rule; both models are scored on the same, current test split.

    1. The challenger must beat the majority-class baseline on accuracy (a collapsed model that
       predicts one class everywhere cannot), must not give every review the same score, and must
       reach ROC_AUC_FLOOR.
    2. It must be at least as good as the current production model on test ROC AUC.
    """
    accuracy, baseline = challenger["accuracy"], challenger["majority_baseline_accuracy"]
    if challenger.get("constant_output", 0.0) or not accuracy > baseline:
        return Decision(
            False,
            f"challenger accuracy {accuracy:.4f} does not beat the majority baseline {baseline:.4f}",
        )
    score = challenger[SELECTION_METRIC]
    if math.isnan(score):
        return Decision(False, "challenger ROC AUC is undefined (the test split has one class)")
    if score < ROC_AUC_FLOOR:
        return Decision(False, f"challenger ROC AUC {score:.4f} is below the floor {ROC_AUC_FLOOR}")
    if champion is None:
        return Decision(True, f"no production model yet; challenger ROC AUC {score:.4f}")
    best = champion[SELECTION_METRIC]
    if score >= best:
        return Decision(True, f"challenger ROC AUC {score:.4f} >= production {best:.4f}")
    return Decision(False, f"challenger ROC AUC {score:.4f} < production {best:.4f}")


def production_test_metrics(summary: dict[str, Any]) -> dict[str, float] | None:
    """Test metrics of whichever model holds the alias after a `production_model` decision."""
    if summary["promoted"]:
        return summary["challenger"]["test"]
    champion = summary.get("champion")
    return champion["test"] if champion else None
