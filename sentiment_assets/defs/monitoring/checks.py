"""Checks on each new drop: its drift from the earlier drops and the training data (warnings), and
the production model's live quality on it (a failure). Thresholds: the `monitoring` resource."""

from collections.abc import Callable

import dagster as dg
import pandas as pd

from sentiment_assets.defs.asset_keys import LIVE_QUALITY, RAW_REVIEWS
from sentiment_assets.defs.ingestion.partitions import (
    DATA_VERSION_TAG,
    materializations,
    review_drops,
)
from sentiment_assets.defs.monitoring.resources import MonitoringThresholds
from sentiment_assets.defs.platform.io_manager import STORED_VERSION, ArtifactIOManager
from sentiment_assets.lib import drift
from sentiment_assets.lib.drift import DropDrift, Thresholds
from sentiment_assets.lib.monitoring import LiveQuality, live_shortfall, too_few_to_rank
from sentiment_assets.model.evaluation import not_recommended_share
from sentiment_assets.model.reviews import LABEL


@dg.asset_check(
    asset=RAW_REVIEWS,
    partitions_def=review_drops,
    description="Share of 'not recommended' close to the earlier drops' (a warning).",
)
def label_balance_drift(
    context: dg.AssetCheckExecutionContext,
    raw_reviews: pd.DataFrame,
    io_manager: dg.ResourceParam[ArtifactIOManager],
    monitoring: MonitoringThresholds,
) -> dg.AssetCheckResult:
    # Earlier: added as a partition before this drop (dynamic partitions keep their order).
    keys = context.instance.get_dynamic_partitions(review_drops.name)
    key = context.partition_key
    earlier = set(keys[: keys.index(key)]) if key in keys else set()
    stored = io_manager.load_partitions(context.instance, RAW_REVIEWS, columns=[LABEL])
    labels = [frame[LABEL] for name, frame in stored.items() if name in earlier]
    share = not_recommended_share(raw_reviews[LABEL])
    baseline = not_recommended_share(pd.concat(labels)) if labels else None
    thresholds = monitoring.thresholds()
    unjudged = drift.too_few_to_judge(len(raw_reviews), thresholds)
    problem = None if unjudged else drift.label_share_problem(share, baseline, thresholds)
    return dg.AssetCheckResult(
        passed=problem is None,
        severity=dg.AssetCheckSeverity.WARN,
        description=problem or unjudged,
        metadata={
            "not_recommended_share": round(share, 4),
            "earlier_drops_share": round(baseline, 4) if baseline is not None else None,
            "earlier_drops": len(labels),
            "difference": round(abs(share - baseline), 4) if baseline is not None else None,
        },
    )


@dg.asset_check(
    asset=RAW_REVIEWS,
    partitions_def=review_drops,
    description="A drop's new content holds most of the reviews of the content it replaces (a "
    "warning): a re-export cut short or filtered would otherwise replace what the models learn "
    "from, quietly.",
)
def replaced_drop_size(
    context: dg.AssetCheckExecutionContext,
    raw_reviews: pd.DataFrame,
    io_manager: dg.ResourceParam[ArtifactIOManager],
    monitoring: MonitoringThresholds,
) -> dg.AssetCheckResult:
    rows = len(raw_reviews)
    earlier = _earlier_contents(context.instance, io_manager, context.partition_key)
    before = max(filter(None, map(_row_count, earlier)), default=None)
    latest = _row_count(earlier[0]) if earlier else None
    problem = drift.replaced_problem(rows, before, latest, monitoring.thresholds())
    return dg.AssetCheckResult(
        passed=problem is None,
        severity=dg.AssetCheckSeverity.WARN,
        description=problem,
        metadata={"reviews": rows, "reviews_before": before},
    )


def _earlier_contents(
    instance: dg.DagsterInstance, io_manager: ArtifactIOManager, key: str
) -> list[dg.EventLogRecord]:
    """The drop's reads of other content than its current one whose values are still kept: none
    for a first read, or content read again after `remove-drop` deleted the old. Each is compared,
    not only the latest: a cut export saved again (other bytes, the same reviews) must not hide
    the full content it cut from."""
    kept = set(io_manager.stored_versions(RAW_REVIEWS, key))
    reads = materializations(
        instance, dg.AssetRecordsFilter(asset_key=RAW_REVIEWS, asset_partitions=[key])
    )
    current = next(reads, None)
    if current is None:
        return []
    content = current.asset_materialization.tags.get(DATA_VERSION_TAG)
    return [
        record
        for record in reads
        if (stored := record.asset_materialization.metadata.get(STORED_VERSION)) is not None
        and stored.value in kept
        and record.asset_materialization.tags.get(DATA_VERSION_TAG) != content
    ]


def _row_count(record: dg.EventLogRecord) -> int | None:
    value = record.asset_materialization.metadata.get("dagster/row_count")
    return int(value.value) if value is not None else None


def _drift_check(
    name: str,
    description: str,
    problem: Callable[[DropDrift, Thresholds], str | None],
    *figures: str,
    unmeasured: str = "not measured: no training data yet",
) -> dg.AssetChecksDefinition:
    """A warning on live_quality when one drift figure (the first of `figures`) passes its
    threshold; `unmeasured` says why it may be missing."""

    @dg.asset_check(
        asset=LIVE_QUALITY, name=name, partitions_def=review_drops, description=description
    )
    def check(live_quality: LiveQuality, monitoring: MonitoringThresholds) -> dg.AssetCheckResult:
        thresholds = monitoring.thresholds()
        unjudged = drift.too_few_to_judge(live_quality.reviews, thresholds)
        found = None if unjudged else problem(live_quality.drift, thresholds)
        values = live_quality.drift.model_dump()
        return dg.AssetCheckResult(
            passed=found is None,
            severity=dg.AssetCheckSeverity.WARN,
            description=found
            or unjudged
            or (None if values[figures[0]] is not None else unmeasured),
            metadata={figure: values[figure] for figure in figures},
        )

    return check


vocabulary_drift = _drift_check(
    "vocabulary_drift",
    "Share of the drop's words outside the training vocabulary (stems not in it, and words in "
    "letters the stemmer drops), against the training data's test split (a warning).",
    drift.oov_problem,
    "oov_rate",
    "reference_oov_rate",
)
review_length_drift = _drift_check(
    "review_length_drift",
    "Population stability of the drop's review lengths against the training split's (a warning).",
    drift.length_problem,
    "review_length_psi",
    "mean_words",
    "reference_mean_words",
)
score_drift = _drift_check(
    "score_drift",
    "Population stability of the production model's scores on the drop against its scores on the "
    "training data's test split (a warning).",
    drift.score_problem,
    "score_psi",
    unmeasured="not measured: no production model, or no training data yet",
)


@dg.asset_check(
    asset=LIVE_QUALITY,
    partitions_def=review_drops,
    description="The production model's ROC AUC on the new drop, before it learns from it, is at "
    "least the floor and no further below its own test estimate than the margin.",
)
def live_quality_gate(
    live_quality: LiveQuality, monitoring: MonitoringThresholds
) -> dg.AssetCheckResult:
    thresholds = monitoring.thresholds()
    problems = live_shortfall(live_quality, thresholds)
    live = live_quality.metrics.roc_auc if live_quality.ranked else None
    unjudged = too_few_to_rank(live_quality, thresholds)
    status = live_quality.status() + (f"; {unjudged}" if unjudged else "")
    return dg.AssetCheckResult(
        passed=not problems,
        description="; ".join(problems) if problems else status,
        metadata={
            "production_version": live_quality.production_version,
            "live_roc_auc": live,
            "test_roc_auc": live_quality.test_metrics.roc_auc
            if live_quality.test_metrics
            else None,
            "roc_auc_floor": thresholds.live_roc_auc_floor,
            "margin": thresholds.live_roc_auc_margin,
        },
    )
