"""Resources: where drops land, where asset values are stored, and the MLflow tracking store."""

import fcntl
import json
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import dagster as dg
import pandas as pd
from pydantic import Field

from sentiment_assets import registry, settings
from sentiment_assets.dataset import PaddedDataset


class ReviewLanding(dg.ConfigurableResource):
    """The folder that review CSV drops land in, and the quarantine for drops that fail validation."""

    folder: str | None = Field(
        default=None, description="Landing folder; default $SENTIMENT_DATA_DIR/landing."
    )

    @property
    def path(self) -> Path:
        return Path(self.folder).resolve() if self.folder else settings.landing_dir()

    @property
    def quarantine(self) -> Path:
        return self.path.parent / "quarantine" if self.folder else settings.quarantine_dir()


class MlflowTracking(dg.ConfigurableResource):
    """MLflow tracking and registry: one MLflow run per candidate, always ended FINISHED or FAILED.

    dagster-mlflow's `mlflow_tracking` resource opens one MLflow run per Dagster run when the
    resource starts and only ends it through a job hook, which UI materializations of assets never
    run; this resource scopes each MLflow run to a `with` block instead.
    """

    tracking_uri: str | None = Field(
        default=None,
        description="Tracking and registry URI; default $MLFLOW_TRACKING_URI, else SQLite under "
        "$SENTIMENT_DATA_DIR/mlflow.",
    )
    experiment_name: str = registry.EXPERIMENT_NAME
    registered_model_name: str = registry.MODEL_NAME
    ui_url: str = Field(
        default="http://127.0.0.1:5000", description="Where `make mlflow-ui` serves the MLflow UI."
    )
    developer: str = Field(default="data-team", description="Tagged on every run, as the seed did.")

    @property
    def uri(self) -> str:
        return self.tracking_uri or settings.tracking_uri()

    def client(self) -> Any:
        from mlflow import MlflowClient

        return MlflowClient(tracking_uri=self.uri, registry_uri=self.uri)

    def experiment_id(self) -> str:
        """Create the experiment on first use, with artifacts beside a SQLite store (not in cwd)."""
        with self._store_lock():
            client = self.client()
            experiment = client.get_experiment_by_name(self.experiment_name)
            if experiment is not None:
                return experiment.experiment_id
            artifacts = self._sqlite_path().parent / "artifacts" if self._sqlite_path() else None
            return client.create_experiment(
                self.experiment_name, artifact_location=str(artifacts) if artifacts else None
            )

    @contextmanager
    def start_run(self, run_name: str, tags: dict[str, str]) -> Iterator[Any]:
        """An MLflow run for the block: FINISHED when it completes, KILLED when the Dagster run is
        terminated, FAILED when it raises."""
        import mlflow

        self._activate()
        experiment_id = self.experiment_id()
        run = mlflow.start_run(
            experiment_id=experiment_id,
            run_name=run_name,
            tags={"developer": self.developer, **tags},
        )
        try:
            yield run
        except (KeyboardInterrupt, dg.DagsterExecutionInterruptedError):
            mlflow.end_run(status="KILLED")
            raise
        except BaseException:
            mlflow.end_run(status="FAILED")
            raise
        mlflow.end_run(status="FINISHED")

    def load_model(self, model_uri: str) -> Any:
        """The pyfunc behind a `models:/` URI: raw review text in, probability and label out."""
        import mlflow.pyfunc

        self._activate()
        return mlflow.pyfunc.load_model(model_uri)

    def _activate(self) -> None:
        # MLflow's fluent API reads a process-wide URI; set it every time so that resources pointing
        # at different stores (tests do this) never write into each other's.
        import mlflow

        mlflow.set_tracking_uri(self.uri)
        mlflow.set_registry_uri(self.uri)

    def run_url(self, experiment_id: str, run_id: str) -> str:
        return f"{self.ui_url}/#/experiments/{experiment_id}/runs/{run_id}"

    def model_version_url(self, version: str) -> str:
        return f"{self.ui_url}/#/models/{self.registered_model_name}/versions/{version}"

    def _sqlite_path(self) -> Path | None:
        # sqlite:///relative.db and sqlite:////absolute.db: the path follows the third slash.
        parsed = urlparse(self.uri)
        return Path(parsed.path[1:]) if parsed.scheme == "sqlite" else None

    @contextmanager
    def _store_lock(self) -> Iterator[None]:
        # Two processes creating a fresh SQLite store at once crash in MLflow's migrations.
        db = self._sqlite_path()
        if db is None:
            yield
            return
        db.parent.mkdir(parents=True, exist_ok=True)
        with open(db.with_suffix(".lock"), "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)


class ArtifactIOManager(dg.ConfigurableIOManager):
    """Stores asset values as open formats (parquet, npy, JSON), one file or folder per partition.

    An unpartitioned asset that reads a partitioned one always gets a dict keyed by partition, even
    when there is only one partition. Drops that never materialized (quarantined on arrival) are
    skipped; a drop quarantined after an earlier good version keeps that version; a materialized
    partition whose files are gone is an error, never silently left out.
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
        if not context.has_asset_partitions:
            return _read(self._path(key, None))
        if context.has_partition_key and len(context.asset_partition_keys) == 1:
            return _read(self._path(key, context.asset_partition_keys[0]))
        values = {}
        materialized = context.instance.get_materialized_partitions(key)
        for partition in context.asset_partition_keys:
            path = self._path(key, partition)
            if path.exists():
                values[partition] = _read(path)
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


# Every value gets a folder with a marker that says how it was written, so reads need no guessing.
def _write(obj: Any, folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    if isinstance(obj, pd.DataFrame):
        obj.to_parquet(folder / "data.parquet", index=False)
        kind = "dataframe"
    elif isinstance(obj, PaddedDataset):
        obj.save(folder)
        kind = "padded_dataset"
    else:
        (folder / "data.json").write_text(json.dumps(obj, indent=1, default=str))
        kind = "json"
    (folder / "kind").write_text(kind)


def _read(folder: Path) -> Any:
    kind = (folder / "kind").read_text()
    if kind == "dataframe":
        return pd.read_parquet(folder / "data.parquet")
    if kind == "padded_dataset":
        return PaddedDataset.load(folder)
    return json.loads((folder / "data.json").read_text())


def _replace(staging: Path, target: Path) -> None:
    """Swap the new value in only once it is fully written, so a failure leaves the old one intact."""
    old = target.with_name(target.name + ".old")
    if target.exists():
        target.rename(old)
    staging.rename(target)
    if old.exists():
        shutil.rmtree(old)
