"""One partition per review drop; the drop sensor adds a key as each file lands."""

import dagster as dg

from sentiment_assets.lib.drop_plan import Ingested
from sentiment_assets.lib.drops import FILE_TAG

review_drops = dg.DynamicPartitionsDefinition(name="review_drops")

RAW_REVIEWS = dg.AssetKey("raw_reviews")
# Where Dagster records the data version of a materialization (not exported by dagster itself).
DATA_VERSION_TAG = "dagster/data_version"
# The metadata entry of `raw_reviews` naming the file it read.
SOURCE_FILE = "source_file"
# Event records fetched at a time (Dagster's most).
PAGE = 10_000


def stored_drop(instance: dg.DagsterInstance, key: str) -> Ingested | None:
    """What a drop's latest stored `raw_reviews` was read from: the file it read (its metadata;
    for materializations older than that, the file its run was told to read) and the sha256 of
    the bytes parsed (its data version); None before the first, and once the drop is removed (the
    event log keeps a removed partition's materializations)."""
    if not instance.has_dynamic_partition(review_drops.name, key):
        return None
    records = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=RAW_REVIEWS, asset_partitions=[key]), limit=1
    ).records
    if not records:
        return None
    materialization = records[0].asset_materialization
    sha = materialization.tags.get(DATA_VERSION_TAG)
    if sha is None:
        return None
    # A run without the drop sensor's tags (a backfill, `dagster asset materialize`) finds the
    # file by its key; the metadata names it either way.
    source = materialization.metadata.get(SOURCE_FILE)
    if source is not None:
        return Ingested(file=str(source.value), sha256=sha)
    run = instance.get_run_by_id(records[0].run_id)
    return Ingested(file=run.tags.get(FILE_TAG) if run else None, sha256=sha)


def first_stored(instance: dg.DagsterInstance, sha256: str) -> float | None:
    """When content (a file's sha256, `raw_reviews`' data version) was first stored, under any
    drop, removed ones included; None if never."""
    cursor = None
    while True:
        page = instance.fetch_materializations(
            RAW_REVIEWS, limit=PAGE, cursor=cursor, ascending=True
        )
        for record in page.records:
            if record.asset_materialization.tags.get(DATA_VERSION_TAG) == sha256:
                return record.timestamp
        if not page.has_more:
            return None
        cursor = page.cursor


def same_content_since(instance: dg.DagsterInstance, key: str, sha256: str, since: float) -> bool:
    """Whether every read of drop `key` stored after `since` (a timestamp) holds the content
    `sha256`: nothing else replaced it meanwhile, though it may have been read again."""
    records = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=RAW_REVIEWS, asset_partitions=[key], after_timestamp=since),
        limit=PAGE,
    ).records
    return all(r.asset_materialization.tags.get(DATA_VERSION_TAG) == sha256 for r in records)
