"""The code location: the assets in data-flow order, documented, loadable without TensorFlow, and a
`dg` project that `dg check defs` accepts."""

import json
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest

from sentiment_assets_tests.support import LINEAGE, definitions

defs = definitions()


def test_the_graph_runs_from_csv_drop_to_production_model() -> None:
    graph = defs.resolve_asset_graph()
    assert {k.to_user_string() for k in graph.get_all_asset_keys()} == set(LINEAGE)
    for asset, parents in LINEAGE.items():
        node = graph.get(dg.AssetKey(asset))
        assert {p.to_user_string() for p in node.parent_keys} == parents, asset


def test_the_named_asset_keys_are_the_graphs_assets() -> None:
    from sentiment_assets.defs import asset_keys

    named = {v for v in vars(asset_keys).values() if isinstance(v, dg.AssetKey)}
    assert named == set(defs.resolve_asset_graph().get_all_asset_keys())


def test_every_asset_is_described_grouped_and_kinded_for_the_ui() -> None:
    for spec in defs.resolve_all_asset_specs():
        assert spec.group_name == "sentiment"
        assert spec.description and len(spec.description) > 30
        assert spec.kinds


def test_drops_are_partitions_and_the_rest_spans_them() -> None:
    graph = defs.resolve_asset_graph()
    partitioned = {
        k.to_user_string() for k in graph.get_all_asset_keys() if graph.get(k).partitions_def
    }
    assert partitioned == {"raw_reviews", "stemmed_corpus", "drop_predictions", "live_quality"}


@pytest.mark.slow  # a fresh interpreter
def test_loading_the_code_location_does_not_import_tensorflow_or_mlflow() -> None:
    # As a code server loads it: the definitions, then the snapshot it sends the UI. Nor the
    # installed integrations that offer component types (dagster-aws is installed here, for the
    # Helm deployment's tests), which Dagster's component catalog and tree import.
    code = (
        "import sys, sentiment_assets.definitions as d; "
        "from dagster._core.remote_representation.external_data import RepositorySnap; "
        "RepositorySnap.from_def(d.defs().get_repository_def()); "
        "print(sorted(m for m in ('tensorflow', 'keras', 'mlflow', 'sklearn', 'nltk', "
        "'dagster_aws') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_sensors_run_by_default_and_the_weekly_schedule_does_not() -> None:
    sensors = {s.name: s for s in defs.sensors}
    assert set(sensors) == {
        "review_drop_sensor",
        "retrain_on_new_data",
        "run_failure_alert",
        "check_failure_alert",
    }
    assert all(s.default_status == dg.DefaultSensorStatus.RUNNING for s in sensors.values())
    (schedule,) = defs.schedules
    assert schedule.name == "weekly_retraining"
    assert schedule.default_status == dg.DefaultScheduleStatus.STOPPED
    assert schedule.job_name == "train_and_promote"


def test_checks_and_freshness_guard_the_graph() -> None:
    graph = defs.resolve_asset_graph()
    checks = {(k.asset_key.to_user_string(), k.name) for k in graph.asset_check_keys}
    assert checks == {
        ("raw_reviews", "valid_reviews"),
        ("raw_reviews", "label_balance_drift"),
        ("raw_reviews", "replaced_drop_size"),
        ("padded_dataset", "no_review_in_two_splits"),
        ("production_model", "production_quality_gate"),
        ("live_quality", "live_quality_gate"),
        ("live_quality", "vocabulary_drift"),
        ("live_quality", "review_length_drift"),
        ("live_quality", "score_drift"),
    }
    blocking = {k.name for k in graph.asset_check_keys if graph.get_check_spec(k).blocking}
    assert blocking == {"valid_reviews", "no_review_in_two_splits", "production_quality_gate"}
    # Drops come weekly: every asset, from the drop to the production model, is expected to be
    # refreshed weekly, and one policy says so for all of them.
    policies = {spec.freshness_policy for spec in defs.resolve_all_asset_specs()}
    assert len(policies) == 1 and None not in policies


def test_instance_config_enables_freshness() -> None:
    assert _instance_config()["freshness"]["enabled"] is True


def test_the_projects_log_lines_join_the_runs_log(tmp_path: Path) -> None:
    """A candidate's epochs, logged with Python's logging, show in the run's log in the UI."""
    import logging

    @dg.asset
    def trains() -> None:
        logging.getLogger("sentiment_assets.lib.training").info("epoch 3: validation ROC AUC 0.91")

    with dg.instance_for_test(temp_dir=str(tmp_path), overrides=_instance_config()) as instance:
        result = dg.materialize([trains], instance=instance)
        messages = [
            e.user_message
            for e in instance.all_logs(result.run_id)
            if e.dagster_event is None and e.level == logging.INFO
        ]
    assert "epoch 3: validation ROC AUC 0.91" in messages


def _instance_config() -> dict:
    from importlib import resources

    import yaml

    return yaml.safe_load(resources.files("sentiment_assets").joinpath("dagster.yaml").read_text())


def test_every_asset_that_writes_mlflow_is_in_the_mlflow_pool() -> None:
    from sentiment_assets.defs.platform.concurrency import MLFLOW_POOL

    graph = defs.resolve_asset_graph()
    keys = graph.get_all_asset_keys()
    pooled = {k for k in keys if graph.get(k).pools == {MLFLOW_POOL}}
    writers = {k for k in keys if "mlflow" in defs.resolve_assets_def(k).required_resource_keys}
    assert pooled == writers
    # drop_predictions only reads the registry, but it comes from live_quality's step, which logs.
    assert {k.to_user_string() for k in writers} == {
        "trained_models",
        "production_model",
        "drop_predictions",
        "live_quality",
    }


@pytest.fixture
def queue(tmp_path: Path):
    """The run queue of an instance with the project's config, prepared the way `sentiment-run`
    prepares one: (queue runs, what the queue daemon would start now)."""
    import logging

    # The daemon's dequeue step and run origins are Dagster internals (dagster is pinned exactly);
    # nothing public answers "which queued runs would start now".
    from dagster._core.remote_origin import (
        InProcessCodeLocationOrigin,
        RemoteJobOrigin,
        RemoteRepositoryOrigin,
    )
    from dagster._core.types.loadable_target_origin import LoadableTargetOrigin
    from dagster._daemon.run_coordinator.queued_run_coordinator_daemon import (
        QueuedRunCoordinatorDaemon,
    )

    from sentiment_assets.defs.platform.concurrency import register_pools

    location = InProcessCodeLocationOrigin(
        LoadableTargetOrigin(module_name="sentiment_assets.definitions")
    )
    with dg.instance_for_test(temp_dir=str(tmp_path), overrides=_instance_config()) as instance:
        register_pools(instance)
        daemon = QueuedRunCoordinatorDaemon(interval_seconds=1)
        daemon._logger = logging.getLogger(__name__)
        names: dict[str, str] = {}

        def add(name: str, assets: list[str], status=dg.DagsterRunStatus.QUEUED) -> None:
            """A run of the training job (assets empty) or, as the UI makes, of some assets."""
            if assets:
                job = defs.resolve_implicit_global_asset_job_def()
                selection = {dg.AssetKey(a) for a in assets}
            else:
                job, selection = defs.resolve_job_def("train_and_promote"), None
            origin = RemoteJobOrigin(RemoteRepositoryOrigin(location, "__repository__"), job.name)
            run = instance.create_run_for_job(
                job, status=status, asset_selection=selection, remote_job_origin=origin
            )
            names[run.run_id] = name

        def starts() -> set[str]:
            config = instance.get_concurrency_config()
            runs = daemon._get_runs_to_dequeue(instance, config, fixed_iteration_time=None)
            return {names[r.run_id] for r in runs}

        yield instance, add, starts


def test_a_training_run_and_a_model_materialized_by_hand_never_start_together(queue) -> None:
    _, add, starts = queue
    add("training job", [])
    add("trained_models by hand", ["trained_models"])
    add("padded_dataset by hand", ["padded_dataset"])

    # From the first tick on a fresh instance: one of the two MLflow writers, and the run that
    # does not write MLflow beside it.
    assert starts() == {"training job", "padded_dataset by hand"}


def test_a_model_run_waits_while_another_is_in_progress(queue) -> None:
    _, add, starts = queue
    add("training job", [], status=dg.DagsterRunStatus.STARTED)
    add("production_model by hand", ["production_model"])
    add("stemmed data by hand", ["padded_dataset"])

    assert starts() == {"stemmed data by hand"}


INGESTION = ["raw_reviews", "stemmed_corpus", "drop_predictions", "live_quality"]


def test_a_drop_is_scored_only_while_no_training_run_is_in_progress(queue) -> None:
    # A drop landing during a retraining is scored by the model that retraining leaves, and the
    # retraining never read it (it was not stemmed yet).
    _, add, starts = queue
    add("training job", [], status=dg.DagsterRunStatus.STARTED)
    add("drop ingestion", INGESTION)
    assert starts() == set()


def test_no_training_run_starts_while_a_drop_is_being_scored(queue) -> None:
    _, add, starts = queue
    add("drop ingestion", INGESTION, status=dg.DagsterRunStatus.STARTED)
    add("training job", [])
    assert starts() == set()


def test_a_run_outside_the_queue_can_see_who_writes_mlflow(queue) -> None:
    from sentiment_assets.defs.platform.concurrency import runs_writing_mlflow

    instance, add, _ = queue
    add("data only", ["padded_dataset"], status=dg.DagsterRunStatus.STARTED)
    add("waiting", ["trained_models"])
    assert runs_writing_mlflow(instance) == []

    add("model by hand", ["production_model"], status=dg.DagsterRunStatus.STARTED)
    (busy,) = runs_writing_mlflow(instance)
    assert instance.get_run_by_id(busy).asset_selection == {dg.AssetKey("production_model")}


@pytest.mark.slow  # dg's CLI in a process of its own
def test_dg_lists_every_definition_of_the_project() -> None:
    dg_cli = Path(sys.executable).with_name("dg")
    out = subprocess.run(
        [str(dg_cli), "list", "defs", "--json"],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    listed = json.loads(out.stdout)
    assert {a["asset_key"] for a in listed["assets"]} == set(LINEAGE)
    assert {c["name"] for c in listed["asset_checks"]} == {
        "valid_reviews",
        "label_balance_drift",
        "replaced_drop_size",
        "no_review_in_two_splits",
        "production_quality_gate",
        "live_quality_gate",
        "vocabulary_drift",
        "review_length_drift",
        "score_drift",
    }
    assert {j["name"] for j in listed["jobs"]} == {"ingest_drop", "train_and_promote"}
    assert {s["name"] for s in listed["sensors"]} == {
        "review_drop_sensor",
        "retrain_on_new_data",
        "run_failure_alert",
        "check_failure_alert",
    }
    assert {r["name"] for r in listed["resources"]} == {
        "landing",
        "mlflow",
        "io_manager",
        "monitoring",
    }
