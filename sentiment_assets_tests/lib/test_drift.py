"""Drift of a drop against the training data: the population stability index by hand, the figures
on a built dataset, and where each check's threshold falls."""

import math

import numpy as np
import pandas as pd
import pytest

from sentiment_assets.lib import drift
from sentiment_assets.lib.drift import DropDrift, population_stability_index
from sentiment_assets.model.dataset import build_dataset
from sentiment_assets.model.stems import Corpus, stem_reviews
from sentiment_assets_tests.lib.builders import THRESHOLDS


def test_psi_of_two_bins_by_hand():
    # The reference's median (0.5) cuts two bins holding half each; the current values put a
    # quarter in the first and three quarters in the second.
    psi = population_stability_index(np.array([0, 0, 1, 1]), np.array([0, 1, 1, 1]), bins=2)
    assert psi == pytest.approx((0.25 - 0.5) * math.log(0.25 / 0.5) + (0.75 - 0.5) * math.log(1.5))


def test_psi_of_deciles_with_empty_bins_by_hand():
    # Ten reference values, one per decile; the current values sit in the first and last decile
    # only, and each of the eight empty bins counts as a share of 1e-4.
    reference = np.arange(1, 11, dtype=float)
    current = np.array([1.0] * 5 + [10.0] * 5)
    expected = 2 * (0.5 - 0.1) * math.log(0.5 / 0.1) + 8 * (1e-4 - 0.1) * math.log(1e-4 / 0.1)
    assert population_stability_index(reference, current) == pytest.approx(expected)


def test_a_value_on_a_cut_goes_to_the_bin_above():
    # Review lengths are whole numbers: the reference's median, 1, is itself a value. The bins are
    # [.., 1) and [1, ..), holding a quarter and three quarters; all current values are >= 1.
    psi = population_stability_index(np.array([0, 1, 1, 2]), np.array([1, 1, 1, 2]), bins=2)
    assert psi == pytest.approx(
        (1e-4 - 0.25) * math.log(1e-4 / 0.25) + (1 - 0.75) * math.log(1 / 0.75)
    )


def test_psi_is_zero_for_the_same_distribution():
    values = np.random.default_rng(0).random(1000)
    assert population_stability_index(values, values) == 0
    # Ties in the reference merge its cuts instead of making empty bins.
    assert population_stability_index(np.full(50, 0.5), np.full(20, 0.5)) == 0


def test_psi_needs_values_on_both_sides():
    with pytest.raises(ValueError, match="values on both sides"):
        population_stability_index(np.array([]), np.array([0.5]))
    with pytest.raises(ValueError, match="values on both sides"):
        population_stability_index(np.array([0.5]), np.array([]))


def _corpus(texts: list[str], labels: list[int]) -> pd.DataFrame:
    reviews = pd.DataFrame(
        {
            "review_id": range(len(texts)),
            "Title": [None] * len(texts),
            "Review Text": texts,
            "Recommended IND": labels,
        }
    )
    return stem_reviews(reviews)


def test_drift_figures_against_a_dataset() -> None:
    rng = np.random.default_rng(1)
    words = ["lovely", "dress", "fabric", "soft", "size", "colour", "fits", "small"]
    texts = [" ".join(rng.choice(words, size=int(rng.integers(3, 9)))) for _ in range(400)]
    dataset = build_dataset(_corpus(texts, [int(i % 5 != 0) for i in range(400)]))
    # A drop of other words, shorter, half unhappy.
    drop = _corpus(["blender motor broke"] * 10 + ["kettle leaks"] * 10, [0, 1] * 10)

    figures = drift.measure_drift(drop, dataset, None, None)

    assert figures.not_recommended_share == 0.5
    assert figures.mean_words == pytest.approx(2.5)
    train = dataset.split_reviews("train")[Corpus.TEXT].str.split().str.len()
    assert figures.reference_mean_words == pytest.approx(train.mean())
    assert figures.oov_rate == 1.0 and figures.reference_oov_rate == 0.0
    assert figures.review_length_psi > 1
    assert figures.score_psi is None  # no production scores
    assert drift.oov_problem(figures, THRESHOLDS).startswith("out-of-vocabulary rate 1.000")
    assert drift.length_problem(figures, THRESHOLDS).startswith("review length PSI")

    # The dataset's own test split, measured like a drop, does not drift.
    test = dataset.split_reviews("test")
    scores = rng.random(len(test))
    same = drift.measure_drift(test, dataset, scores, scores)
    assert same.oov_rate == same.reference_oov_rate and same.score_psi == 0
    assert drift.oov_problem(same, THRESHOLDS) is None
    assert drift.length_problem(same, THRESHOLDS) is None
    assert drift.score_problem(same, THRESHOLDS) is None


def test_score_drift_bins_the_drop_by_the_test_splits_scores() -> None:
    # The reference's deciles as bins: the other way round gives another figure.
    rng = np.random.default_rng(3)
    words = ["lovely", "dress", "fabric", "soft", "size", "colour", "fits", "small"]
    texts = [" ".join(rng.choice(words, size=5)) for _ in range(300)]
    dataset = build_dataset(_corpus(texts, [int(i % 5 != 0) for i in range(300)]))
    test_scores, drop_scores = rng.beta(5, 1, 500), rng.beta(2, 2, 500)

    figures = drift.measure_drift(dataset.split_reviews("test"), dataset, drop_scores, test_scores)

    assert figures.score_psi == drift.population_stability_index(test_scores, drop_scores)
    assert figures.score_psi != pytest.approx(
        drift.population_stability_index(drop_scores, test_scores), rel=0.05
    )


def test_words_in_another_alphabet_count_as_out_of_vocabulary() -> None:
    # The stemmer keeps a-z alone: such a word leaves no stem, and must not count as known.
    texts = [f"{t} {i}" for i in range(100) for t in ("lovely soft dress", "small size fits")]
    dataset = build_dataset(_corpus(texts, [1, 0] * 100))
    drop = _corpus(["платье отличное 😍", "ткань мягкая", "naïve café dress"], [1, 0, 1])

    figures = drift.measure_drift(drop, dataset, None, None)

    # 4 Cyrillic words, and 3 stems of which "na" and "caf" are unknown (the emoji is no word).
    assert figures.oov_rate == pytest.approx(6 / 7) and figures.reference_oov_rate == 0.0
    assert drift.oov_problem(figures, THRESHOLDS).startswith("out-of-vocabulary rate 0.857")


def test_before_any_training_data_only_the_drop_itself_is_measured() -> None:
    figures = drift.measure_drift(_corpus(["nice top", "bad"], [1, 0]), None, None, None)
    assert figures.not_recommended_share == 0.5 and figures.mean_words == 1.5
    assert figures.oov_rate is figures.review_length_psi is figures.score_psi is None
    for problem in (drift.oov_problem, drift.length_problem, drift.score_problem):
        assert problem(figures, THRESHOLDS) is None


def _figures(**changes: float) -> DropDrift:
    base = {
        "not_recommended_share": 0.18,
        "mean_words": 60.0,
        "reference_mean_words": 60.0,
        "review_length_psi": 0.0,
        "oov_rate": 0.02,
        "reference_oov_rate": 0.02,
        "score_psi": 0.0,
    }
    return DropDrift(**(base | changes))


@pytest.mark.parametrize(
    ("problem", "quiet", "loud"),
    [
        (
            drift.oov_problem,
            {"oov_rate": 0.05, "reference_oov_rate": 0.0},
            {"oov_rate": 0.0501, "reference_oov_rate": 0.0},
        ),
        (drift.length_problem, {"review_length_psi": 0.25}, {"review_length_psi": 0.2501}),
        (drift.score_problem, {"score_psi": 0.25}, {"score_psi": 0.2501}),
    ],
)
def test_each_check_fires_just_past_its_threshold(problem, quiet, loud) -> None:
    assert problem(_figures(**quiet), THRESHOLDS) is None
    assert problem(_figures(**loud), THRESHOLDS) is not None


def test_a_drop_with_fewer_unknown_words_than_the_reference_is_quiet() -> None:
    assert drift.oov_problem(_figures(oov_rate=0.0, reference_oov_rate=0.2), THRESHOLDS) is None


def test_label_share_is_compared_with_the_earlier_drops() -> None:
    assert drift.label_share_problem(0.279, 0.18, THRESHOLDS) is None
    assert drift.label_share_problem(0.081, 0.18, THRESHOLDS) is None
    found = drift.label_share_problem(0.2801, 0.18, THRESHOLDS)
    assert (
        found
        == "'not recommended' share 0.280 is 0.100 from the earlier drops' 0.180 (threshold 0.1)"
    )
    assert drift.label_share_problem(0.9, None, THRESHOLDS) is None  # the first drop


@pytest.mark.parametrize(
    ("rows", "most_before", "latest_before", "warns"),
    [
        (400, 1000, 1000, True),  # a re-export cut short
        (500, 1000, 1000, False),  # at the share itself
        (400, None, None, False),  # a first content: nothing replaced
        (400, 1000, 300, False),  # grew since its latest content (a cut accepted, added to)
        (200, 1000, 300, True),  # shrank again, against the full content it was cut from
        (300, 1000, 300, False),  # as many as its latest content: it did not shrink
        (400, 1000, None, True),  # the latest content's size unknown: against the largest
    ],
)
def test_a_replacing_content_far_smaller_than_an_earlier_one_warns(
    rows, most_before, latest_before, warns
) -> None:
    problem = drift.replaced_problem(rows, most_before, latest_before, THRESHOLDS)
    assert (problem is not None) is warns
    if warns:
        assert problem.startswith(f"the drop's content holds {rows:,} reviews, ")


def test_each_reference_comes_from_its_split() -> None:
    # A made-up word per review (only its own review has it) makes the test split's
    # out-of-vocabulary rate the reference, above the training split's; the lengths' bins are the
    # training split's deciles, and the other way round gives another figure.
    rng = np.random.default_rng(5)
    words = ["lovely", "dress", "fabric", "soft", "size", "colour", "fits", "small"]
    letters = list("bcdfghjklmnpqrstvwxz")
    texts = [
        " ".join(
            [*rng.choice(words, size=int(rng.integers(2, 12))), "".join(rng.choice(letters, 9))]
        )
        for _ in range(400)
    ]
    dataset = build_dataset(_corpus(texts, [int(i % 5 != 0) for i in range(400)]))
    drop = _corpus(["lovely soft dress"] * 15 + ["small fits"] * 15, [1, 0] * 15)

    figures = drift.measure_drift(drop, dataset, None, None)

    test, train = dataset.split_reviews("test"), dataset.split_reviews("train")
    assert figures.reference_oov_rate == dataset.vocabulary.oov_rate(test) > 0
    assert dataset.vocabulary.oov_rate(train) < figures.reference_oov_rate
    train_words, drop_words = (
        drift.review_words(train[Corpus.TEXT]),
        drift.review_words(drop[Corpus.TEXT]),
    )
    assert figures.review_length_psi == population_stability_index(train_words, drop_words)
    assert figures.review_length_psi != pytest.approx(
        population_stability_index(drop_words, train_words), rel=0.05
    )


def test_a_drop_of_exactly_min_drift_reviews_is_judged() -> None:
    # "Fewer than" the minimum is not judged: the minimum itself is.
    hundred = THRESHOLDS.model_copy(update={"min_drift_reviews": 100})
    assert drift.too_few_to_judge(100, hundred) is None
    assert drift.too_few_to_judge(99, hundred) == (
        "not judged: the drop has 99 review(s), fewer than 100 (min_drift_reviews), too few for a "
        "share, a rate or a PSI to mean anything"
    )


def test_a_label_share_exactly_the_threshold_from_the_earlier_drops_is_quiet() -> None:
    # Only further than the threshold warns. Values exact in binary (0.5, 0.25): 0.28 - 0.18 is
    # 0.10000000000000003 in floating point, above a threshold of 0.1.
    quarter = THRESHOLDS.model_copy(update={"label_share_difference": 0.25})
    assert drift.label_share_problem(0.5, 0.25, quarter) is None
    assert drift.label_share_problem(0.5001, 0.25, quarter) is not None
    # A tie in shares inexact in binary is within the threshold too (it warned, "0.100 from").
    assert drift.label_share_problem(0.28, 0.18, THRESHOLDS) is None
    assert drift.label_share_problem(0.18, 0.28, THRESHOLDS) is None
    assert drift.label_share_problem(0.2801, 0.18, THRESHOLDS) is not None


def test_an_out_of_vocabulary_rate_exactly_the_threshold_above_the_reference_is_quiet() -> None:
    # 0.8 - 0.75 is 0.050000000000000044 in binary floating point, above the threshold 0.05; a
    # tie is within it all the same.
    tie = _figures(oov_rate=0.8, reference_oov_rate=0.75)
    assert drift.oov_problem(tie, THRESHOLDS) is None
    assert drift.oov_problem(_figures(oov_rate=0.8001, reference_oov_rate=0.75), THRESHOLDS)
