"""Live quality of one drop (pure): how the production model scores a drop before any retraining
learns from it, how the drop differs from the training data, and the gates that raise alerts.

`LiveQuality` is what `live_quality` hands on; its checks and `production_model` read this type.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict

from sentiment_assets.lib.drift import DropDrift, Thresholds, measure_drift
from sentiment_assets.model import predictions as p
from sentiment_assets.model.dataset import PaddedDataset
from sentiment_assets.model.evaluation import (
    Metrics,
    ReliabilityBin,
    brier_score,
    calibration_error,
    classification_metrics,
    reliability_table,
)
from sentiment_assets.model.stems import Corpus

# drop_predictions: the review, the drop's own label, production's answer, the version that gave it.
PREDICTION_COLUMNS = (
    Corpus.REVIEW_ID,
    Corpus.TITLE,
    Corpus.TEXT,
    "recommended_ind",
    p.PROBABILITY_COLUMN,
    p.LABEL_COLUMN,
    "sentiment",
    "model_version",
)


def predict_reviews(model: Any, reviews: pd.DataFrame) -> pd.DataFrame:
    """A logged model's (a pyfunc's) probability of "recommended" and label for each of the
    reviews (title and raw text, through the model's own preprocessing and threshold)."""
    return model.predict(
        pd.DataFrame({p.TEXT_COLUMN: reviews[Corpus.TEXT], p.TITLE_COLUMN: reviews[Corpus.TITLE]})
    )


@dataclass(frozen=True)
class Scoring:
    """What the production model said when the drop was scored: its predictions for the drop's
    reviews and for the training data's test split (None without training data), in their
    order, and whether it may have learned from the drop (None: unknown)."""

    version: str
    run_id: str
    drop: pd.DataFrame
    test: pd.DataFrame | None
    may_have_learned_from_drop: bool | None


class LiveQuality(BaseModel):
    """How production did on one drop at `scored_at`: its metrics on the drop's reviews, its
    calibration, its own test estimate at the same moment, and the drop's drift. Without a
    production model (`production_version` None) only the drift is measured."""

    model_config = ConfigDict(frozen=True, ser_json_inf_nan="constants")

    drop: str
    scored_at: str
    production_version: str | None
    production_run_id: str | None
    may_have_learned_from_drop: bool | None
    reviews: int
    metrics: Metrics | None
    brier_score: float | None
    calibration_error: float | None
    reliability: list[ReliabilityBin]
    test_reviews: int
    test_metrics: Metrics | None
    drift: DropDrift

    @property
    def live(self) -> bool:
        """A live measure: a production model scored the drop and, as far as is known, had not
        learned from it (a model trained outside this Dagster instance counts as live)."""
        return self.metrics is not None and self.may_have_learned_from_drop is not True

    @property
    def roc_auc_gap(self) -> float | None:
        """Production's test ROC AUC minus its ROC AUC on the drop: positive when it does worse
        live than its test split promised."""
        if self.metrics is None or self.test_metrics is None:
            return None
        return self.test_metrics.roc_auc - self.metrics.roc_auc

    def status(self) -> str:
        """One line for a person: what this record is, and what it is not."""
        if self.production_version is None:
            return "no production model when the drop was scored: nothing scored it"
        where = f"production version {self.production_version}"
        if self.may_have_learned_from_drop is None:
            return (
                f"scored by {where}, trained outside this Dagster instance: whether it had "
                "learned from this drop is unknown"
            )
        if self.may_have_learned_from_drop:
            return (
                f"scored by {where}, which may have learned from this drop (its training run "
                "ended after the drop was stored): not a live measure"
            )
        return f"scored by {where} before any retraining learned from the drop"


def measure_live_quality(
    drop: str,
    reviews: pd.DataFrame,
    dataset: PaddedDataset | None,
    scoring: Scoring | None,
    scored_at: str,
) -> LiveQuality:
    """The live record of a drop's `reviews` (its stemmed corpus), against the training data at
    scoring time (`dataset`, None before the first) and production's `scoring` (None: none)."""
    test = dataset.split_reviews("test") if dataset is not None else None
    drop_scores = test_scores = None
    metrics = test_metrics = brier = calibration = None
    reliability: list[ReliabilityBin] = []
    if scoring is not None:
        labels = reviews[Corpus.LABEL].to_numpy(dtype=int)
        drop_scores = scoring.drop[p.PROBABILITY_COLUMN].to_numpy(dtype=float)
        metrics = classification_metrics(
            labels, drop_scores, predicted=scoring.drop[p.LABEL_COLUMN].to_numpy()
        )
        brier = brier_score(labels, drop_scores)
        reliability = reliability_table(labels, drop_scores)
        calibration = calibration_error(reliability)
        if test is not None and scoring.test is not None:
            test_scores = scoring.test[p.PROBABILITY_COLUMN].to_numpy(dtype=float)
            test_metrics = classification_metrics(
                test[Corpus.LABEL].to_numpy(dtype=int),
                test_scores,
                predicted=scoring.test[p.LABEL_COLUMN].to_numpy(),
            )
    return LiveQuality(
        drop=drop,
        scored_at=scored_at,
        production_version=scoring.version if scoring else None,
        production_run_id=scoring.run_id if scoring else None,
        may_have_learned_from_drop=scoring.may_have_learned_from_drop if scoring else None,
        reviews=len(reviews),
        metrics=metrics,
        brier_score=brier,
        calibration_error=calibration,
        reliability=reliability,
        test_reviews=len(test) if test is not None and test_scores is not None else 0,
        test_metrics=test_metrics,
        drift=measure_drift(reviews, dataset, drop_scores, test_scores),
    )


def live_figures(quality: LiveQuality) -> dict[str, float]:
    """The record's numbers, one name each, for MLflow metrics and the plots of the Dagster UI:
    the live metrics (`live_*`), calibration, the test estimate and the gap, and the drift
    figures; those not measured are left out."""
    figures: dict[str, float | None] = {"reviews": quality.reviews}
    if quality.metrics is not None:
        figures |= {f"live_{k}": v for k, v in quality.metrics.headline().items()}
        figures |= {
            "brier_score": quality.brier_score,
            "calibration_error": quality.calibration_error,
        }
    if quality.test_metrics is not None:
        figures |= {
            "test_roc_auc": quality.test_metrics.roc_auc,
            "roc_auc_gap": quality.roc_auc_gap,
        }
    figures |= quality.drift.model_dump()
    return {k: float(v) for k, v in figures.items() if v is not None and not math.isnan(float(v))}


def predictions_table(reviews: pd.DataFrame, predicted: pd.DataFrame, version: str) -> pd.DataFrame:
    """`drop_predictions`: each review with text, the drop's own label, production's probability
    of "recommended" and its label, and the model version that scored it."""
    labels = predicted[p.LABEL_COLUMN].to_numpy(dtype=int)
    return pd.DataFrame(
        {
            Corpus.REVIEW_ID: reviews[Corpus.REVIEW_ID].to_numpy(),
            Corpus.TITLE: reviews[Corpus.TITLE].to_numpy(),
            Corpus.TEXT: reviews[Corpus.TEXT].to_numpy(),
            "recommended_ind": reviews[Corpus.LABEL].to_numpy(dtype=int),
            p.PROBABILITY_COLUMN: predicted[p.PROBABILITY_COLUMN].to_numpy(dtype=float),
            p.LABEL_COLUMN: labels,
            "sentiment": np.where(labels == 1, "recommended", "not recommended"),
            "model_version": version,
        },
        columns=list(PREDICTION_COLUMNS),
    )


def live_shortfall(quality: LiveQuality, thresholds: Thresholds) -> list[str]:
    """Why production's live ROC AUC on the drop falls short, if it does (`live_gate`). Empty when
    it does not, or when the record is not a live measure."""
    if not quality.live or quality.metrics is None:
        return []
    test = quality.test_metrics.roc_auc if quality.test_metrics is not None else None
    return live_gate(quality.metrics.roc_auc, test, thresholds)


def live_gate(live: float, test: float | None, thresholds: Thresholds) -> list[str]:
    """The live gate: why a model's ROC AUC on a drop's reviews (`live`) falls short, if it does:
    below the floor, or below its own test estimate (`test`) by more than the margin."""
    if math.isnan(live):
        return []  # one label in the drop: nothing to rank
    problems = []
    if live < thresholds.live_roc_auc_floor:
        problems.append(
            f"live ROC AUC {live:.4f} is below the floor {thresholds.live_roc_auc_floor}"
        )
    if test is not None and test - live > thresholds.live_roc_auc_margin:
        problems.append(
            f"live ROC AUC {live:.4f} is {test - live:.4f} below its test estimate "
            f"{test:.4f} (margin {thresholds.live_roc_auc_margin})"
        )
    return problems


def latest_live(records: list[LiveQuality]) -> LiveQuality | None:
    """The most recently scored live record, if any; of two scored in the same second, the one of
    the later drop name, whatever the order they are given in."""
    live = [r for r in records if r.live]
    return max(live, key=lambda r: (r.scored_at, r.drop)) if live else None


class LiveGap(BaseModel):
    """The latest drop production was scored on live, and how the new challenger does on that
    drop's reviews in the test split (held out from its training), beside the current production
    model on the same reviews. `closes` (only after a shortfall) says whether the challenger meets
    the live gate there."""

    model_config = ConfigDict(frozen=True, ser_json_inf_nan="constants")

    drop: str
    scored_by_version: str
    live_roc_auc: float
    test_roc_auc: float | None
    shortfall: list[str]
    held_out_reviews: int
    challenger_roc_auc: float | None
    production_roc_auc: float | None
    closes: bool | None

    def summary(self) -> str:
        told = f"{self.drop}: version {self.scored_by_version} scored {self.live_roc_auc:.4f} live"
        if not self.shortfall:
            told += " (no shortfall)"
        if self.challenger_roc_auc is None:
            return told + f"; {self.held_out_reviews} of its reviews are held out, too few to rank"
        told += (
            f"; on its {self.held_out_reviews} held-out reviews the challenger scores "
            f"{self.challenger_roc_auc:.4f}"
        )
        if self.production_roc_auc is not None:
            told += f", production {self.production_roc_auc:.4f}"
        if self.closes is not None:
            told += "; it closes the gap" if self.closes else "; it does not close the gap"
        return told


def live_gap(
    latest: LiveQuality,
    test: pd.DataFrame,
    challenger: np.ndarray,
    production: np.ndarray | None,
    challenger_test_roc_auc: float,
    thresholds: Thresholds,
) -> LiveGap:
    """The challenger against the latest live shortfall, on the drop's reviews of the current test
    split (`test`, with the challenger's and production's probabilities in its order): the only
    reviews of that drop neither model trained on."""
    if not latest.live or latest.metrics is None or latest.production_version is None:
        raise ValueError(f"{latest.drop} was not scored live: {latest.status()}")
    held_out = (test[Corpus.DROP] == latest.drop).to_numpy()
    labels = test.loc[held_out, Corpus.LABEL].to_numpy(dtype=int)
    ranked = len(np.unique(labels)) == 2

    def roc_auc(scores: np.ndarray | None) -> float | None:
        if scores is None or not ranked:
            return None
        from sklearn.metrics import roc_auc_score

        return float(roc_auc_score(labels, np.asarray(scores)[held_out]))

    shortfall = live_shortfall(latest, thresholds)
    challenger_auc = roc_auc(challenger)
    closes = None
    if shortfall and challenger_auc is not None:
        closes = not live_gate(challenger_auc, challenger_test_roc_auc, thresholds)
    return LiveGap(
        drop=latest.drop,
        scored_by_version=latest.production_version,
        live_roc_auc=latest.metrics.roc_auc,
        test_roc_auc=latest.test_metrics.roc_auc if latest.test_metrics else None,
        shortfall=shortfall,
        held_out_reviews=int(held_out.sum()),
        challenger_roc_auc=challenger_auc,
        production_roc_auc=roc_auc(production),
        closes=closes,
    )
