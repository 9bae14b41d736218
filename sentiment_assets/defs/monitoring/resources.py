"""Where the drift checks warn and the live-quality gate fails: one resource, editable in the
launchpad, read by the checks and by `production_model`'s report on the live gap."""

import dagster as dg
from pydantic import Field

from sentiment_assets.lib.drift import Thresholds
from sentiment_assets.lib.production import ROC_AUC_FLOOR


class MonitoringThresholds(dg.ConfigurableResource):
    """Thresholds of the drift checks (warnings) and of the live-quality gate (a failure).

    The defaults stay quiet on the three real drops, each scored after training on the ones
    before, and fire on a drop from another shop (README, "Live quality", has the figures).
    """

    label_share_difference: float = Field(
        default=0.10,
        gt=0,
        lt=1,
        description="label_balance_drift warns when a drop's share of 'not recommended' is further "
        "than this from the earlier drops' (real drops: within 0.003).",
    )
    oov_rate_increase: float = Field(
        default=0.05,
        gt=0,
        lt=1,
        description="vocabulary_drift warns when the share of a drop's words outside the training "
        "vocabulary exceeds the training data's test split's by more than this (real drops: 0.002 "
        "below it).",
    )
    replaced_rows_share: float = Field(
        default=0.5,
        gt=0,
        le=1,
        description="replaced_drop_size warns when a drop's new content holds fewer reviews than "
        "this share of the content it replaces (a re-export cut short or filtered).",
    )
    review_length_psi: float = Field(
        default=0.25,
        gt=0,
        description="review_length_drift warns when the population stability index of the drop's "
        "review lengths (words) against the training split's exceeds this (real drops: 0.002-0.003; "
        "0.25 is the usual 'large shift').",
    )
    score_psi: float = Field(
        default=0.25,
        gt=0,
        description="score_drift warns when the population stability index of production's "
        "scores on the drop against its scores on the training data's test split exceeds this "
        "(real drops: 0.010-0.011).",
    )
    min_drift_reviews: int = Field(
        default=100,
        ge=1,
        description="the drift checks judge only drops of at least this many reviews (with "
        "text): on fewer, a share, a rate or a PSI is noise (real drops: about 5,800 each).",
    )
    min_live_reviews_per_label: int = Field(
        default=30,
        ge=1,
        description="live_quality_gate judges production's ROC AUC on a drop only when the reviews "
        "it measured hold at least this many of each label: on 10 of one, the ROC AUC's standard "
        "error is about 0.04, near the margin (real drops: about 1,050 'not recommended' each).",
    )
    live_roc_auc_floor: float = Field(
        default=ROC_AUC_FLOOR,
        ge=0,
        le=1,
        description="live_quality_gate fails when production's ROC AUC on a new drop is below this "
        "(by default the promotion gate's floor: a model below it could not take production).",
    )
    live_roc_auc_margin: float = Field(
        default=0.05,
        ge=0,
        le=1,
        description="live_quality_gate fails when production's ROC AUC on a new drop is below its "
        "own test estimate by more than this (real drops: from 0.008 above to 0.003 below).",
    )

    def thresholds(self) -> Thresholds:
        return Thresholds(**{name: getattr(self, name) for name in Thresholds.model_fields})


@dg.definitions
def resources() -> dg.Definitions:
    return dg.Definitions(resources={"monitoring": MonitoringThresholds()})
