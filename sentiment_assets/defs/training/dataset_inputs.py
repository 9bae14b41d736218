"""Whether the stored dataset has every drop's latest stems, beside Dagster's stale status; and
which drops production has not scored yet in their current content.

Dagster's resolver stops comparing an asset with a partitioned dependency once that dependency
has 100 partitions (`SKIP_PARTITION_DATA_VERSION_DEPENDENCY_THRESHOLD`, two years of weekly
drops): from then on `padded_dataset` never shows stale, whatever lands. Timestamps have no such
limit: the dataset counts as built from the drops stemmed before its run *started*. The event log
keeps a removed drop's materializations: only the drops that are partitions now count.
"""

from collections.abc import Iterable

import dagster as dg

from sentiment_assets.defs.asset_keys import (
    LIVE_QUALITY,
    PADDED_DATASET,
    PRODUCTION_MODEL,
    STEMMED_CORPUS,
    TRAINED_MODELS,
)
from sentiment_assets.defs.ingestion.partitions import (
    DATA_VERSION_TAG,
    content_stored_since,
    materializations,
    review_drops,
)
from sentiment_assets.defs.platform.io_manager import ArtifactIOManager
from sentiment_assets.lib.training import TrainedModels

# Stem records looked at a time: the newest is nearly always a drop that is still there.
_PAGE = 100


def dataset_built_from(instance: dg.DagsterInstance) -> float:
    """The start of the run behind the latest dataset: it read every drop stemmed before then
    (0.0 before the first dataset)."""
    latest = _latest(instance, PADDED_DATASET)
    if latest is None:
        return 0.0
    run = instance.get_run_record_by_id(latest.run_id)
    return run.start_time if run is not None and run.start_time else latest.timestamp


def decided_on_stored(instance: dg.DagsterInstance) -> bool:
    """Whether `production_model` decided on the stored candidates (a decision that failed, the
    store locked or the alias moved meanwhile, is still to be made)."""
    return _decided_after(instance, _latest(instance, TRAINED_MODELS))


def undecided_dataset(
    instance: dg.DagsterInstance, io_manager: ArtifactIOManager
) -> dg.DagsterRun | None:
    """The run that built the stored dataset, when production was not decided on candidates
    trained on it (their training failed or was cancelled, in that run or a later one); None
    when it was, or there is no dataset. A dataset built again to the fingerprint the decided
    candidates were trained on counts as decided."""
    latest = _latest(instance, PADDED_DATASET)
    if latest is None:
        return None
    trained = _latest(instance, TRAINED_MODELS)
    if trained is not None and _decided_after(instance, trained):
        if trained.timestamp > latest.timestamp:
            return None  # trained after it was built, so on it, and decided: every idle tick
        # Built again since (a drop read again, unchanged): the stored value says on what.
        stored = io_manager.stored_value(TRAINED_MODELS, None, TrainedModels)
        fingerprint = latest.asset_materialization.tags.get(DATA_VERSION_TAG)
        if stored is not None and stored.data_version == fingerprint:
            return None
    return instance.get_run_by_id(latest.run_id)


def _decided_after(instance: dg.DagsterInstance, trained: dg.EventLogRecord | None) -> bool:
    """Whether `production_model` was materialized after the candidates of `trained`."""
    decided = _latest(instance, PRODUCTION_MODEL)
    return trained is not None and decided is not None and decided.timestamp > trained.timestamp


def _latest(instance: dg.DagsterInstance, asset: dg.AssetKey) -> dg.EventLogRecord | None:
    records = instance.fetch_materializations(asset, limit=1).records
    return records[0] if records else None


def newest_stems(instance: dg.DagsterInstance, drops: set[str] | None = None) -> float | None:
    """When a drop of `drops` (default: the drops now) was last stemmed; None before the first."""
    if drops is None:
        drops = set(instance.get_dynamic_partitions(review_drops.name))
    stems = materializations(instance, STEMMED_CORPUS, limit=_PAGE)
    return next((r.timestamp for r in stems if r.partition_key in drops), None)


def stemmed_since_built(instance: dg.DagsterInstance) -> bool:
    """Whether a drop was stemmed after the stored dataset was built (or there is none yet): a
    drop stemmed again to the same stems counts too, and the dataset built again to the same
    fingerprint leaves the candidates fresh."""
    newest = newest_stems(instance)
    return newest is not None and newest > dataset_built_from(instance)


def unscored(
    instance: dg.DagsterInstance, drops: Iterable[str], io_manager: ArtifactIOManager
) -> list[str]:
    """The drops of `drops` whose stored content has no stored `live_quality` record made since it
    was stored: production never scored it (the drop's ingestion failed, or was stopped, between
    reading and scoring), so a retraining would learn it before it was measured. A drop read
    again to the same content keeps its record; one whose file changed needs a new one, and so
    does a removed drop landed again (the event log keeps its old record; the store does not)."""
    waiting = []
    for drop in sorted(drops):
        since = content_stored_since(instance, drop)
        if since is None:
            continue  # nothing stored: nothing to learn
        if not io_manager.is_stored(LIVE_QUALITY, drop):
            waiting.append(drop)
            continue
        scored = instance.fetch_materializations(
            dg.AssetRecordsFilter(
                asset_key=LIVE_QUALITY, asset_partitions=[drop], after_timestamp=since
            ),
            limit=1,
        ).records
        if not scored:
            waiting.append(drop)
    return waiting


def unscored_since_built(
    instance: dg.DagsterInstance, drops: set[str], io_manager: ArtifactIOManager
) -> list[str]:
    """`unscored` among the drops of `drops` stemmed after the stored dataset was built: those
    the next retraining would learn first."""
    since_built = dg.AssetRecordsFilter(
        asset_key=STEMMED_CORPUS, after_timestamp=dataset_built_from(instance)
    )
    stemmed = {record.partition_key for record in materializations(instance, since_built)}
    return unscored(instance, stemmed & drops, io_manager)
