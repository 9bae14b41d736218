"""Resources: where drops land and the MLflow tracking store; both default to the data folder."""

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import dagster as dg
from pydantic import Field

from sentiment_assets.defs.platform.io_manager import ArtifactIOManager
from sentiment_assets.lib import drops, settings, tracking
from sentiment_assets.lib.store_faults import MlflowStoreError
from sentiment_assets.lib.tracking import MlflowStore


class ReviewLanding(dg.ConfigurableResource):
    """The folder that review CSV drops land in, the quarantine for drops whose content is bad,
    and how long an unfinished file may wait before it is judged truncated."""

    folder: str | None = Field(
        default=None, description="Landing folder; default $SENTIMENT_DATA_DIR/landing."
    )
    incomplete_grace_seconds: float = Field(
        default=drops.DEFAULT_GRACE_SECONDS,
        description="A drop that looks unfinished (no final newline, or cut inside a quoted "
        "field) is left in the landing folder and read once complete; once it has not changed "
        "for this long it is judged truncated and quarantined. The drop sensor and raw_reviews "
        "both apply it.",
    )

    @property
    def path(self) -> Path:
        return Path(self.folder).resolve() if self.folder else settings.landing_dir()

    @property
    def quarantine(self) -> Path:
        return settings.quarantine_dir(self.path)


class MlflowTracking(dg.ConfigurableResource):
    """MLflow tracking and registry: one MLflow run per candidate, under one per training, always
    ended FINISHED, FAILED or KILLED.

    dagster-mlflow's `mlflow_tracking` resource opens one MLflow run per Dagster run when the
    resource starts and only ends it through a job hook, which UI materializations of assets never
    run; here each MLflow run is scoped to a `with` block instead (`MlflowStore.start_run`).
    """

    tracking_uri: str | None = Field(
        default=None,
        description="Tracking and registry URI; default $MLFLOW_TRACKING_URI, else SQLite under "
        "$SENTIMENT_DATA_DIR/mlflow.",
    )
    experiment_name: str = tracking.EXPERIMENT_NAME
    registered_model_name: str = tracking.MODEL_NAME
    ui_url: str | None = Field(
        default=None,
        description="The MLflow UI that links point at; default $SENTIMENT_MLFLOW_UI_URL, else the "
        "tracking server, else `make mlflow-ui`'s http://127.0.0.1:5000.",
    )
    developer: str = Field(
        default=tracking.DEVELOPER, description="Tagged on every run, as the seed did."
    )

    def store(self) -> MlflowStore:
        return MlflowStore(
            uri=self.tracking_uri or settings.tracking_uri(),
            experiment_name=self.experiment_name,
            model_name=self.registered_model_name,
            ui_url=self.ui_url or "",
            developer=self.developer,
        )


def run_tags(context: dg.AssetExecutionContext, asset: str | None = None) -> dict[str, str]:
    """What an MLflow run logged by an asset is tagged with: the Dagster run, the asset (the
    step's own unless named: a multi-asset's step has several) and its code version."""
    key = dg.AssetKey(asset) if asset else context.asset_key
    tags = {
        tracking.DAGSTER_RUN_TAG: context.run.run_id,
        tracking.DAGSTER_ASSET_TAG: key.to_user_string(),
    }
    code_version = context.assets_def.code_versions_by_key.get(key)
    if code_version:
        tags[tracking.DAGSTER_CODE_VERSION_TAG] = code_version
    return tags


def run_ended(instance: dg.DagsterInstance, run_id: str) -> bool:
    """Whether a Dagster run of this instance has ended (False for one it does not know)."""
    run = instance.get_run_by_id(run_id)
    return run is not None and run.is_finished


def end_abandoned_runs(context: dg.AssetExecutionContext, store: MlflowStore) -> None:
    """End as KILLED each MLflow run of the store's experiment still RUNNING whose Dagster run has
    ended (its process was killed mid-run), with a warning each; before the step logs its own."""
    for run_id in store.end_abandoned_runs(lambda run: run_ended(context.instance, run)):
        context.log.warning(
            f"Ended MLflow run {run_id} ({store.experiment_name}) as KILLED: its Dagster run "
            "ended while it was running"
        )


@contextmanager
def store_failures(store: MlflowStore, step: str, outcome: str) -> Iterator[None]:
    """A failure of the MLflow store in the block fails the step with a message saying what
    happened and what it left as it was (not a stack trace to decipher)."""
    try:
        with store.failures_explained(step, outcome):
            yield
    except MlflowStoreError as err:
        raise dg.Failure(description=str(err)) from err


@dg.definitions
def resources() -> dg.Definitions:
    return dg.Definitions(
        resources={
            "landing": ReviewLanding(),
            "mlflow": MlflowTracking(),
            "io_manager": ArtifactIOManager(),
        }
    )
