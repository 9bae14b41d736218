import os
from pathlib import Path

import pytest

# Asset -> the assets it reads: the graph the README draws, checked in the code and in the UI.
LINEAGE = {
    "raw_reviews": set(),
    "stemmed_corpus": {"raw_reviews"},
    "padded_dataset": {"stemmed_corpus"},
    "trained_models": {"padded_dataset"},
    "production_model": {"padded_dataset", "trained_models"},
}


def real_drops_dir() -> Path:
    """The real review drops: $SENTIMENT_REVIEWS_DIR, else the shared data beside the project."""
    default = Path(__file__).resolve().parents[2] / "shared" / "data" / "reviews"
    return Path(os.environ.get("SENTIMENT_REVIEWS_DIR", default))


@pytest.fixture(scope="session")
def real_drops() -> list[Path]:
    """The real review CSV files, in name order; skips the test when there are none."""
    drops = sorted(real_drops_dir().glob("*.csv"))
    if not drops:
        # CI has the shared data; a silent skip there would hide every real-data test.
        if os.environ.get("CI"):
            pytest.fail(f"no real review drops in {real_drops_dir()} (CI must have them)")
        pytest.skip(f"no real review drops in {real_drops_dir()}")
    return drops


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An isolated SENTIMENT_DATA_DIR: its own landing folder, storage and SQLite MLflow store."""
    monkeypatch.setenv("SENTIMENT_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    (tmp_path / "landing").mkdir()
    return tmp_path


@pytest.fixture
def instance(tmp_path: Path):
    """A Dagster instance of the test's own, in a temporary DAGSTER_HOME."""
    import dagster as dg

    home = tmp_path / "dagster_home"
    home.mkdir()
    with dg.instance_for_test(temp_dir=str(home)) as instance:
        yield instance


def ingest(instance, keys: list[str]) -> dict[str, object]:
    """Register drops as partitions and run the real `ingest_drop` job for each; results by key."""
    from sentiment_assets.definitions import defs
    from sentiment_assets.defs.partitions import review_drops

    instance.add_dynamic_partitions(review_drops.name, keys)
    job = defs.resolve_job_def("ingest_drop")
    return {
        key: job.execute_in_process(instance=instance, partition_key=key, raise_on_error=False)
        for key in keys
    }


def train(instance, **training_config):
    """Run the real `train_and_promote` job with a TrainingConfig override."""
    from sentiment_assets.definitions import defs

    run_config = {"ops": {"trained_models": {"config": training_config}}}
    return defs.resolve_job_def("train_and_promote").execute_in_process(
        instance=instance, run_config=run_config, raise_on_error=False
    )


def failure_message(result) -> str:
    """The description of the first step failure of a Dagster run result."""
    failures = [e for e in result.all_events if e.is_step_failure]
    assert failures, "the run did not fail"
    return failures[0].step_failure_data.error.message


@pytest.fixture(scope="session")
def sample_dataset(tmp_path_factory: pytest.TempPathFactory):
    """A small dataset built the pipeline's way from two generated sample drops."""
    import pandas as pd

    from sentiment_assets.dataset import build_dataset
    from sentiment_assets.preprocessing import stem_reviews
    from sentiment_assets.reviews import read_reviews
    from sentiment_assets.sample_drops import write_sample_drops

    drops = write_sample_drops(tmp_path_factory.mktemp("drops"), drops=2, rows_per_drop=600)
    return build_dataset(
        pd.concat([stem_reviews(read_reviews(p)) for p in drops], ignore_index=True)
    )


@pytest.fixture(scope="module")
def production_store(tmp_path_factory: pytest.TempPathFactory, sample_dataset):
    """A data folder whose MLflow store has a small model, trained on sample drops, in production."""

    from sentiment_assets import registry
    from sentiment_assets.candidates import make_candidate
    from sentiment_assets.defs.resources import MlflowTracking
    from sentiment_assets.models import KerasTraining
    from sentiment_assets.training import train_candidate

    folder = tmp_path_factory.mktemp("production_store")
    with pytest.MonkeyPatch.context() as env:
        env.setenv("SENTIMENT_DATA_DIR", str(folder))
        env.delenv("MLFLOW_TRACKING_URI", raising=False)
        dataset = sample_dataset
        mlflow = MlflowTracking()
        with mlflow.start_run("small", {}):
            candidate = make_candidate(
                "seed-keras",
                "small",
                KerasTraining(max_epochs=15, patience=3, seed=1),
                embedding_dim=8,
                batch_size=64,
            )
            result = train_candidate(dataset, candidate, registered_model_name=registry.MODEL_NAME)
        mlflow.client().set_registered_model_alias(
            registry.MODEL_NAME, registry.PRODUCTION_ALIAS, result["version"]
        )
        yield {"folder": folder, "dataset": dataset, "result": result, "uri": mlflow.uri}
