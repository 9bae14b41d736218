"""Asset storage: values as open formats (parquet, npy, JSON), one folder per asset or partition."""

import json
import shutil
from pathlib import Path
from typing import Any, get_origin

import dagster as dg
import pandas as pd
from pydantic import BaseModel, Field

from sentiment_assets.lib import settings
from sentiment_assets.model.dataset import PaddedDataset


class ArtifactIOManager(dg.ConfigurableIOManager):
    """Stores asset values as open formats (parquet, npy, JSON), one folder per partition.

    An input declared as a `dict` gets the partitions it reads keyed by partition, even when there
    is only one. Drops that never materialized (quarantined on arrival) are
    skipped; a drop quarantined after an earlier good version keeps that version; a materialized
    partition whose files are gone is an error, never silently left out. Typed values (pydantic
    models) are stored as JSON and read back as the type the reading asset or check declares.
    """

    base_dir: str | None = Field(
        default=None, description="Storage folder; default $SENTIMENT_DATA_DIR/storage."
    )

    def _root(self) -> Path:
        return Path(self.base_dir).resolve() if self.base_dir else settings.storage_dir()

    def _path(self, asset_key: dg.AssetKey, partition: str | None) -> Path:
        base = self._root().joinpath(*asset_key.path)
        return base / partition if partition else base

    def handle_output(self, context: dg.OutputContext, obj: Any) -> None:
        partition = context.partition_key if context.has_asset_partitions else None
        path = self._path(context.asset_key, partition)
        path.parent.mkdir(parents=True, exist_ok=True)
        staging = path.with_name(path.name + ".writing")
        _write(obj, staging)
        _replace(staging, path)

    def load_input(self, context: dg.InputContext) -> Any:
        key = context.asset_key
        kind = context.dagster_type.typing_type
        if not context.has_asset_partitions:
            return _read(self._path(key, None), kind)
        if get_origin(kind) is not dict and len(context.asset_partition_keys) == 1:
            return _read(self._path(key, context.asset_partition_keys[0]), kind)
        values = {}
        materialized = context.instance.get_materialized_partitions(key)
        for partition in context.asset_partition_keys:
            path = self._path(key, partition)
            if path.exists():
                values[partition] = _read(path, None)
            elif partition in materialized:
                raise dg.Failure(
                    f"{key.to_user_string()} [{partition}] was materialized but its stored value "
                    f"is missing from {path}; re-materialize that partition"
                )
            else:
                context.log.warning(
                    f"{key.to_user_string()} [{partition}] was never stored; skipped"
                )
        if not values:
            raise dg.Failure(f"no partition of {key.to_user_string()} has been materialized yet")
        return values

    def load_partitions(
        self, instance: dg.DagsterInstance, asset_key: dg.AssetKey, columns: list[str] | None = None
    ) -> dict[str, pd.DataFrame]:
        """Every stored partition of a table asset (only `columns`, when given), by partition;
        for checks that compare one partition with the others."""
        return {
            partition: pd.read_parquet(
                self._path(asset_key, partition) / "data.parquet", columns=columns
            )
            for partition in sorted(instance.get_materialized_partitions(asset_key))
            if self._path(asset_key, partition).exists()
        }


# Every value gets a folder with a marker that says how it was written, so reads need no guessing.
def _write(obj: Any, folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    if isinstance(obj, pd.DataFrame):
        obj.to_parquet(folder / "data.parquet", index=False)
        kind = "dataframe"
    elif isinstance(obj, PaddedDataset):
        obj.save(folder)
        kind = "padded_dataset"
    elif isinstance(obj, BaseModel):
        (folder / "data.json").write_text(obj.model_dump_json(indent=1))
        kind = "json"
    else:
        (folder / "data.json").write_text(json.dumps(obj, indent=1))
        kind = "json"
    (folder / "kind").write_text(kind)


def _read(folder: Path, expected: Any) -> Any:
    kind = (folder / "kind").read_text()
    if kind == "dataframe":
        return pd.read_parquet(folder / "data.parquet")
    if kind == "padded_dataset":
        return PaddedDataset.load(folder)
    text = (folder / "data.json").read_text()
    if isinstance(expected, type) and issubclass(expected, BaseModel):
        return expected.model_validate_json(text)
    return json.loads(text)


def _replace(staging: Path, target: Path) -> None:
    """Swap the new value in only once it is fully written, so a failure leaves the old one intact."""
    old = target.with_name(target.name + ".old")
    if target.exists():
        target.rename(old)
    staging.rename(target)
    if old.exists():
        shutil.rmtree(old)
