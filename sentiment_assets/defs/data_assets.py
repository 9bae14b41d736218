"""From a CSV drop to the training dataset: raw_reviews -> stemmed_corpus -> padded_dataset."""

import time
from datetime import timedelta

import dagster as dg
import pandas as pd

from sentiment_assets import drops
from sentiment_assets.dataset import PaddedDataset, build_dataset, trainability_problem
from sentiment_assets.defs.checks import RAW_REVIEWS_CHECKS, raw_reviews_checks
from sentiment_assets.defs.metadata import label_balance, sample_markdown, table_schema
from sentiment_assets.defs.partitions import review_drops
from sentiment_assets.defs.resources import ReviewLanding
from sentiment_assets.preprocessing import stem_reviews
from sentiment_assets.reviews import (
    LABEL,
    TEXT,
    ReviewFileError,
    read_reviews,
    validation_problems,
)

GROUP = "sentiment"

# Review exports arrive about weekly: warn after 3 days without a refresh, fail after 7.
WEEKLY_FRESHNESS = dg.FreshnessPolicy.time_window(
    fail_window=timedelta(days=7), warn_window=timedelta(days=3)
)


@dg.asset(
    group_name=GROUP,
    partitions_def=review_drops,
    kinds={"csv", "pandas"},
    check_specs=RAW_REVIEWS_CHECKS,
    # A file read can fail for passing reasons (a network share hiccups); bad data never retries.
    retry_policy=dg.RetryPolicy(max_retries=2, delay=1),
)
def raw_reviews(context: dg.AssetExecutionContext, landing: ReviewLanding):
    """The reviews of one CSV drop, validated: required columns present, labels 0 or 1.

    A drop that cannot be read moves to the quarantine folder with a note saying why.
    """
    path = drops.find_drop(landing.path, context.partition_key)
    try:
        reviews = read_reviews(path)
        problems = validation_problems(reviews)
        if problems:
            raise ReviewFileError(path, "; ".join(problems))
    except ReviewFileError as err:
        moved = drops.quarantine(path, err.problem, landing.quarantine)
        context.log.error(f"{err}; moved to {moved}")
        raise dg.Failure(
            description=str(err),
            metadata={"file": path.name, "problem": err.problem, "quarantined_as": str(moved)},
            allow_retries=False,
        ) from err
    yield dg.Output(
        reviews,
        metadata={
            "dagster/row_count": len(reviews),
            "dagster/column_schema": table_schema(reviews),
            "null_review_text": int(reviews[TEXT].isna().sum()),
            "label_balance": label_balance(reviews[LABEL]),
            "source_file": path.name,
            "source_sha256": drops.file_sha256(path),
            "sample": sample_markdown(reviews),
        },
    )
    yield from raw_reviews_checks(context, reviews)


@dg.asset(group_name=GROUP, partitions_def=review_drops, kinds={"nltk", "pandas"})
def stemmed_corpus(raw_reviews: pd.DataFrame) -> dg.Output[pd.DataFrame]:
    """Each review reduced to Porter stems of its letters, without NLTK's English stopwords."""
    started = time.perf_counter()
    corpus = stem_reviews(raw_reviews)
    return dg.Output(
        corpus,
        metadata={
            "dagster/row_count": len(corpus),
            "dropped_without_text": len(raw_reviews) - len(corpus),
            "stemming_seconds": round(time.perf_counter() - started, 3),
            "sample": sample_markdown(corpus[["review_id", "label", "stemmed"]]),
        },
    )


@dg.asset(
    group_name=GROUP,
    kinds={"numpy", "parquet"},
    freshness_policy=WEEKLY_FRESHNESS,
)
def padded_dataset(stemmed_corpus: dict[str, pd.DataFrame]) -> dg.Output[PaddedDataset]:
    """Every drop's reviews split into train/validation/test, encoded with the training vocabulary."""
    corpus = pd.concat(
        [frame.assign(drop=key) for key, frame in sorted(stemmed_corpus.items())], ignore_index=True
    )
    dataset = build_dataset(corpus)
    problem = trainability_problem(dataset)
    if problem:
        raise dg.Failure(description=problem, allow_retries=False)
    splits = {
        name: {
            "rows": int((dataset.reviews["split"] == name).sum()),
            **label_balance(dataset.reviews.loc[dataset.reviews["split"] == name, "label"]),
        }
        for name in ("train", "validation", "test")
    }
    return dg.Output(
        dataset,
        data_version=dg.DataVersion(dataset.fingerprint),
        metadata={
            "dagster/row_count": len(dataset.reviews),
            "drops": sorted(stemmed_corpus),
            "duplicates_dropped": len(corpus) - len(dataset.reviews),
            "splits": dg.MetadataValue.md(pd.DataFrame(splits).T.to_markdown()),
            "vocabulary_size": dataset.vocabulary.size,
            "sequence_length": dataset.sequence_length,
            "test_oov_rate": round(dataset.oov_rate("test"), 4),
            "fingerprint": dataset.fingerprint,
        },
    )
