"""One drop scored by the production model when it lands, before any retraining learns from it:
`drop_predictions` and `live_quality`, one partition per drop, from one scoring by one version."""

import math
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import dagster as dg
import pandas as pd

from sentiment_assets.defs.asset_keys import (
    DROP_PREDICTIONS,
    LIVE_QUALITY,
    PADDED_DATASET,
    STEMMED_CORPUS,
)
from sentiment_assets.defs.ingestion.partitions import (
    first_read,
    first_stored,
    review_drops,
    same_content_since,
    stored_drop,
)
from sentiment_assets.defs.platform.concurrency import MLFLOW_POOL
from sentiment_assets.defs.platform.io_manager import ArtifactIOManager
from sentiment_assets.defs.platform.metadata import metrics_markdown, sample_markdown
from sentiment_assets.defs.platform.resources import (
    MlflowTracking,
    ReviewLanding,
    end_abandoned_runs,
    run_ended,
    run_tags,
    store_failures,
)
from sentiment_assets.lib import monitoring
from sentiment_assets.lib.drop_plan import Ingested
from sentiment_assets.lib.monitoring import MODEL_VERSION_COLUMN, LiveQuality, Scoring
from sentiment_assets.lib.tracking import (
    DAGSTER_RUN_TAG,
    DATASET_TAG,
    DROP_TAG,
    MONITORING_EXPERIMENT,
    MlflowStore,
)
from sentiment_assets.lib.versions import code_version, frame_version, value_version
from sentiment_assets.model.dataset import PaddedDataset
from sentiment_assets.model.evaluation import NOT_RECOMMENDED, not_recommended_share
from sentiment_assets.model.predictions import LABEL_COLUMN, PROBABILITY_COLUMN
from sentiment_assets.model.stems import Corpus

if TYPE_CHECKING:
    from mlflow.entities.model_registry import ModelVersion

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
) -> Iterator[dg.Output]:
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
            scoring = _score(context, store, io_manager, version, stemmed_corpus, dataset, content)
        quality = logged = None
        if LIVE in wanted:
            measured = monitoring.measure_live_quality(
                drop, stemmed_corpus, dataset, scoring, scored_at, content and content.sha256
            )
            stored = io_manager.stored_value(LIVE_QUALITY, drop, LiveQuality)
            if stored is not None and stored.content is None and content is not None:
                scored = datetime.fromisoformat(stored.scored_at).timestamp()
                if same_content_since(context.instance, drop, content.sha256, scored):
                    # Stored before records named their content: it measured today's.
                    stored = stored.model_copy(update={"content": content.sha256})
            if version is not None:
                # What killed scorings left in MLflow: a record still RUNNING, or FINISHED but
                # never stored by Dagster.
                end_abandoned_runs(context, store.monitoring())
                _end_unstored_records(context, store.monitoring(), drop)
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
            yield dg.Output(
                table,
                output_name=PREDICTIONS,
                data_version=dg.DataVersion(frame_version(table)),
                metadata=_predictions_metadata(table),
            )
    if quality is not None:
        context.log.info(f"{drop}: {quality.status()}")
        yield dg.Output(
            quality,
            output_name=LIVE,
            data_version=dg.DataVersion(value_version(quality)),
            metadata=_live_metadata(quality, store, logged),
        )


def _end_unstored_records(context: dg.AssetExecutionContext, store: MlflowStore, drop: str) -> None:
    """End as KILLED each FINISHED live record of the drop in MLflow whose Dagster run ended
    without storing it (killed between the two), so that the drop's FINISHED records are the ones
    Dagster stored."""
    for run_id, dagster_run in store.finished_runs_tagged(DROP_TAG, drop):
        lost = (
            dagster_run is not None
            and run_ended(context.instance, dagster_run)
            and not _stored_by(context.instance, dagster_run, drop)
        )
        if lost:
            store.end_as_killed(run_id)
            context.log.warning(
                f"Ended MLflow run {run_id} ({store.experiment_name}) as KILLED: its Dagster "
                f"run {dagster_run} ended without storing this live record of {drop}"
            )


def _stored_by(instance: dg.DagsterInstance, run_id: str, drop: str) -> bool:
    """Whether the Dagster run materialized the drop's live_quality."""
    records = instance.get_records_for_run(
        run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION
    ).records
    return any(
        (event := record.event_log_entry.dagster_event) is not None
        and event.asset_key == LIVE_QUALITY
        and event.partition == drop
        for record in records
    )


def _score(
    context: dg.AssetExecutionContext,
    store: MlflowStore,
    io_manager: ArtifactIOManager,
    version: "ModelVersion",
    reviews: pd.DataFrame,
    dataset: PaddedDataset | None,
    content: Ingested | None,
) -> Scoring:
    """The version's predictions for the drop (and the dataset's test split), and what it may
    have learned: the reviews of the dataset it trained on (its run's `data_version`, while a
    kept version of `padded_dataset` holds it), else the drops `_learned_drops` names."""
    model = store.load_model(store.version_uri(str(version.version)))
    test = dataset.split_reviews("test") if dataset is not None else None
    trained = _training_end(context, store, version.run_id)
    first = first_stored(context.instance) if trained is not None else {}
    # Only for a live record (with the dataset): predictions alone need none of it.
    fingerprint = store.run_tag(version.run_id, DATASET_TAG) if dataset is not None else None
    learned = (
        io_manager.dataset_reviews(fingerprint, [Corpus.TEXT, Corpus.SPLIT])
        if fingerprint is not None and trained is not None
        else None
    )
    return Scoring(
        version=str(version.version),
        run_id=version.run_id,
        drop=monitoring.predict_reviews(model, reviews),
        test=monitoring.predict_reviews(model, test) if test is not None else None,
        may_have_learned_from_drop=_trained_after_stored(trained, first, content),
        learned_drops=_learned_drops(context, trained, first, dataset),
        learned_reviews=learned,
    )


def _training_end(
    context: dg.AssetExecutionContext, store: MlflowStore, run_id: str
) -> float | None:
    """When the Dagster run that trained the version (its MLflow run's `dagster_run_id`) ended:
    infinity while it runs, None when this instance does not know it (a model trained elsewhere)."""
    training_run = store.run_tag(run_id, DAGSTER_RUN_TAG)
    record = context.instance.get_run_record_by_id(training_run) if training_run else None
    if record is None:
        return None
    return record.end_time if record.end_time is not None else math.inf


def _trained_after_stored(
    trained: float | None, first: dict[str, float], content: Ingested | None
) -> bool | None:
    """Whether the version's training (ended at `trained`) ended after the drop's content (its
    file's sha256) was first stored (`first`, by content), under this drop or any other, so that
    its dataset may hold those reviews; None when either is unknown (a model trained elsewhere).
    Content, not the drop: reading or stemming it again later (new code), or the same file
    landing under another name, does not make what was learned from it unseen; new content is
    unseen until trained on."""
    stored = first.get(content.sha256) if content is not None else None
    if trained is None or stored is None:
        return None
    return trained > stored


def _learned_drops(
    context: dg.AssetExecutionContext,
    trained: float | None,
    first: dict[str, float],
    dataset: PaddedDataset | None,
) -> frozenset[str] | None:
    """The dataset's drops that had content stored before the version's training ended (at
    `trained`): their current content first stored then (`first`, by content, under any name),
    or any earlier content of the drop. Not the dataset as it is now: a retraining that kept
    production rebuilt it with drops production never read. A drop sent again under its own name
    (cut short, corrected) counts by its earlier content: the dataset still holds the reviews
    production learned from it (a review measured such a drop "live" at 0.997 on reviews 85 %
    of which production had learned). None when the training is unknown here."""
    if trained is None or dataset is None:
        return None

    def stored_before(drop: str) -> float:
        held = stored_drop(context.instance, drop)
        current = first.get(held.sha256, math.inf) if held is not None else math.inf
        earliest = first_read(context.instance, drop)
        return min(current, earliest if earliest is not None else math.inf)

    return frozenset(d for d in set(dataset.reviews[Corpus.DROP]) if stored_before(d) < trained)


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
