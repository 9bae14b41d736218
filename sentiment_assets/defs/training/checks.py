"""Checks on the dataset and the production model: what must hold before either is trusted."""

import dagster as dg

from sentiment_assets.defs.asset_keys import PADDED_DATASET, PRODUCTION_MODEL
from sentiment_assets.lib import production
from sentiment_assets.lib.production import ProductionDecision
from sentiment_assets.model.dataset import PaddedDataset, split_leaks


@dg.asset_check(
    asset=PADDED_DATASET,
    blocking=True,
    description="No review is in two splits: a test review is never also a training review.",
)
def no_review_in_two_splits(padded_dataset: PaddedDataset) -> dg.AssetCheckResult:
    leaked, repeated_ids = split_leaks(padded_dataset)
    return dg.AssetCheckResult(
        passed=leaked == 0 and repeated_ids == 0,
        metadata={"texts_in_two_splits": leaked, "repeated_review_ids": repeated_ids},
    )


@dg.asset_check(
    asset=PRODUCTION_MODEL,
    blocking=True,
    description="The production model passes the quality gate of the promotion rule: it beats the "
    f"majority baseline, does not give every review one score, has test ROC AUC >= "
    f"{production.ROC_AUC_FLOOR} and gets the sanity reviews right.",
)
def production_quality_gate(production_model: ProductionDecision) -> dg.AssetCheckResult:
    held = production_model.production
    if held is None:
        return dg.AssetCheckResult(passed=False, description="no production model yet")
    problems = production.quality_problems(held)
    return dg.AssetCheckResult(
        passed=not problems,
        description="; ".join(problems) or None,
        metadata={
            "version": held.version,
            "roc_auc": round(held.test.roc_auc, 4),
            "accuracy": round(held.test.accuracy, 4),
            "majority_baseline_accuracy": round(held.test.majority_baseline_accuracy, 4),
            "roc_auc_floor": production.ROC_AUC_FLOOR,
        },
    )
