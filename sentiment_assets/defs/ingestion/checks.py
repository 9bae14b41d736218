"""Checks on every stored drop: it is fit to train on, and its label share is like the others'."""

import dagster as dg
import pandas as pd

from sentiment_assets.defs.ingestion.partitions import RAW_REVIEWS, review_drops
from sentiment_assets.defs.platform.io_manager import ArtifactIOManager
from sentiment_assets.model.reviews import LABEL, TEXT, validation_problems

# A drop whose share of "not recommended" moves this far from the earlier drops gets a warning:
# the real drops sit within 0.3 points of each other.
DRIFT_WARNING = 0.10


@dg.asset_check(
    asset="raw_reviews",
    partitions_def=review_drops,
    blocking=True,
    description="The stored drop is fit to train on: required columns, labels 0/1, unique review "
    "ids, at most 20% without text. Blocking: a drop that fails is not stemmed.",
)
def valid_reviews(raw_reviews: pd.DataFrame) -> dg.AssetCheckResult:
    problems = validation_problems(raw_reviews)
    return dg.AssetCheckResult(
        passed=not problems,
        description="; ".join(problems) or None,
        metadata={
            "rows": len(raw_reviews),
            "without_text_share": round(float(raw_reviews[TEXT].isna().mean()), 4)
            if TEXT in raw_reviews
            else None,
        },
    )


@dg.asset_check(
    asset="raw_reviews",
    partitions_def=review_drops,
    description="Share of 'not recommended' close to the other stored drops' (a warning only).",
)
def label_balance_drift(
    context: dg.AssetCheckExecutionContext,
    raw_reviews: pd.DataFrame,
    io_manager: dg.ResourceParam[ArtifactIOManager],
) -> dg.AssetCheckResult:
    share = float((raw_reviews[LABEL] == 0).mean())
    stored = io_manager.load_partitions(context.instance, RAW_REVIEWS, columns=[LABEL])
    others = [frame[LABEL] for key, frame in stored.items() if key != context.partition_key]
    baseline = float((pd.concat(others) == 0).mean()) if others else None
    drift = abs(share - baseline) if baseline is not None else 0.0
    return dg.AssetCheckResult(
        passed=drift <= DRIFT_WARNING,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            "not_recommended_share": round(share, 4),
            "other_drops_share": round(baseline, 4) if baseline is not None else None,
            "other_drops": len(others),
            "drift": round(drift, 4),
        },
    )
