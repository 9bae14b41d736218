"""The code location: the five assets in data-flow order, documented, loadable without TensorFlow."""

import subprocess
import sys

import dagster as dg
from conftest import LINEAGE

from sentiment_assets.definitions import defs


def test_the_graph_runs_from_csv_drop_to_production_model() -> None:
    graph = defs.resolve_asset_graph()
    assert {k.to_user_string() for k in graph.get_all_asset_keys()} == set(LINEAGE)
    for asset, parents in LINEAGE.items():
        node = graph.get(dg.AssetKey(asset))
        assert {p.to_user_string() for p in node.parent_keys} == parents, asset


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
    assert partitioned == {"raw_reviews", "stemmed_corpus"}


def test_loading_the_code_location_does_not_import_tensorflow_or_mlflow() -> None:
    code = (
        "import sys, sentiment_assets.definitions; "
        "print(sorted(m for m in ('tensorflow', 'keras', 'mlflow', 'sklearn', 'nltk') "
        "if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_sensors_run_by_default_and_the_weekly_schedule_does_not() -> None:
    sensors = {s.name: s for s in defs.sensors}
    assert set(sensors) == {"review_drop_sensor", "retrain_on_new_data", "run_failure_alert"}
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
        ("padded_dataset", "no_review_in_two_splits"),
        ("production_model", "production_quality_gate"),
    }
    blocking = {k.name for k in graph.asset_check_keys if graph.get_check_spec(k).blocking}
    assert blocking == {"valid_reviews", "no_review_in_two_splits", "production_quality_gate"}
    fresh = {
        spec.key.to_user_string()
        for spec in defs.resolve_all_asset_specs()
        if spec.freshness_policy
    }
    assert fresh == {"padded_dataset", "production_model"}


def test_training_runs_carry_the_tag_the_run_queue_limits() -> None:
    from importlib import resources

    import yaml

    from sentiment_assets.defs.jobs import TRAINING_TAG

    assert defs.resolve_job_def("train_and_promote").tags[TRAINING_TAG] == "true"
    config = yaml.safe_load(
        resources.files("sentiment_assets").joinpath("dagster.yaml").read_text()
    )
    limits = config["concurrency"]["runs"]["tag_concurrency_limits"]
    assert {"key": TRAINING_TAG, "limit": 1} in limits
    assert config["freshness"]["enabled"] is True
