"""One partition per review drop; the drop sensor adds a key as each file lands."""

from collections.abc import Iterator

import dagster as dg

from sentiment_assets.defs.asset_keys import RAW_REVIEWS
from sentiment_assets.lib.drop_plan import Ingested
from sentiment_assets.lib.drops import FILE_TAG

review_drops = dg.DynamicPartitionsDefinition(name="review_drops")

# Where Dagster records the data version of a materialization (not exported by dagster itself).
DATA_VERSION_TAG = "dagster/data_version"
# The metadata entry of `raw_reviews` naming the file it read.
SOURCE_FILE = "source_file"
# Event records fetched at a time (Dagster's most).
PAGE = 10_000


def stored_drop(instance: dg.DagsterInstance, key: str) -> Ingested | None:
    """What a drop's latest stored `raw_reviews` was read from: the file its run was told to read
    (`FILE_TAG`), else the file it found by the drop's key (`SOURCE_FILE`, in a backfill or
    `dagster asset materialize`), and the sha256 of the bytes parsed (its data version); None
    before the first, and once the drop is removed (the event log keeps a removed partition's
    materializations)."""
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
    run = instance.get_run_by_id(records[0].run_id)
    if run is not None and (planned := run.tags.get(FILE_TAG)):
        return Ingested(file=planned, sha256=sha)
    # Read back from the metadata shown to people: a materialization's own tags refuse most file
    # names (63 characters at most, no spaces), and only the run's tags are free text.
    found = materialization.metadata.get(SOURCE_FILE)
    return Ingested(file=str(found.value) if found is not None else None, sha256=sha)


def materializations(
    instance: dg.DagsterInstance,
    records_filter: dg.AssetKey | dg.AssetRecordsFilter,
    *,
    limit: int = PAGE,
    ascending: bool = False,
) -> Iterator[dg.EventLogRecord]:
    """Every materialization record the filter selects, newest first unless `ascending`, fetched
    `limit` at a time as they are asked for."""
    cursor = None
    while True:
        page = instance.fetch_materializations(
            records_filter, limit=limit, cursor=cursor, ascending=ascending
        )
        yield from page.records
        if not page.has_more:
            return
        cursor = page.cursor


def first_stored(instance: dg.DagsterInstance) -> dict[str, float]:
    """When each content (a file's sha256, `raw_reviews`' data version) was first stored, under
    any drop, removed ones included: one pass over the reads."""
    first: dict[str, float] = {}
    for record in materializations(instance, RAW_REVIEWS, ascending=True):
        sha = record.asset_materialization.tags.get(DATA_VERSION_TAG)
        if sha is not None:
            first.setdefault(sha, record.timestamp)
    return first


def first_read(instance: dg.DagsterInstance, key: str) -> float | None:
    """When drop `key` was first stored, whatever its content then; None before any."""
    reads = dg.AssetRecordsFilter(asset_key=RAW_REVIEWS, asset_partitions=[key])
    first = instance.fetch_materializations(reads, limit=1, ascending=True).records
    return first[0].timestamp if first else None


def same_content_since(instance: dg.DagsterInstance, key: str, sha256: str, since: float) -> bool:
    """Whether every read of drop `key` stored after `since` (a timestamp) holds the content
    `sha256`: nothing else replaced it meanwhile, though it may have been read again."""
    records = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=RAW_REVIEWS, asset_partitions=[key], after_timestamp=since),
        limit=PAGE,
    ).records
    return all(r.asset_materialization.tags.get(DATA_VERSION_TAG) == sha256 for r in records)


def content_stored_since(instance: dg.DagsterInstance, key: str) -> float | None:
    """When drop `key`'s current content (its latest `raw_reviews` data version) was stored first
    in the unbroken run of reads of that content that ends with the latest; None before any."""
    since, content = None, None
    reads = dg.AssetRecordsFilter(asset_key=RAW_REVIEWS, asset_partitions=[key])
    for record in materializations(instance, reads):  # newest first
        sha = record.asset_materialization.tags.get(DATA_VERSION_TAG)
        if content is not None and sha != content:
            break
        content, since = sha, record.timestamp
    return since
