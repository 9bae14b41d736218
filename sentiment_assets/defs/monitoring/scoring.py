"""What a production version makes of a drop, read from Dagster's event log and MLflow: its
predictions, what it may have learned of the drop before, the drop's stored live record, and the
MLflow records a killed scoring left behind. `score_drop` (`assets.py`) composes them."""

import math
from datetime import datetime
from typing import TYPE_CHECKING

import dagster as dg
import pandas as pd

from sentiment_assets.defs.asset_keys import LIVE_QUALITY
from sentiment_assets.defs.ingestion.partitions import (
    first_read,
    first_stored,
    same_content_since,
    stored_drop,
)
from sentiment_assets.defs.platform.io_manager import ArtifactIOManager
from sentiment_assets.defs.platform.resources import end_abandoned_runs, run_ended
from sentiment_assets.lib.drop_plan import Ingested
from sentiment_assets.lib.monitoring import LiveQuality, Scored, Scoring
from sentiment_assets.lib.tracking import DAGSTER_RUN_TAG, DATASET_TAG, DROP_TAG, MlflowStore
from sentiment_assets.model.dataset import PaddedDataset
from sentiment_assets.model.stems import Corpus

if TYPE_CHECKING:
    from mlflow.entities.model_registry import ModelVersion


def scoring_of(
    context: dg.AssetExecutionContext,
    store: MlflowStore,
    io_manager: ArtifactIOManager,
    version: "ModelVersion",
    reviews: pd.DataFrame,
    dataset: PaddedDataset | None,
    content: Ingested | None,
) -> Scoring:
    """The version's answers for the drop's reviews (and the dataset's test split's), and what it
    may have learned: the reviews of the dataset it trained on (its run's `data_version`, while a
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
        drop=Scored.of(model, reviews),
        test=Scored.of(model, test) if test is not None else None,
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


def stored_record(
    instance: dg.DagsterInstance, io_manager: ArtifactIOManager, drop: str, content: Ingested | None
) -> LiveQuality | None:
    """The drop's stored live record; one stored before records named their content counts as
    measuring today's content when that content was stored before it was scored."""
    stored = io_manager.stored_value(LIVE_QUALITY, drop, LiveQuality)
    if stored is not None and stored.content is None and content is not None:
        scored = datetime.fromisoformat(stored.scored_at).timestamp()
        if same_content_since(instance, drop, content.sha256, scored):
            return stored.model_copy(update={"content": content.sha256})
    return stored


def end_lost_records(context: dg.AssetExecutionContext, store: MlflowStore, drop: str) -> None:
    """End what killed scorings left in MLflow's monitoring experiment: a record still RUNNING
    (`end_abandoned_runs`), or FINISHED but never stored by Dagster (`_end_unstored_records`)."""
    monitoring_store = store.monitoring()
    end_abandoned_runs(context, monitoring_store)
    _end_unstored_records(context, monitoring_store, drop)


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
