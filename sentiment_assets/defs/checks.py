"""Asset checks: what must hold before a drop, the dataset or a model is trusted."""

from typing import Any

import dagster as dg
import pandas as pd

from sentiment_assets import registry
from sentiment_assets.dataset import PaddedDataset
from sentiment_assets.reviews import LABEL, TEXT

# A drop whose share of "not recommended" moves this far from the earlier drops gets a warning:
# the real drops sit within 0.3 points of each other.
DRIFT_WARNING = 0.10

RAW_REVIEWS_CHECKS = [
    dg.AssetCheckSpec(
        "valid_reviews",
        asset="raw_reviews",
        blocking=True,
        description="Required columns, labels 0/1, unique review ids, at most 20% without text. "
        "A drop that fails is quarantined before anything of it is stored, so this records the "
        "verification of every stored drop.",
    ),
    dg.AssetCheckSpec(
        "label_balance_drift",
        asset="raw_reviews",
        description="Share of 'not recommended' close to the earlier drops (warning only).",
    ),
]


def raw_reviews_checks(
    context: dg.AssetExecutionContext, reviews: pd.DataFrame
) -> list[dg.AssetCheckResult]:
    """The two checks of one drop, evaluated in the run that reads it."""
    share = float((reviews[LABEL] == 0).mean())
    earlier = _earlier_not_recommended_shares(context.instance, context.partition_key)
    baseline = sum(earlier.values()) / len(earlier) if earlier else None
    drift = abs(share - baseline) if baseline is not None else 0.0
    return [
        dg.AssetCheckResult(
            check_name="valid_reviews",
            passed=True,
            metadata={
                "rows": len(reviews),
                "without_text_share": round(float(reviews[TEXT].isna().mean()), 4),
            },
        ),
        dg.AssetCheckResult(
            check_name="label_balance_drift",
            passed=drift <= DRIFT_WARNING,
            severity=dg.AssetCheckSeverity.WARN,
            metadata={
                "not_recommended_share": round(share, 4),
                "earlier_drops_share": round(baseline, 4) if baseline is not None else "none yet",
                "earlier_drops": len(earlier),
            },
        ),
    ]


def _earlier_not_recommended_shares(instance: dg.DagsterInstance, current: str) -> dict[str, float]:
    """The latest 'not recommended' share of every other materialized drop, from its metadata."""
    records = instance.fetch_materializations(dg.AssetKey("raw_reviews"), limit=1000).records
    shares: dict[str, float] = {}
    for record in records:  # newest first
        event = record.asset_materialization
        if event is None or event.partition in (None, current) or event.partition in shares:
            continue
        balance = event.metadata.get("label_balance")
        if balance is not None:
            shares[event.partition] = float(balance.value["not_recommended_share"])
    return shares


@dg.asset_check(
    asset="padded_dataset",
    blocking=True,
    description="No review is in two splits: a test review is never also a training review.",
)
def no_review_in_two_splits(padded_dataset: PaddedDataset) -> dg.AssetCheckResult:
    reviews = padded_dataset.reviews
    splits_per_text = reviews.groupby(reviews["text"].str.strip())["split"].nunique()
    leaked = int((splits_per_text > 1).sum())
    repeated_ids = int(reviews.duplicated(["drop", "review_id"]).sum())
    return dg.AssetCheckResult(
        passed=leaked == 0 and repeated_ids == 0,
        metadata={"texts_in_two_splits": leaked, "repeated_review_ids": repeated_ids},
    )


@dg.asset_check(
    asset="production_model",
    blocking=True,
    description="The production model beats the majority baseline and has test ROC AUC >= "
    f"{registry.ROC_AUC_FLOOR} (the promotion rule refuses others; this shows it in the UI).",
)
def production_quality_gate(production_model: dict[str, Any]) -> dg.AssetCheckResult:
    test = registry.production_test_metrics(production_model)
    if test is None:
        return dg.AssetCheckResult(passed=False, description="no production model yet")
    passed = (
        test["roc_auc"] >= registry.ROC_AUC_FLOOR
        and test["accuracy"] > test["majority_baseline_accuracy"]
    )
    return dg.AssetCheckResult(
        passed=passed,
        metadata={
            "roc_auc": round(test["roc_auc"], 4),
            "accuracy": round(test["accuracy"], 4),
            "majority_baseline_accuracy": round(test["majority_baseline_accuracy"], 4),
            "roc_auc_floor": registry.ROC_AUC_FLOOR,
        },
    )
