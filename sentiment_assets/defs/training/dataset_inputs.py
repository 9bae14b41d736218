"""Whether the stored dataset has every drop's latest stems, beside Dagster's stale status; and
which drops stemmed since have not been scored by production yet.

Dagster's resolver stops comparing an asset with a partitioned dependency once that dependency
has 100 partitions (`SKIP_PARTITION_DATA_VERSION_DEPENDENCY_THRESHOLD`, two years of weekly
drops): from then on `padded_dataset` never shows stale, whatever lands. Timestamps have no such
limit: the dataset counts as built from the drops stemmed before its run *started*.
"""

import dagster as dg

from sentiment_assets.defs.monitoring.assets import LIVE

DATASET, STEMMED = dg.AssetKey("padded_dataset"), dg.AssetKey("stemmed_corpus")


def dataset_built_from(instance: dg.DagsterInstance) -> float:
    """The start of the run behind the latest dataset: it read every drop stemmed before then
    (0.0 before the first dataset)."""
    records = instance.fetch_materializations(DATASET, limit=1).records
    if not records:
        return 0.0
    run = instance.get_run_record_by_id(records[0].run_id)
    return run.start_time if run is not None and run.start_time else records[0].timestamp


def newest_stems(instance: dg.DagsterInstance) -> float | None:
    """When a drop was last stemmed; None before the first."""
    records = instance.fetch_materializations(STEMMED, limit=1).records
    return records[0].timestamp if records else None


def stemmed_since_built(instance: dg.DagsterInstance) -> bool:
    """Whether a drop was stemmed after the stored dataset was built (or there is none yet): a
    drop stemmed again to the same stems counts too, and the dataset built again to the same
    fingerprint leaves the candidates fresh."""
    newest = newest_stems(instance)
    return newest is not None and newest > dataset_built_from(instance)


def unscored_since_built(instance: dg.DagsterInstance, drops: set[str]) -> list[str]:
    """The drops of `drops` stemmed after the stored dataset was built that have no `live_quality`
    record: production never scored them (their ingestion failed, or was stopped, between
    stemming and scoring), so a retraining now would learn them before they were measured."""
    built, stemmed, cursor = dataset_built_from(instance), set(), None
    while True:
        result = instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=STEMMED, after_timestamp=built),
            limit=1000,
            cursor=cursor,
        )
        stemmed |= {record.partition_key for record in result.records}
        if not result.has_more:
            break
        cursor = result.cursor
    waiting = (stemmed & drops) - instance.get_materialized_partitions(dg.AssetKey(LIVE))
    return sorted(waiting)
