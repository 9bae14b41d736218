"""One drop scored by the production model when it lands, before any retraining learns from it:
`drop_predictions` and `live_quality`, one partition per drop, from one scoring by one version."""

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import dagster as dg
import pandas as pd

from sentiment_assets.defs.asset_keys import (
    DROP_PREDICTIONS,
    LIVE_QUALITY,
    PADDED_DATASET,
    STEMMED_CORPUS,
)
from sentiment_assets.defs.ingestion.partitions import review_drops, stored_drop
from sentiment_assets.defs.monitoring.scoring import end_lost_records, scoring_of, stored_record
from sentiment_assets.defs.platform.concurrency import MLFLOW_POOL
from sentiment_assets.defs.platform.io_manager import ArtifactIOManager
from sentiment_assets.defs.platform.metadata import metrics_markdown, sample_markdown
from sentiment_assets.defs.platform.resources import (
    MlflowTracking,
    ReviewLanding,
    run_tags,
    store_failures,
)
from sentiment_assets.lib import monitoring
from sentiment_assets.lib.monitoring import MODEL_VERSION_COLUMN, LiveQuality
from sentiment_assets.lib.tracking import MONITORING_EXPERIMENT, MlflowStore
from sentiment_assets.lib.versions import code_version, frame_version, value_version
from sentiment_assets.model.dataset import PaddedDataset
from sentiment_assets.model.evaluation import NOT_RECOMMENDED, not_recommended_share
from sentiment_assets.model.predictions import LABEL_COLUMN, PROBABILITY_COLUMN
from sentiment_assets.model.stems import Corpus

# score_drop's output names, which name its two assets.
PREDICTIONS, LIVE = DROP_PREDICTIONS.to_user_string(), LIVE_QUALITY.to_user_string()
CODE_VERSION = code_version(__name__, "score_drop")


@dg.multi_asset(
    name="score_drop",
    partitions_def=review_drops,
    ins={"stemmed_corpus": dg.AssetIn(), "padded_dataset": dg.AssetIn()},
    outs={
        PREDICTIONS: dg.AssetOut(
            is_required=False,
            code_version=CODE_VERSION,
            kinds={"mlflow", "parquet"},
            description="The production model's probability of 'recommended' and its label for "
            "every review of the drop that has text, with the model version that scored them, as "
            "it was when the drop landed. Not materialized while there is no production model.",
        ),
        # Both optional, so that either can be materialized alone (`can_subset`).
        LIVE: dg.AssetOut(
            is_required=False,
            code_version=CODE_VERSION,
            kinds={"mlflow", "scikitlearn"},
            description="How the production model does on the drop before any retraining learns "
            "from it: ROC AUC, accuracy, precision/recall/F1 of 'not recommended', Brier score and "
            "reliability, the gap to its own test estimate, and the drop's drift against the "
            f"training data. Also a run in the MLflow experiment {MONITORING_EXPERIMENT}, linked "
            "to the production version.",
        ),
    },
    # What each reads: both come from one scoring, and live_quality does not read the stored
    # predictions (declared, materializing drop_predictions alone made live_quality stale).
    internal_asset_deps={
        PREDICTIONS: {STEMMED_CORPUS},
        LIVE: {STEMMED_CORPUS, PADDED_DATASET},
    },
    can_subset=True,
    pool=MLFLOW_POOL,
)
def score_drop(
    context: dg.AssetExecutionContext,
    stemmed_corpus: pd.DataFrame,
    padded_dataset: PaddedDataset | None,
    mlflow: MlflowTracking,
    landing: ReviewLanding,
    io_manager: dg.ResourceParam[ArtifactIOManager],
) -> Iterator[dg.MaterializeResult]:
    """Loads the version behind the production alias once and scores the drop's reviews with it
    (and the training data's test split, for its test estimate and the score drift); records the
    version and the time, and whether that version may already have learned from the drop. The
    dataset is None before the first one is built. A stored record of the same content is kept
    rather than replaced by one that is not live (`monitoring.record_to_keep`)."""
    store = mlflow.store()
    wanted = context.selected_output_names
    drop = context.partition_key
    dataset = padded_dataset if LIVE in wanted else None
    content = stored_drop(context.instance, drop)  # the drop's file, as last read
    with store_failures(
        store, "score_drop", f"no predictions or live record were stored for drop {drop}"
    ):
        version = store.production_version()
        scored_at = datetime.now(UTC).isoformat(timespec="seconds")
        scoring = None
        if version is not None:
            scoring = scoring_of(
                context, store, io_manager, version, stemmed_corpus, dataset, content
            )
        quality = logged = None
        if LIVE in wanted:
            measured = monitoring.measure_live_quality(
                drop, stemmed_corpus, dataset, scoring, scored_at, content and content.sha256
            )
            stored = stored_record(context.instance, io_manager, drop, content)
            if version is not None:
                end_lost_records(context, store, drop)
            quality = monitoring.record_to_keep(measured, stored)
            if quality is not measured:
                context.log.info(
                    f"{drop}: kept the record of {quality.scored_at} ({quality.status()}); scored "
                    f"again now: {measured.status()}"
                )
            elif version is not None:
                source = landing.path / content.file if content and content.file else None
                logged = store.log_live_quality(quality, version, run_tags(context, LIVE), source)
    if PREDICTIONS in wanted:
        if scoring is None:
            context.log.warning(f"{drop}: no production model yet, so no predictions to store")
        else:
            table = monitoring.predictions_table(stemmed_corpus, scoring.drop, scoring.version)
            yield dg.MaterializeResult(
                asset_key=DROP_PREDICTIONS,
                value=table,
                data_version=dg.DataVersion(frame_version(table)),
                metadata=_predictions_metadata(table),
            )
    if quality is not None:
        context.log.info(f"{drop}: {quality.status()}")
        yield dg.MaterializeResult(
            asset_key=LIVE_QUALITY,
            value=quality,
            data_version=dg.DataVersion(value_version(quality)),
            metadata=_live_metadata(quality, store, logged),
        )


def _predictions_metadata(table: pd.DataFrame) -> dict[str, Any]:
    unhappy = table[table[LABEL_COLUMN] == NOT_RECOMMENDED].sort_values(PROBABILITY_COLUMN)
    return {
        "dagster/row_count": len(table),
        "model_version": str(table[MODEL_VERSION_COLUMN].iloc[0]) if len(table) else None,
        "predicted_not_recommended": len(unhappy),
        "predicted_not_recommended_share": round(not_recommended_share(table[LABEL_COLUMN]), 4),
        "least_happy": sample_markdown(
            unhappy[[Corpus.REVIEW_ID, PROBABILITY_COLUMN, Corpus.TITLE, Corpus.TEXT]]
        ),
    }


def _live_metadata(
    quality: LiveQuality, store: MlflowStore, logged: tuple[str, str] | None
) -> dict[str, Any]:
    """Every figure as a number of its own (the UI plots them drop after drop), and tables."""
    metadata: dict[str, Any] = {
        **{name: round(value, 6) for name, value in monitoring.live_figures(quality).items()},
        "reviews": quality.reviews,  # a count: an int, not MLflow's float
        "status": quality.status(),
        "production_version": quality.production_version,
        "scored_at": quality.scored_at,
    }
    scores = {
        name: metrics
        for name, metrics in (("live", quality.metrics), ("test", quality.test_metrics))
        if metrics is not None
    }
    if scores:
        metadata["scores"] = metrics_markdown(scores)
    if quality.reliability:
        frame = pd.DataFrame([vars(b) for b in quality.reliability])
        metadata["reliability"] = dg.MetadataValue.md(frame.round(4).to_markdown(index=False))
    if logged is not None:
        metadata["mlflow_run"] = dg.MetadataValue.url(store.run_url(*logged))
    return metadata
