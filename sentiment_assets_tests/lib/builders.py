"""What the library's tests build their cases from: drift thresholds, a drop's live record, and
scored models and candidates, without Dagster or MLflow."""

from __future__ import annotations

import numpy as np
import pandas as pd

from sentiment_assets.lib import monitoring
from sentiment_assets.lib.drift import Thresholds
from sentiment_assets.lib.monitoring import LiveQuality, Scored, Scoring
from sentiment_assets.lib.production import SANITY_REVIEWS, SanityPrediction, ScoredModel
from sentiment_assets.lib.training import CandidateResult
from sentiment_assets.model.evaluation import Metrics
from sentiment_assets.model.stems import Corpus

THRESHOLDS = Thresholds(
    label_share_difference=0.1,
    oov_rate_increase=0.05,
    replaced_rows_share=0.5,
    review_length_psi=0.25,
    score_psi=0.25,
    min_drift_reviews=1,
    min_live_reviews_per_label=1,
    live_roc_auc_floor=0.75,
    live_roc_auc_margin=0.05,
)

SCORED_AT = "2026-11-27T08:00:00+00:00"
LABELS = [0, 0, 1, 1, 1, 1]
PROBABILITIES = [0.1, 0.6, 0.4, 0.7, 0.8, 0.9]


def drop(labels: list[int]) -> pd.DataFrame:
    """A stemmed drop of reviews with these labels (ids from 10)."""
    return pd.DataFrame(
        {
            Corpus.REVIEW_ID: range(10, 10 + len(labels)),
            Corpus.LABEL: labels,
            Corpus.TITLE: ["Nice", None] * (len(labels) // 2),
            Corpus.TEXT: [f"review {i}" for i in range(len(labels))],
            Corpus.STEMS: [f"review {i}" for i in range(len(labels))],
        }
    )


def predicted(probabilities: list[float], threshold: float = 0.5) -> pd.DataFrame:
    """Predictions with these probabilities, labelled at `threshold`."""
    p = np.array(probabilities)
    return pd.DataFrame({"probability": p, "label": (p >= threshold).astype(int)})


def scored(probabilities: list[float], which: list[bool] | None = None) -> Scored:
    """A model's answers: these probabilities for the reviews `which` marks (all by default)."""
    marked = np.ones(len(probabilities), dtype=bool) if which is None else np.array(which)
    return Scored(marked, predicted(probabilities))


def quality(
    learned: bool | None = False, probabilities: list[float] = PROBABILITIES
) -> LiveQuality:
    """The live record of drop "d" (`LABELS`) scored by version 3 with these probabilities."""
    scoring = Scoring("3", "run-3", scored(probabilities), None, learned)
    return monitoring.measure_live_quality("d", drop(LABELS), None, scoring, SCORED_AT)


def _metrics(
    roc_auc: float = 0.85, accuracy: float = 0.88, baseline: float = 0.82, constant: bool = False
) -> Metrics:
    return Metrics(
        accuracy=accuracy,
        roc_auc=roc_auc,
        not_recommended_precision=0.5,
        not_recommended_recall=0.5,
        not_recommended_f1=0.5,
        majority_baseline_accuracy=baseline,
        constant_output=constant,
        n_recommended_predicted_recommended=80,
        n_recommended_predicted_not_recommended=2,
        n_not_recommended_predicted_recommended=10,
        n_not_recommended_predicted_not_recommended=8,
    )


def model(sane: bool = True, **metrics: float) -> ScoredModel:
    """A scored challenger with these test metrics; `sane=False` gets every sanity review wrong."""
    sanity = [
        SanityPrediction(
            text=text, expected=label, probability=0.5, label=label if sane else 1 - label
        )
        for text, label in SANITY_REVIEWS.items()
    ]
    return ScoredModel(name="m", version="1", run_id="r", test=_metrics(**metrics), sanity=sanity)


def candidate(name: str, validation_auc: float, test_auc: float) -> CandidateResult:
    """A trained tfidf-logreg candidate with these ROC AUCs on validation and test."""
    return CandidateResult(
        name=name,
        family="tfidf-logreg",
        experiment_id="1",
        run_id=name,
        model_uri=f"models:/{name}",
        threshold=0.5,
        validation=_metrics(roc_auc=validation_auc),
        test=_metrics(roc_auc=test_auc),
        epochs_trained=1,
        best_epoch=1,
        training_seconds=1.0,
        history={},
    )
