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

from sentiment_assets.lib.drift import DropDrift, Thresholds, difference, measure_drift
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
from sentiment_assets.model.stems import Corpus, readable

MODEL_VERSION_COLUMN = "model_version"
# drop_predictions: the review, the drop's own label, production's answer, the version that gave it.
PREDICTION_COLUMNS = (
    Corpus.REVIEW_ID,
    Corpus.TITLE,
    Corpus.TEXT,
    "recommended_ind",
    p.PROBABILITY_COLUMN,
    p.LABEL_COLUMN,
    p.SENTIMENT_COLUMN,
    MODEL_VERSION_COLUMN,
)


def scorable(reviews: pd.DataFrame) -> np.ndarray:
    """Which reviews of a corpus a model scores: those with a letter (a-z) or digit in their text
    or title. The models refuse the others (another script, emoji or punctuation alone), which
    all would get an empty review's score; the corpus keeps them for the vocabulary-drift check."""
    return readable(reviews[Corpus.TEXT], reviews[Corpus.TITLE])


def predict_reviews(model: Any, reviews: pd.DataFrame) -> pd.DataFrame:
    """A logged model's (a pyfunc's) probability of "recommended" and label for each of the
    reviews (title and raw text, through the model's own preprocessing and threshold), which
    must all be `scorable`."""
    return model.predict(
        pd.DataFrame({p.TEXT_COLUMN: reviews[Corpus.TEXT], p.TITLE_COLUMN: reviews[Corpus.TITLE]})
    )


@dataclass(frozen=True)
class Scored:
    """A model's answers for a corpus: `which` marks the reviews it scored (`scorable`) among the
    corpus's, and `predicted` holds their predictions, in order."""

    which: np.ndarray
    predicted: pd.DataFrame

    @classmethod
    def of(cls, model: Any, reviews: pd.DataFrame) -> Scored:
        """The logged model's predictions for the `scorable` reviews of the corpus."""
        which = scorable(reviews)
        return cls(which, predict_reviews(model, reviews[which]))

    @property
    def probabilities(self) -> np.ndarray:
        return self.predicted[p.PROBABILITY_COLUMN].to_numpy(dtype=float)

    @property
    def labels(self) -> np.ndarray:
        return self.predicted[p.LABEL_COLUMN].to_numpy(dtype=int)


@dataclass(frozen=True)
class Scoring:
    """What the production model said when the drop was scored: its answers for the drop's
    reviews and for the training data's test split's (None without training data), whether it
    may have learned from the drop (None: unknown), and the drops of the training data whose
    content its training may have read (None: unknown), or better, the reviews of the dataset it
    trained on."""

    version: str
    run_id: str
    drop: Scored
    test: Scored | None
    may_have_learned_from_drop: bool | None
    learned_drops: frozenset[str] | None = None
    # The reviews (text, split) of the dataset the version trained on, when it is still stored:
    # what it learned, exactly (None: `learned_drops` of `dataset` stand in for it).
    learned_reviews: pd.DataFrame | None = None


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
    # The sha256 of the drop's file the record measured (None in records made before it was kept).
    content: str | None = None
    # The drop's reviews whose text is in the train or validation split of a drop production's
    # training may have read (an export sent again, a drop repeating an earlier one): left out
    # of the live figures (`in_training`; 0 in records made before).
    reviews_in_training: int = 0
    # The drop's reviews with nothing a model reads (`scorable`): never scored, so out of the live
    # figures too (0 in records made before).
    reviews_unscored: int = 0

    @property
    def live(self) -> bool:
        """A live measure: a production model scored the drop and, as far as is known, had not
        learned from it (a model trained outside this Dagster instance counts as live)."""
        return self.metrics is not None and self.may_have_learned_from_drop is not True

    @property
    def ranked(self) -> bool:
        """Whether production's ROC AUC on the drop is defined: a drop of one label has none."""
        return self.metrics is not None and not math.isnan(self.metrics.roc_auc)

    @property
    def roc_auc_gap(self) -> float | None:
        """Production's test ROC AUC minus its ROC AUC on the drop: positive when it does worse
        live than its test split promised."""
        if self.metrics is None or self.test_metrics is None:
            return None
        return self.test_metrics.roc_auc - self.metrics.roc_auc

    def status(self) -> str:
        """One line for a person: what this record is, and what it is not."""
        told = self._scored_by()
        if self.production_version is not None and self.reviews_in_training:
            if self.reviews_in_training == self.reviews:
                told += (
                    "; every review of the drop is in the data production was trained on: no live "
                    "measure"
                )
            else:
                told += (
                    f"; {self.reviews_in_training:,} of its {self.reviews:,} reviews are in the "
                    "data production was trained on, and left out of the live figures"
                )
        if self.production_version is not None and self.reviews_unscored:
            told += (
                f"; {self.reviews_unscored:,} review(s) hold no letter (a-z) or digit the model "
                "reads (another script, emoji or punctuation alone): not scored"
            )
        if self.metrics is not None and not self.ranked:
            measured = "every review measured" if self.reviews_in_training else "every review"
            told += f"; {measured} has one label, so there is no ROC AUC to judge"
        return told

    def _scored_by(self) -> str:
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
    content: str | None = None,
) -> LiveQuality:
    """The live record of a drop's `reviews` (its stemmed corpus, read from the file whose sha256
    is `content`), against the training data at scoring time (`dataset`, None before the first)
    and production's `scoring` (None: none)."""
    test = dataset.split_reviews("test") if dataset is not None else None
    drop_scores = test_scores = None
    metrics = test_metrics = brier = calibration = None
    reliability: list[ReliabilityBin] = []
    learnable = (
        in_training(reviews, dataset, scoring.learned_drops, scoring.learned_reviews)
        if scoring is not None
        else in_training(reviews, dataset, None)
    )
    scored = scoring.drop.which if scoring is not None else scorable(reviews)
    if scoring is not None:
        # None when the model read none of the drop's reviews (all in another script, say).
        drop_scores = scoring.drop.probabilities if scored.any() else None
        unseen = ~learnable[scored]
        if unseen.any():
            labels = reviews[Corpus.LABEL].to_numpy(dtype=int)[scored][unseen]
            scores = drop_scores[unseen]
            metrics = classification_metrics(labels, scores, predicted=scoring.drop.labels[unseen])
            brier = brier_score(labels, scores)
            reliability = reliability_table(labels, scores)
            calibration = calibration_error(reliability)
        if test is not None and scoring.test is not None:
            test_scores = scoring.test.probabilities
            test_metrics = classification_metrics(
                test[Corpus.LABEL].to_numpy(dtype=int)[scoring.test.which],
                test_scores,
                predicted=scoring.test.labels,
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
        test_reviews=len(test_scores) if test_scores is not None else 0,
        test_metrics=test_metrics,
        drift=measure_drift(reviews, dataset, drop_scores, test_scores),
        content=content,
        reviews_in_training=int(learnable.sum()),
        reviews_unscored=int((~scored).sum()),
    )


def in_training(
    reviews: pd.DataFrame,
    dataset: PaddedDataset | None,
    learned_drops: frozenset[str] | None,
    learned_reviews: pd.DataFrame | None = None,
) -> np.ndarray:
    """Which of a drop's reviews production may have learned: their text (as the split reads it)
    is in the train or validation split (a refit learns both) of the dataset it trained on
    (`learned_reviews`, its reviews with their split), or, when that is no longer stored, among
    the current dataset's reviews of `learned_drops`, the drops its training may have read (None:
    unknown, nothing left out). A drop's live figures leave them out: a re-sent export scored
    0.985 live against 0.960 for its first sending, on reviews production had learned."""
    if learned_reviews is not None:
        held, learnable = learned_reviews, learned_reviews[Corpus.SPLIT] != "test"
    elif dataset is None or not learned_drops:
        return np.zeros(len(reviews), dtype=bool)
    else:
        held = dataset.reviews
        learnable = (held[Corpus.SPLIT] != "test") & held[Corpus.DROP].isin(learned_drops)
    texts = set(held.loc[learnable, Corpus.TEXT].str.strip())
    return reviews[Corpus.TEXT].str.strip().isin(texts).to_numpy()


def record_to_keep(new: LiveQuality, stored: LiveQuality | None) -> LiveQuality:
    """The drop's record after scoring it again: the new one, unless it is not a live measure and
    a record of the same content is stored. A drop is measured live once, when it lands; scoring
    it again with a model that learned from it must not put that measure out of reach (the UI
    shows `live_quality` stale after every retraining, and "Materialize changed and missing"
    would). Nor does it replace a record that was not live either (made before any production
    model, say): a new one each time made `production_model`, which reads the records, stale
    after every such round, and the next round decided again on the same candidates (a review)."""
    if new.live or stored is None or stored.content is None:
        return new
    return stored if stored.content == new.content else new


def live_figures(quality: LiveQuality) -> dict[str, float]:
    """The record's numbers, one name each, for MLflow metrics and the plots of the Dagster UI:
    the live metrics (`live_*`), calibration, the test estimate and the gap, and the drift
    figures; those not measured are left out."""
    figures: dict[str, float | None] = {"reviews": quality.reviews}
    if quality.production_version is not None:
        figures["reviews_in_training"] = quality.reviews_in_training
        figures["reviews_unscored"] = quality.reviews_unscored
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


def predictions_table(reviews: pd.DataFrame, scored: Scored, version: str) -> pd.DataFrame:
    """`drop_predictions`: each review of the corpus `reviews` that the `version` `scored`, the
    drop's own label, production's probability of "recommended" and its label, and the version."""
    reviews = reviews[scored.which]
    labels = scored.labels
    return pd.DataFrame(
        {
            Corpus.REVIEW_ID: reviews[Corpus.REVIEW_ID].to_numpy(),
            Corpus.TITLE: reviews[Corpus.TITLE].to_numpy(),
            Corpus.TEXT: reviews[Corpus.TEXT].to_numpy(),
            "recommended_ind": reviews[Corpus.LABEL].to_numpy(dtype=int),
            p.PROBABILITY_COLUMN: scored.probabilities,
            p.LABEL_COLUMN: labels,
            p.SENTIMENT_COLUMN: np.asarray(p.SENTIMENTS)[labels],
            MODEL_VERSION_COLUMN: version,
        },
        columns=list(PREDICTION_COLUMNS),
    )


def live_shortfall(quality: LiveQuality, thresholds: Thresholds) -> list[str]:
    """Why production's live ROC AUC on the drop falls short, if it does (`live_gate`). Empty when
    it does not, or when the record is not a live measure."""
    if not quality.live or quality.metrics is None or too_few_to_rank(quality, thresholds):
        return []
    test = quality.test_metrics.roc_auc if quality.test_metrics is not None else None
    return live_gate(quality.metrics.roc_auc, test, thresholds)


def too_few_to_rank(quality: LiveQuality, thresholds: Thresholds) -> str | None:
    """Why production's ROC AUC on the drop is not judged though it has one, if so: the reviews
    measured hold too few of one label for it to mean anything (2 'not recommended' reviews of 10
    put it anywhere from 0.5 to 1 by chance)."""
    metrics = quality.metrics
    if metrics is None or not quality.ranked:
        return None
    return too_few_of_a_label(metrics.n_not_recommended, metrics.n_recommended, thresholds)


def too_few_of_a_label(
    not_recommended: int, recommended: int, thresholds: Thresholds
) -> str | None:
    """Why reviews with these label counts are too few to judge a ROC AUC on, if they are: fewer
    than `min_live_reviews_per_label` of either label (the live gate's rule, and the live gap's)."""
    least = max(1, thresholds.min_live_reviews_per_label)
    if min(not_recommended, recommended) >= least:
        return None
    return (
        f"not judged: the reviews measured hold {not_recommended:,} 'not recommended' and "
        f"{recommended:,} 'recommended'; the gate judges a ROC AUC on at least {least} of each "
        "(min_live_reviews_per_label)"
    )


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
    gap = difference(test, live) if test is not None else None
    if gap is not None and gap > thresholds.live_roc_auc_margin:
        problems.append(
            f"live ROC AUC {live:.4f} is {gap:.4f} below its test estimate "
            f"{test:.4f} (margin {thresholds.live_roc_auc_margin})"
        )
    return problems
