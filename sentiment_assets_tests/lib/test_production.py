"""The promotion rule, as a pure function of how the challenger scored and how it compares with
production."""

import math

import pytest

from sentiment_assets.lib.production import (
    ROC_AUC_FLOOR,
    SANITY_REVIEWS,
    AucComparison,
    Verdict,
    choose_challenger,
    decide,
    quality_problems,
)
from sentiment_assets.lib.training import CandidateResult
from sentiment_assets.model.evaluation import Metrics
from sentiment_assets_tests.lib import builders

NAN = math.nan


def _comparison(difference: float, p_value: float, level: float = 0.05) -> AucComparison:
    return AucComparison(
        reviews=1000,
        challenger_roc_auc=0.9 + difference,
        production_roc_auc=0.9,
        difference=difference,
        low=difference - 0.01,
        high=difference + 0.01,
        p_value=p_value,
        level=level,
    )


def test_the_first_model_that_passes_the_gate_is_promoted():
    verdict = decide(builders.model(roc_auc=0.81), None)
    assert verdict == Verdict(True, verdict.reason)
    assert "no production model" in verdict.reason and "0.8100" in verdict.reason


def test_a_model_below_the_roc_auc_floor_is_refused_even_as_the_first():
    below = decide(builders.model(roc_auc=ROC_AUC_FLOOR - 0.0001), None)
    assert not below.promote
    assert f"{ROC_AUC_FLOOR - 0.0001:.4f} is below the floor {ROC_AUC_FLOOR}" in below.reason
    assert decide(builders.model(roc_auc=ROC_AUC_FLOOR), None).promote


@pytest.mark.parametrize("comparison", [None, _comparison(0.1, 1e-9)])
def test_constant_output_is_refused_even_with_a_better_score(comparison):
    verdict = decide(builders.model(roc_auc=0.99, constant=True), comparison)
    assert not verdict.promote
    assert "every review the same score" in verdict.reason


@pytest.mark.parametrize("comparison", [None, _comparison(0.1, 1e-9)])
@pytest.mark.parametrize("accuracy", [0.82, 0.80, NAN])
def test_not_beating_the_majority_baseline_is_refused(accuracy, comparison):
    # Equal is not enough: a model predicting "recommended" everywhere scores exactly the baseline.
    verdict = decide(builders.model(accuracy=accuracy, baseline=0.82, roc_auc=0.9), comparison)
    assert not verdict.promote
    assert "0.8200" in verdict.reason


def test_just_beating_the_baseline_is_enough():
    assert decide(builders.model(accuracy=0.8201, baseline=0.82), None).promote


@pytest.mark.parametrize("comparison", [None, _comparison(0.1, 1e-9)])
def test_undefined_roc_auc_is_refused(comparison):
    verdict = decide(builders.model(roc_auc=NAN), comparison)
    assert not verdict.promote
    assert "undefined" in verdict.reason


@pytest.mark.parametrize("comparison", [None, _comparison(0.1, 1e-9)])
def test_a_model_that_gets_a_sanity_review_wrong_is_refused_before_the_alias_moves(comparison):
    verdict = decide(builders.model(roc_auc=0.99, sane=False), comparison)
    assert not verdict.promote
    assert "sanity review(s) wrong" in verdict.reason
    assert all(repr(text) in verdict.reason for text in SANITY_REVIEWS)


def test_a_challenger_better_beyond_chance_is_promoted_with_the_evidence_in_the_reason():
    verdict = decide(builders.model(), _comparison(0.02, 0.001))
    assert verdict.promote
    assert "difference +0.0200" in verdict.reason
    assert "95% interval +0.0100 to +0.0300" in verdict.reason
    assert "p = 0.001 < 0.05: better by more than chance" in verdict.reason


@pytest.mark.parametrize(
    ("p_value", "promote", "told"),
    [
        (0.0496, True, "p = 0.0496 < 0.05: better"),
        (0.0504, False, "p = 0.0504: not better by more than chance at level 0.05"),
        (0.04996, True, "p = 0.04996 < 0.05"),
        (0.05, False, "p = 0.05: not better"),
    ],
)
def test_a_p_value_near_the_level_is_not_rounded_onto_it(p_value, promote, told):
    verdict = decide(builders.model(), _comparison(0.02, p_value))
    assert verdict.promote is promote
    assert told in verdict.reason
    assert _comparison(0.02, p_value).p_value_text() in told  # the version's tag too


def test_a_p_value_is_not_rounded_across_a_level_of_more_digits():
    # Two digits would print 0.012 for 0.0124, below the level 0.0123 it is above.
    assert _comparison(0.02, 0.0124, level=0.0123).p_value_text() == "0.0124"
    assert _comparison(0.02, 0.0122, level=0.0123).p_value_text() == "0.012"  # below, as it is


@pytest.mark.parametrize(
    ("difference", "p_value", "level"),
    [
        (0.0, 1.0, 0.05),  # identical scores
        (0.004, 0.3, 0.05),  # higher, but chance does that often
        (0.02, 0.04, 0.01),  # significant at 0.05, not at the configured 0.01
        (0.02, 0.05, 0.05),  # the level itself is not below the level
        (-0.05, 1e-6, 0.05),  # clearly worse
    ],
)
def test_a_challenger_not_better_beyond_chance_is_kept(difference, p_value, level):
    verdict = decide(builders.model(), _comparison(difference, p_value, level))
    assert not verdict.promote
    assert f"not better by more than chance at level {level}" in verdict.reason


def test_the_gate_lists_every_problem_and_nothing_for_a_good_model():
    assert quality_problems(builders.model()) == []
    problems = quality_problems(
        builders.model(roc_auc=0.6, accuracy=0.8, constant=True, sane=False)
    )
    assert len(problems) == 4


def test_the_challenger_is_chosen_on_validation_never_on_test():
    candidates = [builders.candidate("a", 0.90, 0.99), builders.candidate("b", 0.95, 0.80)]
    assert choose_challenger(candidates).name == "b"


def test_a_candidate_result_survives_its_json_round_trip_with_an_undefined_auc():
    result = builders.candidate("a", NAN, 0.9)
    back = CandidateResult.model_validate_json(result.model_dump_json())
    assert math.isnan(back.validation.roc_auc)
    assert back.test == result.test and isinstance(back.test, Metrics)
