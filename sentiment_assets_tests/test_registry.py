import pytest

from sentiment_assets.registry import (
    EXPERIMENT_NAME,
    MODEL_NAME,
    PRODUCTION_ALIAS,
    PRODUCTION_URI,
    ROC_AUC_FLOOR,
    SELECTION_METRIC,
    Decision,
    decide,
    model_uri,
)

NAN = float("nan")


def _metrics(
    roc_auc: float = 0.85,
    accuracy: float = 0.88,
    baseline: float = 0.82,
    constant: float | None = 0.0,
) -> dict[str, float]:
    metrics = {"roc_auc": roc_auc, "accuracy": accuracy, "majority_baseline_accuracy": baseline}
    if constant is not None:
        metrics["constant_output"] = constant
    return metrics


def test_names_and_production_uri():
    assert MODEL_NAME == EXPERIMENT_NAME == "customer-sentiment-analysis"
    assert PRODUCTION_ALIAS == "production"
    assert SELECTION_METRIC == "roc_auc"
    assert model_uri() == PRODUCTION_URI == "models:/customer-sentiment-analysis@production"
    assert model_uri("other-model", "staging") == "models:/other-model@staging"


def test_first_model_that_beats_the_baseline_is_promoted():
    decision = decide(_metrics(roc_auc=0.81), None)
    assert decision == Decision(True, decision.reason)
    assert "no production model" in decision.reason and "0.8100" in decision.reason


def test_a_model_below_the_roc_auc_floor_is_refused_even_as_the_first():
    assert ROC_AUC_FLOOR == 0.75
    decision = decide(_metrics(roc_auc=0.7499), None)
    assert not decision.promote
    assert "0.7499 is below the floor 0.75" in decision.reason
    assert decide(_metrics(roc_auc=0.75), None).promote


def test_missing_constant_output_counts_as_varied():
    assert decide(_metrics(constant=None), None).promote


@pytest.mark.parametrize("champion", [None, _metrics(roc_auc=0.5)])
def test_constant_output_is_refused_even_with_a_better_score(champion):
    decision = decide(_metrics(roc_auc=0.99, constant=1.0), champion)
    assert not decision.promote
    assert "baseline" in decision.reason


@pytest.mark.parametrize("champion", [None, _metrics(roc_auc=0.5)])
@pytest.mark.parametrize("accuracy", [0.82, 0.80, NAN])
def test_not_beating_the_majority_baseline_is_refused(accuracy, champion):
    # Equal is not enough: a model predicting "recommended" everywhere scores exactly the baseline.
    decision = decide(_metrics(accuracy=accuracy, baseline=0.82, roc_auc=0.9), champion)
    assert not decision.promote
    assert "0.8200" in decision.reason


def test_just_beating_the_baseline_is_enough():
    assert decide(_metrics(accuracy=0.8201, baseline=0.82), None).promote


@pytest.mark.parametrize("champion", [None, _metrics(roc_auc=0.5)])
def test_undefined_roc_auc_is_refused(champion):
    decision = decide(_metrics(roc_auc=NAN), champion)
    assert not decision.promote
    assert "undefined" in decision.reason


@pytest.mark.parametrize(("challenger_auc", "champion_auc"), [(0.86, 0.85), (0.85, 0.85)])
def test_challenger_at_least_as_good_as_the_champion_is_promoted(challenger_auc, champion_auc):
    decision = decide(_metrics(roc_auc=challenger_auc), _metrics(roc_auc=champion_auc))
    assert decision.promote
    assert ">=" in decision.reason


def test_challenger_worse_than_the_champion_is_refused():
    decision = decide(_metrics(roc_auc=0.849), _metrics(roc_auc=0.85))
    assert not decision.promote
    assert "0.8490 < production 0.8500" in decision.reason


def test_only_the_challengers_baseline_and_the_champions_auc_matter():
    # The champion is compared on ROC AUC alone, whatever its accuracy or output.
    weak_champion = _metrics(roc_auc=0.8, accuracy=0.5, constant=1.0)
    assert decide(_metrics(roc_auc=0.81), weak_champion).promote
    assert not decide(_metrics(roc_auc=0.79), weak_champion).promote
