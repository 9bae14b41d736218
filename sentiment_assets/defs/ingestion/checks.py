"""The check on every stored drop: it is fit to train on (its drift is monitoring's)."""

import dagster as dg
import pandas as pd

from sentiment_assets.defs.asset_keys import RAW_REVIEWS
from sentiment_assets.defs.ingestion.partitions import review_drops
from sentiment_assets.model.reviews import MAX_NULL_TEXT_SHARE, TEXT, has_text, validation_problems


@dg.asset_check(
    asset=RAW_REVIEWS,
    partitions_def=review_drops,
    blocking=True,
    description="The stored drop is fit to train on: required columns, labels 0/1, unique review "
    f"ids, at most {MAX_NULL_TEXT_SHARE:.0%} without text. Blocking: a drop that fails is not "
    "stemmed.",
)
def valid_reviews(raw_reviews: pd.DataFrame) -> dg.AssetCheckResult:
    problems = validation_problems(raw_reviews)
    return dg.AssetCheckResult(
        passed=not problems,
        description="; ".join(problems) or None,
        metadata={
            "rows": len(raw_reviews),
            "without_text_share": round(float((~has_text(raw_reviews[TEXT])).mean()), 4)
            if TEXT in raw_reviews
            else None,
        },
    )
