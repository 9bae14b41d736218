"""How a drop differs from the data the models learned from (pure): its label share against the
earlier drops, its words against the training vocabulary, its review lengths, and the production
model's scores, each with the threshold past which a check warns.

The reference is always what the models saw when they had not learned from it: the vocabulary's
out-of-vocabulary rate and the scores come from the training data's test split (on the training
split the vocabulary was fitted and the model trained, which flatters both), lengths from the
training split.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict

from sentiment_assets.model.dataset import PaddedDataset
from sentiment_assets.model.evaluation import not_recommended_share
from sentiment_assets.model.stems import Corpus

PSI_BINS = 10
# An empty bin counts as this share, so that PSI stays finite (the usual convention).
PSI_FLOOR = 1e-4


class Thresholds(BaseModel):
    """Where drift warns and the live gate fails (the `monitoring` resource holds the defaults)."""

    model_config = ConfigDict(frozen=True)

    label_share_difference: float
    oov_rate_increase: float
    replaced_rows_share: float
    review_length_psi: float
    score_psi: float
    min_drift_reviews: int
    min_live_reviews_per_label: int
    live_roc_auc_floor: float
    live_roc_auc_margin: float


def difference(a: float, b: float) -> float:
    """`a - b` to 12 places, for comparing with a threshold: figures that are fractions can differ
    by exactly a threshold, which binary floating point misses (0.80 - 0.75 is
    0.050000000000000044), and such a tie must count as within it."""
    return round(a - b, 12)


def population_stability_index(
    reference: np.ndarray, current: np.ndarray, bins: int = PSI_BINS
) -> float:
    """PSI of `current` against `reference`: bins cut at the reference's quantiles (repeated cuts
    merged; a value on a cut goes to the bin above), then the sum over bins of (current share - reference share) x ln(current share /
    reference share), an empty bin counting as PSI_FLOOR. 0 for the same distribution; 0.1 is
    commonly read as a moderate shift, 0.25 as a large one."""
    reference = np.asarray(reference, dtype=float)
    current = np.asarray(current, dtype=float)
    if not reference.size or not current.size:
        raise ValueError("population stability needs values on both sides")
    cuts = np.unique(np.quantile(reference, np.linspace(0, 1, bins + 1)[1:-1]))
    shares = [
        np.maximum(
            np.bincount(np.searchsorted(cuts, v, side="right"), minlength=cuts.size + 1) / v.size,
            PSI_FLOOR,
        )
        for v in (reference, current)
    ]
    expected, actual = shares
    return float(np.sum((actual - expected) * np.log(actual / expected)))


class DropDrift(BaseModel):
    """One drop against the training data at scoring time (the fields are None before there is
    training data, and the score's without a production model)."""

    model_config = ConfigDict(frozen=True, ser_json_inf_nan="constants")

    not_recommended_share: float
    mean_words: float
    reference_mean_words: float | None
    review_length_psi: float | None
    oov_rate: float | None
    reference_oov_rate: float | None
    score_psi: float | None


def review_words(texts: pd.Series) -> np.ndarray:
    """Words per review text."""
    return texts.astype(str).str.split().str.len().to_numpy(dtype=float)


def measure_drift(
    reviews: pd.DataFrame,
    dataset: PaddedDataset | None,
    drop_scores: np.ndarray | None,
    test_scores: np.ndarray | None,
) -> DropDrift:
    """The drop's figures (`reviews`: its stemmed corpus) against `dataset`; the scores are
    production's probabilities for the drop and for the dataset's test split."""
    words = review_words(reviews[Corpus.TEXT])
    share = not_recommended_share(reviews[Corpus.LABEL])
    if dataset is None:
        return DropDrift(
            not_recommended_share=share,
            mean_words=float(words.mean()),
            reference_mean_words=None,
            review_length_psi=None,
            oov_rate=None,
            reference_oov_rate=None,
            score_psi=None,
        )
    train_words = review_words(dataset.split_reviews("train")[Corpus.TEXT])
    vocabulary = dataset.vocabulary
    score_psi = None
    if drop_scores is not None and test_scores is not None:
        score_psi = population_stability_index(test_scores, drop_scores)
    return DropDrift(
        not_recommended_share=share,
        mean_words=float(words.mean()),
        reference_mean_words=float(train_words.mean()),
        review_length_psi=population_stability_index(train_words, words),
        oov_rate=vocabulary.oov_rate(reviews),
        reference_oov_rate=vocabulary.oov_rate(dataset.split_reviews("test")),
        score_psi=score_psi,
    )


def label_share_problem(
    share: float, earlier_share: float | None, thresholds: Thresholds
) -> str | None:
    """The drop's share of "not recommended" too far from the earlier drops', if it is."""
    if earlier_share is None:
        return None
    apart = abs(difference(share, earlier_share))
    if apart <= thresholds.label_share_difference:
        return None
    return (
        f"'not recommended' share {share:.3f} is {apart:.3f} from the "
        f"earlier drops' {earlier_share:.3f} (threshold {thresholds.label_share_difference})"
    )


def replaced_problem(
    rows: int, most_before: int | None, latest_before: int | None, thresholds: Thresholds
) -> str | None:
    """A drop's new content far smaller than a content it replaces, if it is: a re-export cut
    short or filtered would otherwise replace what the models learn from, quietly. `most_before`
    is the most reviews an earlier content still kept held, `latest_before` the latest's; a drop
    that grew since its latest earlier content (a cut accepted, then added to) passes."""
    shrank = latest_before is None or rows < latest_before
    if not most_before or not shrank or rows >= thresholds.replaced_rows_share * most_before:
        return None
    return (
        f"the drop's content holds {rows:,} reviews, {rows / most_before:.0%} of the "
        f"{most_before:,} of an earlier content (threshold {thresholds.replaced_rows_share:.0%}); "
        "that content stays readable as an earlier stored version of the drop"
    )


def too_few_to_judge(reviews: int, thresholds: Thresholds) -> str | None:
    """Why a drop is too small for its drift to be judged, if it is: a share, a rate or a PSI of
    a handful of reviews is noise (3 reviews gave a review-length PSI of 5.5 with the mean length
    within a word of the training data's)."""
    if reviews >= thresholds.min_drift_reviews:
        return None
    return (
        f"not judged: the drop has {reviews} review(s), fewer than {thresholds.min_drift_reviews} "
        "(min_drift_reviews), too few for a share, a rate or a PSI to mean anything"
    )


def oov_problem(drift: DropDrift, thresholds: Thresholds) -> str | None:
    """Too many of the drop's words unknown to the training vocabulary, if so."""
    if drift.oov_rate is None or drift.reference_oov_rate is None:
        return None
    increase = difference(drift.oov_rate, drift.reference_oov_rate)
    if increase <= thresholds.oov_rate_increase:
        return None
    return (
        f"out-of-vocabulary rate {drift.oov_rate:.3f} is {increase:.3f} above the training "
        f"data's test split ({drift.reference_oov_rate:.3f}; threshold "
        f"{thresholds.oov_rate_increase})"
    )


def length_problem(drift: DropDrift, thresholds: Thresholds) -> str | None:
    """Review lengths distributed unlike the training data's, if so."""
    if drift.review_length_psi is None or drift.review_length_psi <= thresholds.review_length_psi:
        return None
    return (
        f"review length PSI {drift.review_length_psi:.3f} above {thresholds.review_length_psi} "
        f"(mean {drift.mean_words:.1f} words against {drift.reference_mean_words:.1f})"
    )


def score_problem(drift: DropDrift, thresholds: Thresholds) -> str | None:
    """Production's scores on the drop distributed unlike those on the training data, if so."""
    if drift.score_psi is None or drift.score_psi <= thresholds.score_psi:
        return None
    return (
        f"production's score PSI {drift.score_psi:.3f} against the training data's test split "
        f"is above {thresholds.score_psi}"
    )
