"""From a CSV drop to stems: raw_reviews -> stemmed_corpus, one partition per drop."""

import pathlib
import time
from typing import NoReturn

import dagster as dg
import pandas as pd

from sentiment_assets.defs.ingestion.partitions import SOURCE_FILE, review_drops, stored_drop
from sentiment_assets.defs.platform.metadata import label_balance, sample_markdown, table_schema
from sentiment_assets.defs.platform.resources import ReviewLanding
from sentiment_assets.lib import drops
from sentiment_assets.lib.versions import code_version, frame_version
from sentiment_assets.model.reviews import (
    LABEL,
    MAX_NULL_TEXT_SHARE,
    TEXT,
    IncompleteFileError,
    ReviewFileError,
    has_text,
    parse_reviews,
    validation_problems,
)
from sentiment_assets.model.stems import Corpus, stem_reviews


@dg.asset(
    partitions_def=review_drops,
    kinds={"csv", "pandas"},
    code_version=code_version(__name__, "raw_reviews"),
    # A file read can fail for passing reasons (a network share hiccups); bad data never retries.
    retry_policy=dg.RetryPolicy(max_retries=2, delay=1, backoff=dg.Backoff.EXPONENTIAL),
    description="The reviews of one CSV drop, validated: required columns, labels 0 or 1, unique "
    f"ids, at most {MAX_NULL_TEXT_SHARE:.0%} without text. A drop whose content is bad moves to "
    "the quarantine folder with a note saying why, and nothing of it is stored; one that cannot be "
    "read, or looks unfinished within its grace period, stays where it is. It reads the file the "
    "drop sensor planned (the run's tags name it and its sha256); its data version is the sha256 "
    "of the bytes it parsed.",
)
def raw_reviews(
    context: dg.AssetExecutionContext, landing: ReviewLanding
) -> dg.MaterializeResult[pd.DataFrame]:
    path = _drop_file(context, landing)
    read = _read(path)
    expected = context.run.tags.get(drops.SHA256_TAG)
    if expected and read.sha256 != expected:
        raise dg.Failure(
            description=f"{path.name}: its content changed after this run was planned; nothing "
            "was stored, and the new content is read by the next plan (the drop sensor's next "
            "tick, or sentiment-run again)",
            allow_retries=False,
        )
    try:
        reviews = parse_reviews(read.data, path)
        problems = validation_problems(reviews)
        if problems:
            raise ReviewFileError(path, "; ".join(problems))
    except IncompleteFileError as err:
        grace = landing.incomplete_grace_seconds
        unfinished = drops.Unfinished(err.reason, time.time_ns() - read.mtime_ns)
        if not unfinished.truncated(grace):
            raise dg.Failure(
                description=f"{path.name}: {unfinished.note(grace)}", allow_retries=False
            ) from err
        _quarantine(context, path, unfinished.note(grace), landing, read)
    except ReviewFileError as err:
        _quarantine(context, path, err.problem, landing, read)
    return dg.MaterializeResult(
        value=reviews,
        data_version=dg.DataVersion(read.sha256),
        metadata={
            "dagster/row_count": len(reviews),
            "dagster/column_schema": table_schema(reviews),
            "reviews_without_text": int((~has_text(reviews[TEXT])).sum()),
            **label_balance(reviews[LABEL]),
            SOURCE_FILE: path.name,
            "sample": sample_markdown(reviews),
        },
    )


def _drop_file(context: dg.AssetExecutionContext, landing: ReviewLanding) -> pathlib.Path:
    """The file the run was told to read, else (materialized by hand) the file owning the key."""
    planned = context.run.tags.get(drops.FILE_TAG)
    if planned:
        if planned != pathlib.PurePath(planned).name:
            raise dg.Failure(
                f"{planned!r} is not a file name in the landing folder", allow_retries=False
            )
        return landing.path / planned
    earlier = stored_drop(context.instance, context.partition_key)
    return drops.file_for_key(
        landing.path, context.partition_key, earlier.file if earlier else None
    )


def _read(path: pathlib.Path) -> drops.DropBytes:
    """The file's bytes; a link or other odd entry fails at once, a read error is retried."""
    try:
        return drops.read_drop(path)
    except drops.RefusedFile as err:
        raise dg.Failure(description=f"{err}; nothing was read", allow_retries=False) from None
    except FileNotFoundError:
        raise dg.Failure(
            description=f"{path.name}: not in the landing folder (moved or deleted); what was "
            "stored of the drop is unchanged",
            allow_retries=False,
        ) from None
    except OSError as err:
        raise dg.Failure(
            description=f"{path.name}: cannot be read ({drops.why(err)}); it stays in the landing "
            "folder",
        ) from err


def _quarantine(
    context: dg.AssetExecutionContext,
    path: pathlib.Path,
    problem: str,
    landing: ReviewLanding,
    read: drops.DropBytes,
) -> NoReturn:
    """Move the drop to quarantine with its note, and fail the run saying why."""
    try:
        moved = drops.quarantine(path, problem, landing.quarantine, read)
    except drops.FileChanged as err:
        raise dg.Failure(
            description=f"{path.name}: {problem}; not quarantined: {err}", allow_retries=False
        ) from None
    except OSError as err:  # the file stays; a retry may manage the move
        raise dg.Failure(
            description=f"{path.name}: {problem}; it could not be quarantined "
            f"({drops.why(err)}) and stays in the landing folder"
        ) from err
    context.log.error(f"{path.name}: {problem}; moved to {moved}")
    raise dg.Failure(
        description=f"{path.name}: {problem}",
        metadata={"file": path.name, "problem": problem, "quarantined_as": str(moved)},
        allow_retries=False,
    )


@dg.asset(
    partitions_def=review_drops,
    kinds={"nltk", "pandas"},
    code_version=code_version(__name__, "stemmed_corpus"),
)
def stemmed_corpus(raw_reviews: pd.DataFrame) -> dg.MaterializeResult[pd.DataFrame]:
    """Each review reduced to Porter stems of its letters, without NLTK's English stopwords. Its
    data version is a hash of the whole corpus (stems, text, title, label), so a restemming that
    changes nothing leaves the dataset fresh."""
    started = time.perf_counter()
    corpus = stem_reviews(raw_reviews)
    return dg.MaterializeResult(
        value=corpus,
        data_version=dg.DataVersion(frame_version(corpus)),
        metadata={
            "dagster/row_count": len(corpus),
            "dropped_without_text": len(raw_reviews) - len(corpus),
            "stemming_seconds": round(time.perf_counter() - started, 3),
            "sample": sample_markdown(corpus[[Corpus.REVIEW_ID, Corpus.LABEL, Corpus.STEMS]]),
        },
    )
