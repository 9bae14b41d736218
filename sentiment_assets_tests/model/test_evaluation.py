import math

import numpy as np
import pytest

from sentiment_assets.model.evaluation import (
    NOT_RECOMMENDED,
    brier_score,
    calibration_error,
    classification_metrics,
    is_constant,
    majority_baseline,
    not_recommended_share,
    reliability_table,
)

# Three "not recommended" (0) reviews and seven recommended ones; the probability is P(label 1).
LABELS = np.array([0, 0, 0, 1, 1, 1, 1, 1, 1, 1])
PROBABILITIES = np.array([0.1, 0.4, 0.7, 0.2, 0.3, 0.8, 0.9, 0.55, 0.65, 0.95])
# At 0.5 the predictions are 0 0 1 0 0 1 1 1 1 1: for class 0, TP = 2, FP = 2, FN = 1.


def test_precision_recall_and_f1_are_those_of_not_recommended():
    # Catching every unhappy review (label 0) and nothing else: perfect for the class to catch,
    # whatever happens to the recommended ones.
    labels = np.array([NOT_RECOMMENDED, NOT_RECOMMENDED, 1, 1, 1, 1])
    predicted = np.array([0, 0, 0, 1, 1, 1])
    metrics = classification_metrics(
        labels, np.array([0.1, 0.2, 0.3, 0.9, 0.8, 0.7]), predicted=predicted
    )
    assert metrics.not_recommended_recall == 1.0
    assert metrics.not_recommended_precision == pytest.approx(2 / 3)


def test_metrics_on_hand_computed_arrays():
    metrics = classification_metrics(LABELS, PROBABILITIES)
    assert metrics.as_dict() == pytest.approx(
        {
            "accuracy": 7 / 10,
            # Of the 21 (recommended, not recommended) pairs, 15 rank the recommended one higher.
            "roc_auc": 15 / 21,
            "not_recommended_precision": 2 / 4,
            "not_recommended_recall": 2 / 3,
            "not_recommended_f1": 2 * (1 / 2) * (2 / 3) / (1 / 2 + 2 / 3),
            "majority_baseline_accuracy": 7 / 10,
            "constant_output": 0.0,
            # The confusion matrix: TN/FP/FN/TP seen from class 0 above.
            "n_not_recommended_predicted_not_recommended": 2,
            "n_not_recommended_predicted_recommended": 1,
            "n_recommended_predicted_not_recommended": 2,
            "n_recommended_predicted_recommended": 5,
        }
    )
    assert metrics.constant_output is False


def test_metrics_accept_lists_and_boolean_like_labels():
    from_lists = classification_metrics(LABELS.tolist(), PROBABILITIES.tolist())
    from_floats = classification_metrics(LABELS.astype(float), PROBABILITIES)
    assert from_lists == pytest.approx(classification_metrics(LABELS, PROBABILITIES))
    assert from_floats == pytest.approx(from_lists)


def test_threshold_moves_the_predictions_but_not_the_auc():
    # At 0.35 only 0.1, 0.2 and 0.3 are predicted 0: TP = 1, FP = 2, FN = 2.
    metrics = classification_metrics(LABELS, PROBABILITIES, threshold=0.35)
    assert metrics.accuracy == pytest.approx(6 / 10)
    assert metrics.not_recommended_precision == pytest.approx(1 / 3)
    assert metrics.not_recommended_recall == pytest.approx(1 / 3)
    assert metrics.roc_auc == pytest.approx(15 / 21)


def test_a_probability_at_the_threshold_counts_as_recommended():
    metrics = classification_metrics(np.array([0, 1]), np.array([0.5, 0.5]))
    assert metrics.accuracy == 0.5
    assert metrics.not_recommended_recall == 0.0
    assert metrics.not_recommended_precision == 0.0  # nothing predicted 0: no division error
    assert metrics.not_recommended_f1 == 0.0
    assert metrics.roc_auc == 0.5


def test_a_perfect_model():
    metrics = classification_metrics(LABELS, LABELS * 0.8 + 0.1)
    assert metrics.accuracy == 1.0 and metrics.roc_auc == 1.0
    assert metrics.not_recommended_precision == metrics.not_recommended_recall == 1.0
    assert metrics.not_recommended_f1 == 1.0


def test_roc_auc_is_nan_with_one_class_and_the_rest_still_computed():
    metrics = classification_metrics(np.array([1, 1, 1]), np.array([0.9, 0.2, 0.8]))
    assert math.isnan(metrics.roc_auc)
    assert metrics.accuracy == pytest.approx(2 / 3)
    assert metrics.majority_baseline_accuracy == 1.0
    assert metrics.not_recommended_precision == 0.0
    assert metrics.not_recommended_recall == 0.0

    only_negative = classification_metrics(np.array([0, 0]), np.array([0.1, 0.2]))
    assert math.isnan(only_negative.roc_auc)
    assert only_negative.not_recommended_recall == 1.0


@pytest.mark.parametrize(
    ("labels", "expected"),
    [([1, 1, 1, 0], 0.75), ([0, 0, 0, 1], 0.75), ([1, 0], 0.5), ([1], 1.0), ([0, 0], 1.0)],
)
def test_majority_baseline(labels, expected):
    assert majority_baseline(np.array(labels)) == expected


def test_majority_baseline_of_nothing_is_nan():
    assert math.isnan(majority_baseline(np.array([])))


def test_is_constant():
    assert is_constant(np.full(5, 0.83))
    assert is_constant(np.array([0.3, 0.3 + 1e-7]))
    assert is_constant(np.array([]))
    assert is_constant([0.5])
    assert not is_constant(np.array([0.3, 0.31]))
    assert not is_constant(np.array([0.0, 1.0]))


def test_is_constant_tolerance():
    scores = np.array([0.5, 0.505])
    assert not is_constant(scores)
    assert is_constant(scores, tolerance=0.01)


def test_brier_score_by_hand():
    # (0.2 - 0)^2, (0.9 - 1)^2, (0.4 - 1)^2
    assert brier_score(np.array([0, 1, 1]), np.array([0.2, 0.9, 0.4])) == pytest.approx(
        (0.04 + 0.01 + 0.36) / 3
    )
    assert brier_score(np.array([0, 1]), np.array([0.5, 0.5])) == pytest.approx(0.25)


def test_reliability_table_and_calibration_error_by_hand():
    labels = np.array([0, 0, 1, 1, 1, 0])
    probabilities = np.array([0.05, 0.15, 0.12, 0.95, 1.0, 0.1])
    table = reliability_table(labels, probabilities)
    # [0, 0.1): 0.05; [0.1, 0.2): 0.15, 0.12 and 0.1 (a bin holds its lower edge); the last bin
    # holds 1.0; empty bins are left out.
    assert [(b.low, b.high, b.reviews) for b in table] == [
        (0.0, 0.1, 1),
        (0.1, 0.2, 3),
        (0.9, 1.0, 2),
    ]
    assert [b.mean_probability for b in table] == pytest.approx([0.05, 0.37 / 3, 0.975])
    assert [b.recommended_share for b in table] == pytest.approx([0.0, 1 / 3, 1.0])
    assert calibration_error(table) == pytest.approx(
        (1 * 0.05 + 3 * abs(0.37 / 3 - 1 / 3) + 2 * 0.025) / 6
    )


def test_a_probability_on_a_bin_edge_is_in_the_bin_it_opens():
    """Every edge: 0.3, 0.6 and 0.7 fell in the bin below (linspace's edges are not exact)."""
    edges = np.arange(10) / 10
    table = reliability_table(np.ones(10), edges)
    assert [(b.low, b.high, b.reviews, b.mean_probability) for b in table] == [
        (edge, round(edge + 0.1, 10), 1, edge) for edge in edges
    ]
    # Just below an edge stays below it (0.3 * 3; times ten, it rounds up to 9.0).
    (below,) = reliability_table(np.ones(1), np.array([0.8999999999999999]))
    assert (below.low, below.high) == (0.8, 0.9)


def test_a_calibrated_model_has_no_calibration_error():
    # Every bin's mean probability equals its observed share.
    labels = np.array([1, 0, 1, 1, 1, 0, 0, 0])
    probabilities = np.array([0.75, 0.75, 0.75, 0.75, 0.25, 0.25, 0.25, 0.25])
    assert calibration_error(reliability_table(labels, probabilities)) == pytest.approx(0.0)


def test_figures_of_no_reviews_are_undefined_not_perfect():
    assert math.isnan(brier_score(np.array([]), np.array([])))
    assert math.isnan(calibration_error(reliability_table(np.array([]), np.array([]))))
    assert not_recommended_share([]) == 0.0
