"""DeLong's paired test of two ROC AUCs, checked against its definition, scikit-learn and a paired
bootstrap, and the promotions it allows."""

import math

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from sentiment_assets.lib.production import compare_f1, compare_roc_auc, decide
from sentiment_assets_tests.lib import builders


def _reviews(n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Labels (about 20 % negative, like the real drops) and two correlated models' scores: the
    first a little better than the second."""
    rng = np.random.default_rng(seed)
    labels = (rng.random(n) > 0.2).astype(int)
    shared = rng.normal(size=n)
    first = 1.2 * labels + shared + 0.6 * rng.normal(size=n)
    second = 1.0 * labels + shared + 0.6 * rng.normal(size=n)
    return labels, first, second


def _auc(labels: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """ROC AUC of each row by the Mann-Whitney rank sum (scipy's ranks, not the tested code's)."""
    from scipy.stats import rankdata

    positives = labels.sum(axis=1)
    negatives = labels.shape[1] - positives
    rank_sum = (rankdata(scores, axis=1) * labels).sum(axis=1)
    return (rank_sum - positives * (positives + 1) / 2) / (positives * negatives)


def _delong_by_definition(labels, first, second) -> tuple[float, float]:
    """The difference and its standard error from DeLong's placement values, pair by pair."""
    positive = labels == 1
    components = []
    for scores in (first, second):
        x, y = scores[positive][:, None], scores[~positive][None, :]
        kernel = (x > y) + 0.5 * (x == y)
        components.append((kernel.mean(axis=1), kernel.mean(axis=0)))
    (v10a, v01a), (v10b, v01b) = components
    m, n = positive.sum(), (~positive).sum()
    variance = np.var(v10a - v10b, ddof=1) / m + np.var(v01a - v01b, ddof=1) / n
    return v10a.mean() - v10b.mean(), math.sqrt(variance)


def test_identical_scores_show_no_difference_and_are_never_promoted():
    labels, scores, _ = _reviews(500, seed=1)
    same = compare_roc_auc(labels, scores, scores.copy(), level=0.05)
    assert same.difference == 0 and same.low == 0 and same.high == 0
    assert same.p_value == 1.0
    assert not same.better_beyond_chance
    assert not decide(builders.model(), same).promote


def test_a_perfect_challenger_against_a_constant_model_is_better_beyond_chance():
    # Every review's share moves by the same 0.5: no variance, and a certain difference.
    labels = np.array([0, 0, 0, 1, 1, 1, 1])
    perfect = labels + 0.1 * np.arange(len(labels))
    constant = np.full(len(labels), 0.7)
    comparison = compare_roc_auc(labels, perfect, constant, level=0.05)
    assert comparison.challenger_roc_auc == 1.0 and comparison.production_roc_auc == 0.5
    assert comparison.difference == 0.5 and comparison.low == comparison.high == 0.5
    assert comparison.p_value == 0.0
    assert comparison.better_beyond_chance
    assert decide(builders.model(), comparison).promote


@pytest.mark.parametrize("seed", [2, 3, 4])
def test_the_aucs_are_scikit_learns_and_the_error_is_delongs_definition(seed):
    labels, first, second = _reviews(400, seed)
    # Rounded scores tie, which both the midranks and the definition count as half.
    first, second = np.round(first, 1), np.round(second, 1)
    comparison = compare_roc_auc(labels, first, second, level=0.05)
    assert comparison.challenger_roc_auc == pytest.approx(roc_auc_score(labels, first), abs=1e-12)
    assert comparison.production_roc_auc == pytest.approx(roc_auc_score(labels, second), abs=1e-12)
    difference, error = _delong_by_definition(labels, first, second)
    assert comparison.difference == pytest.approx(difference, abs=1e-12)
    assert comparison.p_value == pytest.approx(math.erfc(abs(difference) / error / math.sqrt(2)))
    assert comparison.high - comparison.low == pytest.approx(2 * 1.959964 * error, rel=1e-5)


@pytest.mark.parametrize("seed", [5, 6])
def test_delong_agrees_with_a_paired_bootstrap_on_random_data(seed):
    labels, first, second = _reviews(800, seed)
    comparison = compare_roc_auc(labels, first, second, level=0.05)
    rng = np.random.default_rng(seed)
    samples = rng.integers(0, len(labels), (2000, len(labels)))
    differences = _auc(labels[samples], first[samples]) - _auc(labels[samples], second[samples])
    bootstrap_error = np.std(differences, ddof=1)
    delong_error = (comparison.high - comparison.low) / (2 * 1.959964)
    assert delong_error == pytest.approx(bootstrap_error, rel=0.15)
    low, high = np.percentile(differences, [2.5, 97.5])
    assert comparison.low == pytest.approx(low, abs=0.01)
    assert comparison.high == pytest.approx(high, abs=0.01)


def test_a_clearly_better_challenger_is_promoted():
    rng = np.random.default_rng(7)
    labels = (rng.random(1000) > 0.2).astype(int)
    strong = 2.5 * labels + rng.normal(size=1000)
    weak = 0.8 * labels + rng.normal(size=1000)
    comparison = compare_roc_auc(labels, strong, weak, level=0.05)
    assert comparison.difference > 0.1 and comparison.low > 0
    assert comparison.p_value < 1e-6
    assert decide(builders.model(), comparison).promote


def test_a_marginally_different_challenger_is_not_promoted():
    labels, scores, _ = _reviews(1000, seed=8)
    nudged = scores + np.random.default_rng(9).normal(scale=0.05, size=len(scores))
    comparison = compare_roc_auc(labels, nudged, scores, level=0.05)
    assert comparison.difference != 0 and abs(comparison.difference) < 0.01
    assert comparison.low < 0 < comparison.high
    assert comparison.p_value > 0.05
    assert not decide(builders.model(), comparison).promote


def test_swapping_the_models_negates_the_difference_and_keeps_the_p_value():
    labels, first, second = _reviews(300, seed=10)
    forward = compare_roc_auc(labels, first, second, level=0.1)
    backward = compare_roc_auc(labels, second, first, level=0.1)
    assert backward.difference == pytest.approx(-forward.difference)
    assert backward.p_value == pytest.approx(forward.p_value)
    assert (backward.low, backward.high) == pytest.approx((-forward.high, -forward.low))


def test_a_stricter_level_widens_the_interval():
    labels, first, second = _reviews(300, seed=11)
    loose = compare_roc_auc(labels, first, second, level=0.1)
    strict = compare_roc_auc(labels, first, second, level=0.01)
    assert strict.low < loose.low < loose.high < strict.high
    assert strict.p_value == loose.p_value


@pytest.mark.parametrize("level", [0, 1, -0.1, 1.5])
def test_a_level_outside_zero_to_one_is_refused(level):
    labels, first, second = _reviews(100, seed=12)
    with pytest.raises(ValueError, match="between 0 and 1"):
        compare_roc_auc(labels, first, second, level=level)


def test_one_label_only_is_refused():
    with pytest.raises(ValueError, match="two test reviews of each label"):
        compare_roc_auc(np.ones(10), np.arange(10), np.arange(10), level=0.05)


def _answers(labels: np.ndarray, scores: np.ndarray, threshold: float) -> np.ndarray:
    return (scores >= threshold).astype(int)


def _f1_at(share: float, level: float = 0.05):
    """Seed 4's 2,600 reviews: the first model's F1 labelling its lowest `share` of reviews "not
    recommended", against the second's at a tuned threshold (its lowest 20 %)."""
    labels, first, second = _reviews(2600, seed=4)
    return compare_f1(
        labels,
        _answers(labels, first, np.quantile(first, share)),
        _answers(labels, second, np.quantile(second, 0.2)),
        level=level,
    )


def test_the_f1_comparison_matches_scikit_learn_and_a_bootstrap_of_reviews():
    from sklearn.metrics import f1_score

    labels, first, second = _reviews(1500, seed=21)
    challenger, production = _answers(labels, first, 0.4), _answers(labels, second, 0.6)
    f1 = compare_f1(labels, challenger, production, level=0.05)

    assert f1.challenger_f1 == pytest.approx(f1_score(labels, challenger, pos_label=0))
    assert f1.production_f1 == pytest.approx(f1_score(labels, production, pos_label=0))
    assert f1.difference == pytest.approx(f1.challenger_f1 - f1.production_f1)
    # The same interval as drawing the reviews themselves again, 2,000 times.
    rng = np.random.default_rng(5)
    drawn = rng.integers(0, len(labels), size=(2000, len(labels)))

    def f1_of_each_draw(answers: np.ndarray) -> np.ndarray:
        unhappy, called = labels[drawn] == 0, answers[drawn] == 0
        caught = (unhappy & called).sum(axis=1)
        return 2 * caught / (unhappy.sum(axis=1) + called.sum(axis=1))

    differences = f1_of_each_draw(challenger) - f1_of_each_draw(production)
    low, high = np.quantile(differences, [0.025, 0.975])
    assert (f1.low, f1.high) == pytest.approx((low, high), abs=0.01)
    # Identical answers: no difference in any resample.
    same = compare_f1(labels, challenger, challenger, level=0.05)
    assert (same.difference, same.low, same.high) == (0, 0, 0)
    assert not same.worse_beyond_chance


def test_a_better_ranking_served_at_a_threshold_that_catches_fewer_unhappy_reviews_is_kept():
    """A review's case on the real drops: ROC AUC better beyond chance, F1 of "not recommended"
    0.55 against 0.77 at the threshold it serves with; the rule judged ranking only."""
    labels, first, second = _reviews(2600, seed=4)
    comparison = compare_roc_auc(labels, first, second, level=0.05)
    assert comparison.better_beyond_chance
    # Production at its tuned threshold; the challenger at one that calls few reviews unhappy.
    f1 = _f1_at(0.05)
    assert f1.worse_beyond_chance
    verdict = decide(builders.model(), comparison, f1=f1)
    assert not verdict.promote
    assert "worse by more than chance at the threshold it serves with" in verdict.reason
    # At a threshold as good as production's, the better ranking is promoted.
    fair = _f1_at(0.2)
    assert not fair.worse_beyond_chance
    assert decide(builders.model(), comparison, f1=fair).promote


def test_an_f1_a_little_lower_within_chance_does_not_keep_a_better_ranking_out():
    labels, first, second = _reviews(2600, seed=4)
    comparison = compare_roc_auc(labels, first, second, level=0.05)
    f1 = _f1_at(0.1)
    assert f1.difference < 0 < f1.high and f1.low < 0  # lower, within chance
    assert not f1.worse_beyond_chance
    assert decide(builders.model(), comparison, f1=f1).promote


def test_the_f1_interval_is_repeatable_and_at_the_level_asked():
    f1 = _f1_at(0.1)
    assert _f1_at(0.1) == f1  # seeded
    # A normal interval's width is 2 x 1.96 standard errors at 95 % (2 x 1.645 at 90 %).
    wider, narrower = _f1_at(0.1, level=0.01), _f1_at(0.1, level=0.10)
    assert (wider.high - wider.low) / (f1.high - f1.low) == pytest.approx(2.576 / 1.96, rel=0.05)
    assert (narrower.high - narrower.low) / (f1.high - f1.low) == pytest.approx(
        1.645 / 1.96, rel=0.05
    )
