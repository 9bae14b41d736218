"""The production decision: which candidate challenges production, the quality gate every
production model passes, and whether the challenger takes the `production` alias (pure functions),
and the evidence they decide on (`score_model`).

`ProductionDecision` is what `production_model` hands on; its check, `sentiment-run`'s report and
the benchmark read this one type.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

import pandas as pd
from pydantic import BaseModel, ConfigDict

from sentiment_assets.model.evaluation import Metrics
from sentiment_assets.model.stems import Corpus

SELECTION_METRIC = "roc_auc"
# Catches a broken model (collapsed, inverted, trained on garbage), not a mediocre one: whether a
# model is better is the comparison with production. Real drops give 0.96, sample drops about 0.95.
ROC_AUC_FLOOR = 0.75

# Reviews whose sentiment nobody disputes: a production model gets every one right.
SANITY_REVIEWS: dict[str, int] = {
    "I will tell my friends for sure": 1,
    "The fabric ripped after one wash, I am returning it": 0,
}


class SanityPrediction(BaseModel):
    text: str
    expected: int
    probability: float
    label: int


class ScoredModel(BaseModel):
    """A model as the decision saw it: scored on the current test split and the sanity reviews."""

    model_config = ConfigDict(frozen=True, ser_json_inf_nan="constants")

    name: str
    version: str | None
    run_id: str | None
    test: Metrics
    sanity: list[SanityPrediction]


class ProductionDecision(BaseModel):
    """Whether the challenger took the production alias, and why, with both models' scores."""

    model_config = ConfigDict(frozen=True, ser_json_inf_nan="constants")

    promoted: bool
    reason: str
    challenger: ScoredModel
    champion: ScoredModel | None
    production_version: str | None

    @property
    def production(self) -> ScoredModel | None:
        """Whichever model holds the alias after the decision."""
        return self.challenger if self.promoted else self.champion


class Validated(Protocol):
    """Anything scored on validation: a `CandidateResult`, or a candidate the benchmark trained."""

    @property
    def validation(self) -> Metrics: ...


ValidatedT = TypeVar("ValidatedT", bound=Validated)


def choose_challenger(candidates: Sequence[ValidatedT]) -> ValidatedT:
    """The candidate with the best validation ROC AUC: the test split never chooses."""
    return max(candidates, key=lambda c: getattr(c.validation, SELECTION_METRIC))


def quality_problems(model: ScoredModel) -> list[str]:
    """The gate every production model passes; empty when it does.

    It must beat the majority-class baseline on accuracy (a model that predicts one class
    everywhere cannot), must not give every review the same score, must reach ROC_AUC_FLOOR, and
    must get every sanity review right.
    """
    test = model.test
    problems = []
    if test.constant_output:
        problems.append("it gives every review the same score")
    if not test.accuracy > test.majority_baseline_accuracy:
        problems.append(
            f"accuracy {test.accuracy:.4f} does not beat the majority baseline "
            f"{test.majority_baseline_accuracy:.4f}"
        )
    if math.isnan(test.roc_auc):
        problems.append("ROC AUC is undefined (the test split has one class)")
    elif test.roc_auc < ROC_AUC_FLOOR:
        problems.append(f"ROC AUC {test.roc_auc:.4f} is below the floor {ROC_AUC_FLOOR}")
    wrong = [s.text for s in model.sanity if s.label != s.expected]
    if wrong:
        problems.append(f"it gets sanity review(s) wrong: {', '.join(map(repr, wrong))}")
    return problems


@dataclass(frozen=True)
class Verdict:
    """Whether the challenger takes the production alias, and why, in words for the UI."""

    promote: bool
    reason: str


def decide(challenger: ScoredModel, champion: ScoredModel | None) -> Verdict:
    """The promotion rule; both models are scored on the same, current test split.

    1. The challenger passes the quality gate (`quality_problems`).
    2. It is at least as good as the current production model on test ROC AUC.
    """
    problems = quality_problems(challenger)
    if problems:
        return Verdict(False, "challenger refused: " + "; ".join(problems))
    score = challenger.test.roc_auc
    if champion is None:
        return Verdict(True, f"no production model yet; challenger ROC AUC {score:.4f}")
    best = champion.test.roc_auc
    if score >= best:
        return Verdict(True, f"challenger ROC AUC {score:.4f} >= production {best:.4f}")
    return Verdict(False, f"challenger ROC AUC {score:.4f} < production {best:.4f}")


def score_model(
    model: Any, reviews: pd.DataFrame, *, name: str, version: str | None, run_id: str | None
) -> ScoredModel:
    """A logged model (a pyfunc) scored on raw reviews, through its own preprocessing and with its
    own threshold, and on the sanity reviews."""
    from sentiment_assets.model import predictions as p
    from sentiment_assets.model.evaluation import classification_metrics

    predicted = model.predict(
        pd.DataFrame({p.TEXT_COLUMN: reviews[Corpus.TEXT], p.TITLE_COLUMN: reviews[Corpus.TITLE]})
    )
    test = classification_metrics(
        reviews[Corpus.LABEL].to_numpy(),
        predicted[p.PROBABILITY_COLUMN].to_numpy(),
        predicted=predicted[p.LABEL_COLUMN].to_numpy(),
    )
    sanity = model.predict(pd.DataFrame({p.TEXT_COLUMN: list(SANITY_REVIEWS)}))
    return ScoredModel(
        name=name,
        version=version,
        run_id=run_id,
        test=test,
        sanity=[
            SanityPrediction(text=text, expected=expected, probability=probability, label=label)
            for (text, expected), probability, label in zip(
                SANITY_REVIEWS.items(),
                sanity[p.PROBABILITY_COLUMN],
                sanity[p.LABEL_COLUMN],
                strict=True,
            )
        ],
    )
