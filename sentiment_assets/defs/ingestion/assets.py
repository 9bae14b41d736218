"""From a CSV drop to stems: raw_reviews -> stemmed_corpus, one partition per drop."""

import pathlib
import time

import dagster as dg
import pandas as pd

from sentiment_assets.defs.ingestion.partitions import review_drops, stored_drop
from sentiment_assets.defs.platform.metadata import label_balance, sample_markdown, table_schema
from sentiment_assets.defs.platform.resources import ReviewLanding
from sentiment_assets.lib import drops
from sentiment_assets.model.reviews import (
    LABEL,
    TEXT,
    ReviewFileError,
    parse_reviews,
    validation_problems,
)
from sentiment_assets.model.stems import Corpus, stem_reviews


@dg.asset(
    partitions_def=review_drops,
    kinds={"csv", "pandas"},
    # A file read can fail for passing reasons (a network share hiccups); bad data never retries.
    retry_policy=dg.RetryPolicy(max_retries=2, delay=1),
)
def raw_reviews(context: dg.AssetExecutionContext, landing: ReviewLanding) -> dg.Output:
    """The reviews of one CSV drop, validated: required columns, labels 0 or 1, unique ids, at
    most 20 % without text. A drop that fails moves to the quarantine folder with a note saying
    why, and nothing of it is stored.

    It reads the file the drop sensor planned (the run's tags name it and its sha256); its data
    version is the sha256 of the bytes it parsed.
    """
    key = context.partition_key
    planned = context.run.tags.get(drops.FILE_TAG)
    if planned:
        if planned != pathlib.PurePath(planned).name:
            raise dg.Failure(f"{planned!r} is not a file name in the landing folder")
        path = landing.path / planned
    else:  # materialized by hand: the file that owns the key
        earlier = stored_drop(context.instance, key)
        path = drops.file_for_key(landing.path, key, earlier.file if earlier else None)
    data = drops.read_drop(path)
    sha = drops.sha256_hex(data)
    expected = context.run.tags.get(drops.SHA256_TAG)
    if expected and sha != expected:
        raise dg.Failure(
            description=f"{path.name}: its content changed after the drop sensor planned this "
            "run; the sensor plans a new run for the new content",
            allow_retries=False,
        )
    try:
        reviews = parse_reviews(data, path)
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
    return dg.Output(
        reviews,
        data_version=dg.DataVersion(sha),
        metadata={
            "dagster/row_count": len(reviews),
            "dagster/column_schema": table_schema(reviews),
            "null_review_text": int(reviews[TEXT].isna().sum()),
            "label_balance": label_balance(reviews[LABEL]),
            "source_file": path.name,
            "sample": sample_markdown(reviews),
        },
    )


@dg.asset(partitions_def=review_drops, kinds={"nltk", "pandas"})
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
            "sample": sample_markdown(corpus[[Corpus.REVIEW_ID, Corpus.LABEL, Corpus.STEMS]]),
        },
    )
