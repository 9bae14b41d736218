"""The production decision: which candidate challenges production, the quality gate every
production model passes, the paired test of the challenger against production, and whether the
challenger takes the `production` alias (pure functions), and the evidence they decide on
(`score_model`).

`ProductionDecision` is what `production_model` hands on; its check, `sentiment-run`'s report and
the benchmark read this one type.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import NormalDist
from typing import Any, Protocol, TypeVar

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict

from sentiment_assets.lib.live_gap import LiveGap
from sentiment_assets.lib.monitoring import Scored, predict_reviews
from sentiment_assets.model.evaluation import Metrics
from sentiment_assets.model.stems import Corpus

SELECTION_METRIC = "roc_auc"
# Catches a broken model (collapsed, inverted, trained on garbage), not a mediocre one: whether a
# model is better is the comparison with production. Real drops give 0.96, sample drops about 0.95.
ROC_AUC_FLOOR = 0.75

# The significance level of the paired test when the launchpad sets none.
DEFAULT_SIGNIFICANCE_LEVEL = 0.05

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


class AucComparison(BaseModel):
    """Challenger minus production ROC AUC on the same test reviews, with DeLong's paired test:
    the difference, its `1 - level` confidence interval and the two-sided p-value."""

    model_config = ConfigDict(frozen=True)

    reviews: int
    challenger_roc_auc: float
    production_roc_auc: float
    difference: float
    low: float
    high: float
    p_value: float
    level: float

    @property
    def better_beyond_chance(self) -> bool:
        """The challenger scores higher and chance alone would rarely give such a difference (the
        interval lies above zero)."""
        return self.difference > 0 and self.p_value < self.level

    def summary(self) -> str:
        return (
            f"challenger ROC AUC {self.challenger_roc_auc:.4f} against production "
            f"{self.production_roc_auc:.4f} on {self.reviews:,} test reviews: difference "
            f"{self.difference:+.4f} ({(1 - self.level) * 100:g}% interval {self.low:+.4f} to "
            f"{self.high:+.4f}), DeLong's paired p = {self.p_value_text()}"
        )

    def p_value_text(self) -> str:
        """The p-value in two significant digits, or as many more as it takes to stay on its side
        of the level (0.0496 read "p = 0.05 < 0.05", and 0.0504 "p = 0.05: not better")."""
        for digits in range(2, 7):
            text = f"{self.p_value:.{digits}g}"
            shown = float(text)
            if shown != self.level and (shown < self.level) == (self.p_value < self.level):
                return text
        return f"{self.p_value:.6g}"


class F1Comparison(BaseModel):
    """Challenger minus production F1 of "not recommended", each at its own threshold, on the
    same test reviews, with a paired bootstrap's `1 - level` interval (`compare_f1`)."""

    model_config = ConfigDict(frozen=True)

    challenger_f1: float
    production_f1: float
    difference: float
    low: float
    high: float
    level: float
    resamples: int

    @property
    def worse_beyond_chance(self) -> bool:
        """The challenger catches the unhappy reviews worse, and chance alone would rarely give
        such a drop (the interval lies below zero)."""
        return self.high < 0

    def summary(self) -> str:
        return (
            f"F1 of 'not recommended' {self.challenger_f1:.4f} against production "
            f"{self.production_f1:.4f}: difference {self.difference:+.4f} "
            f"({(1 - self.level) * 100:g}% interval {self.low:+.4f} to {self.high:+.4f}, "
            f"{self.resamples:,} paired resamples)"
        )


class ProductionDecision(BaseModel):
    """Whether the challenger took the production alias, and why, with both models' scores and
    the paired comparison (None before the first promotion), and how the challenger does on the
    latest drop production was scored on live (None before any such drop)."""

    model_config = ConfigDict(frozen=True, ser_json_inf_nan="constants")

    promoted: bool
    reason: str
    challenger: ScoredModel
    champion: ScoredModel | None
    comparison: AucComparison | None = None
    # The F1 comparison beside it (None before the first promotion, and in decisions made before).
    f1_comparison: F1Comparison | None = None
    production_version: str | None
    live_gap: LiveGap | None = None

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


def decide(
    challenger: ScoredModel,
    comparison: AucComparison | None,
    uncompared: str | None = None,
    f1: F1Comparison | None = None,
) -> Verdict:
    """The promotion rule; `comparison` (and `f1`) are None when there is no production model
    yet, or when the test split cannot compare the two (`uncompared` says why).

    1. The challenger passes the quality gate (`quality_problems`).
    2. On the same test reviews, its ROC AUC is higher than production's by more than chance:
       DeLong's paired test at the comparison's level (the first model needs only the gate),
    3. and its F1 of "not recommended", at its own threshold, is not worse than production's
       beyond chance (`compare_f1`, at the same level): a better ranking served at a threshold
       that catches fewer unhappy reviews does not take the alias.
    """
    if uncompared is not None:  # the test split, not the challenger, is what falls short
        return Verdict(False, f"not compared with production: {uncompared}")
    problems = quality_problems(challenger)
    if problems:
        return Verdict(False, "challenger refused: " + "; ".join(problems))
    if comparison is None:
        return Verdict(
            True, f"no production model yet; challenger ROC AUC {challenger.test.roc_auc:.4f}"
        )
    if comparison.better_beyond_chance and f1 is not None and f1.worse_beyond_chance:
        return Verdict(
            False,
            f"{comparison.summary()} < {comparison.level}, but its {f1.summary()}: worse by more "
            "than chance at the threshold it serves with",
        )
    if comparison.better_beyond_chance:
        return Verdict(
            True, f"{comparison.summary()} < {comparison.level}: better by more than chance"
        )
    return Verdict(
        False,
        f"{comparison.summary()}: not better by more than chance at level {comparison.level}",
    )


def moved_since_decided(decided: str | None, registry: str | None) -> str | None:
    """What a person should know when the registry's production alias is not where the last
    decision left it (`decided`): someone moved or removed it since. None when they agree. The
    alias stays as it is: the next decision compares its challenger with whatever it names."""
    if decided == registry:
        return None
    if registry is None:
        return (
            f"the registry has no production alias, though the last decision left it on version "
            f"{decided}: it was removed since, so nothing predicts or serves; set it again in the "
            "MLflow UI (make mlflow-ui), or materialize production_model in the Dagster UI to "
            "decide again"
        )
    was = "no version" if decided is None else f"version {decided}"
    return (
        f"the registry's production alias names version {registry}, not {was} where the last "
        "decision left it: it was moved since (by hand, or by a decision of another instance), "
        f"and stays; the next decision compares its challenger with version {registry}"
    )


def promotion_tags(
    verdict: Verdict,
    challenger: ScoredModel,
    champion: ScoredModel | None,
    comparison: AucComparison | None,
    f1: F1Comparison | None = None,
) -> dict[str, str]:
    """The evidence for a promotion, as the tags of the version it registers: written before the
    alias moves, so the registry holds why a version took production even when the step fails
    after the move (say, storing its decision on a full disk)."""
    tags = {
        "promotion.reason": verdict.reason,
        "promotion.challenger": challenger.name,
        "promotion.test_roc_auc": f"{challenger.test.roc_auc:.6f}",
    }
    if champion is not None and champion.version is not None:
        tags["promotion.previous_version"] = champion.version
    if comparison is not None:
        tags |= {
            "promotion.significance_level": f"{comparison.level:g}",
            "promotion.previous_roc_auc": f"{comparison.production_roc_auc:.6f}",
            "promotion.roc_auc_difference": f"{comparison.difference:+.6f}",
            "promotion.p_value": comparison.p_value_text(),
            "promotion.test_reviews": str(comparison.reviews),
        }
    if f1 is not None:
        tags |= {
            "promotion.not_recommended_f1": f"{f1.challenger_f1:.6f}",
            "promotion.previous_not_recommended_f1": f"{f1.production_f1:.6f}",
        }
    return tags


def decision_tags(verdict: Verdict, production_version: str | None, run_id: str) -> dict[str, str]:
    """What became of a challenger, as tags of its MLflow run: kept or promoted, why, the version
    production is on after the decision, and the Dagster run that decided. A kept challenger
    leaves no version, so its run is where MLflow shows the decision."""
    return {
        "decision": "promoted" if verdict.promote else "kept",
        "decision.reason": verdict.reason,
        "decision.production_version": production_version or "none",
        "decision.dagster_run_id": run_id,
    }


def compare_f1(
    labels: np.ndarray,
    challenger: np.ndarray,
    production: np.ndarray,
    *,
    level: float,
    resamples: int = 10_000,
) -> F1Comparison:
    """The two models' F1 of "not recommended" (label 0) from their predicted labels on the same
    reviews, and a paired bootstrap interval of the difference: each resample draws the reviews
    again with replacement, both models' answers with them. A review counts by its label and the
    two answers, eight kinds in all, so a resample is a multinomial draw over those eight (the
    same as drawing reviews, at no cost per review); seeded, so a decision is repeatable."""
    labels, challenger, production = (
        np.asarray(a).astype(int) for a in (labels, challenger, production)
    )
    kind = labels * 4 + challenger * 2 + production
    counts = np.bincount(kind, minlength=8).astype(float)
    drawn = np.random.default_rng(0).multinomial(len(kind), counts / counts.sum(), size=resamples)
    differences = _f1_of(drawn, 1) - _f1_of(drawn, 0)
    observed = _f1_of(counts[None, :], 1)[0], _f1_of(counts[None, :], 0)[0]
    low, high = np.quantile(differences, [level / 2, 1 - level / 2])
    return F1Comparison(
        challenger_f1=float(observed[0]),
        production_f1=float(observed[1]),
        difference=float(observed[0] - observed[1]),
        low=float(low),
        high=float(high),
        level=level,
        resamples=resamples,
    )


def _f1_of(counts: np.ndarray, model: int) -> np.ndarray:
    """F1 of label 0 per row of counts over the eight kinds (label * 4 + challenger's answer * 2
    + production's); `model` 1 is the challenger, 0 production. No review predicted or labelled
    0 gives 0, as scikit-learn's zero_division=0."""
    kinds = np.arange(8)
    label, answer = kinds // 4, (kinds >> model) & 1
    true_positive = counts[:, (label == 0) & (answer == 0)].sum(axis=1)
    false_positive = counts[:, (label == 1) & (answer == 0)].sum(axis=1)
    false_negative = counts[:, (label == 0) & (answer == 1)].sum(axis=1)
    denominator = (2 * true_positive + false_positive + false_negative).astype(float)
    return np.divide(
        2 * true_positive, denominator, out=np.zeros_like(denominator), where=denominator > 0
    )


def comparison_problem(labels: np.ndarray) -> str | None:
    """Why test reviews with these labels cannot compare two models' ROC AUCs (None: they can):
    DeLong's paired test needs two reviews of each label."""
    positive = np.asarray(labels).astype(int) == 1
    m, n = int(positive.sum()), int((~positive).sum())
    if m < 2 or n < 2:
        return (
            f"a paired ROC AUC test needs two test reviews of each label, and the test split "
            f"holds {n} 'not recommended' and {m} 'recommended'"
        )
    return None


def compare_roc_auc(
    labels: np.ndarray, challenger: np.ndarray, production: np.ndarray, *, level: float
) -> AucComparison:
    """DeLong's test for two ROC AUCs measured on the same reviews (DeLong, DeLong and
    Clarke-Pearson 1988, in the midrank form of Sun and Xu 2014): the scores' paired difference."""
    if not 0 < level < 1:
        raise ValueError(f"the significance level must lie between 0 and 1, not {level}")
    if problem := comparison_problem(labels):
        raise ValueError(problem)
    positive = np.asarray(labels).astype(int) == 1
    m, n = int(positive.sum()), int((~positive).sum())
    # Per model, each positive's share of negatives scored below it (ties count half), and each
    # negative's share of positives scored above it: the AUC is the mean of either.
    shares = []
    for scores in (challenger, production):
        scores = np.asarray(scores, dtype=float)
        ranks = _midranks(scores)
        above = (ranks[positive] - _midranks(scores[positive])) / n
        below = 1 - (ranks[~positive] - _midranks(scores[~positive])) / m
        shares.append((above, below))
    (above_c, below_c), (above_p, below_p) = shares
    difference = float(above_c.mean() - above_p.mean())
    variance = (above_c - above_p).var(ddof=1) / m + (below_c - below_p).var(ddof=1) / n
    error = math.sqrt(max(float(variance), 0.0))
    if error == 0:
        # Every review's share moved alike: identical scores (no difference) or a certain one.
        p_value = 1.0 if difference == 0 else 0.0
    else:
        p_value = math.erfc(abs(difference) / error / math.sqrt(2))
    half = NormalDist().inv_cdf(1 - level / 2) * error
    return AucComparison(
        reviews=m + n,
        challenger_roc_auc=float(above_c.mean()),
        production_roc_auc=float(above_p.mean()),
        difference=difference,
        low=difference - half,
        high=difference + half,
        p_value=p_value,
        level=level,
    )


def _midranks(values: np.ndarray) -> np.ndarray:
    """Ranks from 1, tied values sharing the mean of their ranks."""
    _, inverse, counts = np.unique(values, return_inverse=True, return_counts=True)
    ends = np.cumsum(counts)
    return (ends - (counts - 1) / 2)[inverse]


def score_model(
    model: Any, reviews: pd.DataFrame, *, name: str, version: str | None, run_id: str | None
) -> tuple[ScoredModel, Scored]:
    """A logged model (a pyfunc) scored on raw reviews, through its own preprocessing and with its
    own threshold, and on the sanity reviews; with its answers, for the paired tests."""
    from sentiment_assets.model import predictions as p
    from sentiment_assets.model.evaluation import classification_metrics

    answers = Scored(np.ones(len(reviews), dtype=bool), predict_reviews(model, reviews))
    test = classification_metrics(
        reviews[Corpus.LABEL].to_numpy(), answers.probabilities, predicted=answers.labels
    )
    sanity = model.predict(pd.DataFrame({p.TEXT_COLUMN: list(SANITY_REVIEWS)}))
    scored = ScoredModel(
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
    return scored, answers
