"""Asset storage: versioned values in open formats (parquet, npy, JSON), swapped in whole."""

from functools import partial
from pathlib import Path
from typing import Any, Union, get_args, get_origin

import dagster as dg
import pandas as pd
from pydantic import BaseModel, Field, PrivateAttr

from sentiment_assets.defs.asset_keys import PADDED_DATASET
from sentiment_assets.defs.ingestion.partitions import review_drops
from sentiment_assets.lib import settings
from sentiment_assets.lib.storage.files import DiskFull
from sentiment_assets.lib.storage.objects import open_files
from sentiment_assets.lib.storage.store import KEEP_VERSIONS, NotStored, Slot, VersionedStore
from sentiment_assets.lib.storage.values import read_table, read_value, write_value
from sentiment_assets.lib.versions import frame_version, value_version
from sentiment_assets.model.dataset import PaddedDataset

# The metadata entry naming the stored version a materialization wrote.
STORED_VERSION = "stored_version"
_NAMED = 5  # how many partitions never stored a warning names


class ArtifactIOManager(dg.ConfigurableIOManager):
    """Stores asset values as open formats (parquet, npy, JSON), a new version per write.

    A write goes to a version folder of its own and a pointer file is swapped to it only once it is
    whole and on disk, one writer per partition at a time; the last versions stay readable (layout
    in `lib/storage/store.py`). An input declared as a `dict` gets the partitions it reads keyed by
    partition, even when there is only one. An input declared optional (`X | None`) gets None when
    the asset (none of the partitions it reads) was never materialized. Drops that never
    materialized (quarantined on arrival) are skipped; a materialized partition without a stored value is an error, never silently left
    out. Pydantic models are stored as JSON and read back as the type the reader declares.
    """

    base_dir: str | None = Field(
        default=None,
        description="A storage folder, or an s3://bucket/prefix URL; default "
        "$SENTIMENT_STORAGE_URL, else $SENTIMENT_DATA_DIR/storage.",
    )

    # One store per location, so one S3 client for every read and write of this I/O manager.
    _stores: dict[str, VersionedStore] = PrivateAttr(default_factory=dict)

    def store(self) -> VersionedStore:
        location = self.base_dir or settings.storage_location()
        if location not in self._stores:
            self._stores[location] = VersionedStore(open_files(location))
        return self._stores[location]

    def handle_output(self, context: dg.OutputContext, obj: Any) -> None:
        partition = context.partition_key if context.has_asset_partitions else None
        slot = _slot(context.asset_key, partition)
        try:
            stored = self.store().write(
                slot, partial(write_value, obj), context.run_id, content=_content(obj)
            )
        except DiskFull as err:
            raise dg.Failure(description=str(err), allow_retries=False) from err
        if stored.replaced is not None:
            context.log.info(
                f"{slot}: stored version {stored.version}; the value it replaces stays readable "
                f"at {stored.replaced} (the last {KEEP_VERSIONS} different values are kept)"
            )
        context.add_output_metadata(
            {STORED_VERSION: stored.version, "stored_at": dg.MetadataValue.path(str(stored.path))}
        )

    def load_input(self, context: dg.InputContext) -> Any:
        key = context.asset_key
        kind = context.dagster_type.typing_type
        if get_origin(kind) is Union and type(None) in get_args(kind):
            if not _ever_materialized(context):
                return None
            (kind,) = (arg for arg in get_args(kind) if arg is not type(None))
        if not context.has_asset_partitions:
            return self._load(_slot(key, None), kind)
        if get_origin(kind) is not dict and len(context.asset_partition_keys) == 1:
            return self._load(_slot(key, context.asset_partition_keys[0]), kind)
        values, skipped = {}, []
        materialized = context.instance.get_materialized_partitions(key)
        each = get_args(kind)[1] if get_origin(kind) is dict else None
        for partition in context.asset_partition_keys:
            slot = _slot(key, partition)
            try:
                values[partition] = self.store().read(slot, partial(read_value, expected=each))
            except NotStored as err:
                if partition in materialized:
                    raise _lost(slot, err) from err
                skipped.append(partition)
        if skipped:
            # One line for them all: a drop that failed stays a partition, read by every run.
            shown = ", ".join(skipped[:_NAMED]) + (
                f" and {len(skipped) - _NAMED} more" if len(skipped) > _NAMED else ""
            )
            context.log.warning(
                f"{key.to_user_string()} is not stored for {len(skipped)} partition(s), "
                f"skipped: {shown} (a drop whose ingestion is still queued or running counts "
                "from the next run on; one whose reading failed stays a partition until "
                "sentiment-platform remove-drop removes it)"
            )
        if not values:
            raise dg.Failure(f"no partition of {key.to_user_string()} has been materialized yet")
        return values

    def load_partitions(
        self,
        instance: dg.DagsterInstance,
        asset_key: dg.AssetKey,
        columns: list[str] | None = None,
        partitions: dg.DynamicPartitionsDefinition = review_drops,
    ) -> dict[str, pd.DataFrame]:
        """Every materialized partition of a table asset (only `columns`, when given), by
        partition; for checks that compare one partition with the others."""
        reader = partial(read_table, columns=columns)
        return self._stored_partitions(instance, asset_key, reader, partitions)

    def _stored_partitions(
        self,
        instance: dg.DagsterInstance,
        asset_key: dg.AssetKey,
        reader: Any,
        partitions: dg.DynamicPartitionsDefinition,
    ) -> dict[str, Any]:
        # The event log keeps a removed partition's materializations: only current keys count.
        current = set(instance.get_dynamic_partitions(partitions.name))
        stored = {}
        for partition in sorted(instance.get_materialized_partitions(asset_key) & current):
            slot = _slot(asset_key, partition)
            try:
                stored[partition] = self.store().read(slot, reader)
            except NotStored as err:
                raise _lost(slot, err) from err
        return stored

    def stored_value(self, asset_key: dg.AssetKey, partition: str | None, kind: Any) -> Any:
        """The current stored value of an asset (partition) as `kind`; None while none is."""
        try:
            return self.store().read(
                _slot(asset_key, partition), partial(read_value, expected=kind)
            )
        except NotStored:
            return None

    def is_stored(self, asset_key: dg.AssetKey, partition: str | None) -> bool:
        """Whether an asset (partition) has a stored value (a removed drop's have none)."""
        return bool(self.stored_versions(asset_key, partition))

    def stored_versions(self, asset_key: dg.AssetKey, partition: str | None) -> list[str]:
        """The kept versions of an asset (partition), the current one first (each
        materialization's `STORED_VERSION` entry names its own)."""
        return self.store().versions(_slot(asset_key, partition))

    def stored_uri(self, asset_key: dg.AssetKey, partition: str | None) -> str | None:
        """Where the current value of an asset (partition) is, as a URI (`file://` or the object
        store's); None while none is stored."""
        slot = _slot(asset_key, partition)
        versions = self.store().versions(slot)
        if not versions:
            return None
        where = self.store().path(slot, versions[0])
        return where.absolute().as_uri() if isinstance(where, Path) else where

    def dataset_reviews(self, fingerprint: str, columns: list[str]) -> pd.DataFrame | None:
        """Columns of the reviews of the stored `padded_dataset` with this fingerprint, current or
        kept; None when no kept version holds it."""
        slot = _slot(PADDED_DATASET, None)
        version = self.store().version_of(slot, fingerprint)
        if version is None:
            return None
        try:
            return self.store().read(
                slot, partial(PaddedDataset.saved_reviews, columns=columns), version=version
            )
        except NotStored:
            return None

    def dataset_drops(self) -> set[str] | None:
        """The drops the stored `padded_dataset` holds reviews of; None while none is stored."""
        try:
            return self.store().read(_slot(PADDED_DATASET, None), PaddedDataset.saved_drops)
        except NotStored:
            return None

    def remove_partition(self, asset_key: dg.AssetKey, partition: str) -> int:
        """Delete a partition's stored value and its kept versions; how many versions it had."""
        return self.store().remove(_slot(asset_key, partition))

    def _load(self, slot: Slot, kind: Any) -> Any:
        try:
            return self.store().read(slot, partial(read_value, expected=kind))
        except NotStored as err:
            raise dg.Failure(f"{err}; materialize it first") from err


def _lost(slot: Slot, err: NotStored) -> dg.Failure:
    return dg.Failure(
        f"{slot} was materialized but its stored value is missing ({err}); re-materialize that "
        "partition, or remove its drop with `sentiment-platform remove-drop`"
    )


def _ever_materialized(context: dg.InputContext) -> bool:
    instance, key = context.instance, context.asset_key
    if not context.has_asset_partitions:
        return instance.get_latest_materialization_event(key) is not None
    return not instance.get_materialized_partitions(key).isdisjoint(context.asset_partition_keys)


def _slot(key: dg.AssetKey, partition: str | None) -> Slot:
    return Slot(key.to_user_string(), partition)


def _content(value: Any) -> str | None:
    """A hash of what a value holds, for the store to keep one version per content: a drop read
    again to the same rows replaces that read instead of pushing an earlier, different content
    out of the kept versions (a review lost a drop's full content to re-saves of a cut one)."""
    if isinstance(value, pd.DataFrame):
        try:
            return frame_version(value)
        except TypeError:  # a cell pandas cannot hash (a list): stored, counted on its own
            return None
    if isinstance(value, PaddedDataset):
        return value.fingerprint
    if isinstance(value, BaseModel):
        return value_version(value)
    return None
