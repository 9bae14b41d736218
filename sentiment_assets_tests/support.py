"""What tests (and the benchmark) share: the real drops, the definitions, and running the jobs and
sensors the way the Dagster daemon would."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from sentiment_assets.lib import settings

if TYPE_CHECKING:  # imported where used: the benchmark's cold timings must not pay for Dagster
    import dagster as dg

    from sentiment_assets.lib.tracking import MlflowStore

# Asset -> the assets it reads: the graph the README draws, checked in the code and in the UI.
LINEAGE = {
    "raw_reviews": set(),
    "stemmed_corpus": {"raw_reviews"},
    "padded_dataset": {"stemmed_corpus"},
    "trained_models": {"padded_dataset"},
    "production_model": {"padded_dataset", "trained_models", "live_quality"},
    "drop_predictions": {"stemmed_corpus"},
    "live_quality": {"stemmed_corpus", "padded_dataset"},  # one scoring makes both per drop
}


def real_drops_dir() -> Path:
    """The real review drops (`settings.reviews_dir`)."""
    return settings.reviews_dir()


def flip_labels(path: Path) -> None:
    """Rewrite a drop's CSV with every 'Recommended IND' the other way round, the rest as it was."""
    import pandas as pd

    from sentiment_assets.model.reviews import LABEL

    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    frame[LABEL] = frame[LABEL].map({"0": "1", "1": "0"})
    frame.rename(columns={"Unnamed: 0": ""}).to_csv(path, index=False, lineterminator="\n")


@cache
def definitions() -> dg.Definitions:
    """The code location's definitions, loaded once per process."""
    from sentiment_assets.definitions import defs

    return defs()


def ingest(instance: dg.DagsterInstance, keys: list[str]) -> dict[str, dg.ExecuteInProcessResult]:
    """Register drops as partitions and run the real `ingest_drop` job for each; results by key."""
    from sentiment_assets.defs.ingestion.partitions import review_drops

    instance.add_dynamic_partitions(review_drops.name, keys)
    job = definitions().resolve_job_def("ingest_drop")
    return {
        key: job.execute_in_process(instance=instance, partition_key=key, raise_on_error=False)
        for key in keys
    }


# A quick `train` configuration: one candidate, TF-IDF logistic regression (no TensorFlow).
QUICK_TRAINING = {"candidates": [{"name": "tfidf", "family": "tfidf-logreg"}]}


def train(instance: dg.DagsterInstance, **training_config: object) -> dg.ExecuteInProcessResult:
    """Run the real `train_and_promote` job with a TrainingConfig override."""
    run_config = {"ops": {"trained_models": {"config": training_config}}}
    return (
        definitions()
        .resolve_job_def("train_and_promote")
        .execute_in_process(instance=instance, run_config=run_config, raise_on_error=False)
    )


def mlflow_writes() -> tuple[int, int, str | None]:
    """What the MLflow store holds: runs in every experiment, registered versions of the model, and
    the version behind the production alias (None before the first)."""
    from sentiment_assets.lib.tracking import MlflowStore

    store = MlflowStore.default()
    client = store.client()
    experiments = [e.experiment_id for e in client.search_experiments()]
    runs = len(client.search_runs(experiments, max_results=50_000)) if experiments else 0
    versions = len(client.search_model_versions(f"name = '{store.model_name}'"))
    production = store.production_version()
    return runs, versions, str(production.version) if production is not None else None


def coin_flip_production(store: MlflowStore) -> str:
    """A production model gone bad, registered and aliased (`coin_flip_version`): its version."""
    version = coin_flip_version(store)
    store.set_production(version)
    return version


def coin_flip_version(store: MlflowStore) -> str:
    """A model of a run of its own, registered: a random probability for every review (any
    trained candidate beats it beyond chance). Its version."""
    import mlflow.pyfunc

    with store.start_run("coin-flip", {"candidate": "coin-flip"}) as run:
        info = mlflow.pyfunc.log_model(
            name="coin-flip", python_model=_coin_flip(), pip_requirements=["mlflow"]
        )
    return store.register_version(info.model_uri, run.info.run_id)


def _coin_flip():
    import mlflow.pyfunc
    import numpy as np
    import pandas as pd

    class CoinFlip(mlflow.pyfunc.PythonModel):
        def predict(self, context, model_input, params=None):
            probability = np.random.default_rng(0).random(len(model_input))
            labels = (probability >= 0.5).astype(int)
            return pd.DataFrame({"probability": probability, "label": labels})

    return CoinFlip()


def failure_message(result: dg.ExecuteInProcessResult) -> str:
    """The description of the first step failure of a Dagster run result."""
    failures = [e for e in result.all_events if e.is_step_failure]
    assert failures, "the run did not fail"
    return failures[0].step_failure_data.error.message


def raise_alert(instance: dg.DagsterInstance, failed: dg.ExecuteInProcessResult) -> None:
    """Run the real failure-alert sensor on a failed run, as the daemon would after it."""
    import dagster as dg

    from sentiment_assets.defs.platform.alerts import run_failure_alert

    failure = next(e for e in failed.all_events if e.event_type_value == "PIPELINE_FAILURE")
    context = dg.build_run_status_sensor_context(
        sensor_name=run_failure_alert.name,
        dagster_event=failure,
        dagster_instance=instance,
        dagster_run=failed.dagster_run,
    ).for_run_failure()
    run_failure_alert(context)


def raise_check_alerts(instance: dg.DagsterInstance, run: dg.ExecuteInProcessResult) -> None:
    """Run the real check-alert sensor on a run that succeeded, as the daemon would after it."""
    import dagster as dg

    from sentiment_assets.defs.platform.alerts import check_failure_alert

    success = next(e for e in run.all_events if e.event_type_value == "PIPELINE_SUCCESS")
    context = dg.build_run_status_sensor_context(
        sensor_name=check_failure_alert.name,
        dagster_event=success,
        dagster_instance=instance,
        dagster_run=run.dagster_run,
    )
    check_failure_alert(context)


def retrain_sensor(
    instance: dg.DagsterInstance,
) -> dg.RunRequest | dg.SensorResult | dg.SkipReason:
    """One evaluation of the real retraining sensor, with the code location's storage, as the
    daemon evaluates it: Dagster checks what it returns (a request that names no job, for a
    sensor of two jobs, failed every tick under the daemon while calling the function passed)."""
    import dagster as dg

    # The daemon resolves a request's dynamic partition against the instance; so must this.
    from dagster._core.definitions.partitions.context import partition_loading_context

    from sentiment_assets.defs.platform.io_manager import ArtifactIOManager
    from sentiment_assets.defs.training.sensors import retrain_on_new_data

    context = dg.build_sensor_context(
        instance=instance, resources={"io_manager": ArtifactIOManager()}, definitions=definitions()
    )
    with partition_loading_context(dynamic_partitions_store=instance):
        evaluated = retrain_on_new_data.evaluate_tick(context)
    if evaluated.skip_message is not None or not evaluated.run_requests:
        return dg.SkipReason(evaluated.skip_message)
    if len(evaluated.run_requests) == 1:
        return evaluated.run_requests[0]
    return dg.SensorResult(run_requests=evaluated.run_requests)


class Ticks:
    """Runs the real drop sensor like the daemon does: stored cursor, partitions added after each
    tick, and (with `run`) the runs it requests."""

    def __init__(self, instance: dg.DagsterInstance, landing: Path) -> None:
        self.instance, self.landing, self.cursor = instance, landing, None

    def tick(self) -> dg.SensorResult:
        import dagster as dg

        from sentiment_assets.defs.ingestion.sensors import review_drop_sensor
        from sentiment_assets.defs.platform.resources import ReviewLanding

        context = dg.build_sensor_context(
            instance=self.instance,
            cursor=self.cursor,
            resources={"landing": ReviewLanding(folder=str(self.landing))},
        )
        result = review_drop_sensor(context)
        for request in result.dynamic_partitions_requests:
            self.instance.add_dynamic_partitions(
                request.partitions_def_name, request.partition_keys
            )
        self.cursor = result.cursor
        return result

    def run(self, requests: list[dg.RunRequest]) -> dict[str, dg.ExecuteInProcessResult]:
        """Execute the ingestion runs a tick requested, with their tags; results by drop."""
        job = definitions().resolve_job_def("ingest_drop")
        return {
            r.partition_key: job.execute_in_process(
                instance=self.instance,
                partition_key=r.partition_key,
                tags=r.tags,
                raise_on_error=False,
            )
            for r in requests
        }

    def land_and_ingest(self) -> dict[str, dg.ExecuteInProcessResult]:
        """Two ticks (a file must be stable across two) and the runs the second requests."""
        self.tick()
        return self.run(self.tick().run_requests)
