"""The retraining's answer to a live shortfall (pure): the latest drop production was scored on
live, and whether the new challenger meets the live gate on that drop's held-out reviews."""

from __future__ import annotations

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict

from sentiment_assets.lib.drift import Thresholds
from sentiment_assets.lib.monitoring import (
    LiveQuality,
    live_gate,
    live_shortfall,
    too_few_of_a_label,
    too_few_to_rank,
)
from sentiment_assets.model.evaluation import NOT_RECOMMENDED
from sentiment_assets.model.stems import Corpus


def latest_live(records: list[LiveQuality], thresholds: Thresholds) -> LiveQuality | None:
    """The most recently scored live record the live gate judged (a ROC AUC on enough of each
    label: a drop of one label has none, a handful of reviews one that means nothing), if any;
    of two scored in the same second, the one of the later drop name, whatever the order they are
    given in."""
    live = [r for r in records if r.live and r.ranked and not too_few_to_rank(r, thresholds)]
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
    # Of them, 'not recommended' (None in decisions stored before it was kept).
    held_out_not_recommended: int | None = None
    challenger_roc_auc: float | None
    production_roc_auc: float | None
    closes: bool | None

    def summary(self) -> str:
        told = f"{self.drop}: version {self.scored_by_version} scored {self.live_roc_auc:.4f} live"
        if not self.shortfall:
            told += " (no shortfall)"
        if self.challenger_roc_auc is None:
            held = f"; {self.held_out_reviews} of its reviews are held out"
            if self.held_out_not_recommended is not None:
                held += f", {self.held_out_not_recommended} of them 'not recommended'"
            return told + held + ", too few of a label to rank"
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
    not_recommended = int((labels == NOT_RECOMMENDED).sum())
    unjudged = too_few_of_a_label(not_recommended, len(labels) - not_recommended, thresholds)
    ranked = unjudged is None

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
        held_out_not_recommended=not_recommended,
        challenger_roc_auc=challenger_auc,
        production_roc_auc=roc_auc(production),
        closes=closes,
    )
