import os
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from sentiment_assets_tests.support import real_drops_dir


@pytest.fixture(scope="session", autouse=True)
def mlflow_schema_template(tmp_path_factory: pytest.TempPathFactory):
    """Every fresh SQLite MLflow store of this test process starts as a copy of one store that
    MLflow's own migrations built here: the same schema, without replaying its ~70 migrations
    (1.7 s) per test. Processes the tests start create their stores MLflow's way."""
    import mlflow.store.db.utils as db_utils
    import mlflow.store.model_registry.sqlalchemy_store as registry_store

    migrate = db_utils._initialize_tables
    template = tmp_path_factory.mktemp("mlflow_schema") / "mlflow.db"

    def initialize_tables(engine) -> None:
        if engine.url.get_backend_name() != "sqlite" or not engine.url.database:
            migrate(engine)
            return
        if not template.exists():
            from sqlalchemy import create_engine

            built = create_engine(f"sqlite:///{template}")
            migrate(built)
            built.dispose()
        with (
            closing(sqlite3.connect(template)) as source,
            closing(sqlite3.connect(engine.url.database)) as target,
        ):
            source.backup(target)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(db_utils, "_initialize_tables", initialize_tables)
        patch.setattr(registry_store, "_initialize_tables", initialize_tables)
        yield


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


@pytest.fixture(scope="session")
def sample_dataset(tmp_path_factory: pytest.TempPathFactory):
    """A small dataset built the pipeline's way from two generated sample drops."""
    import pandas as pd

    from sentiment_assets.cli.sample_drops import write_sample_drops
    from sentiment_assets.model.dataset import build_dataset
    from sentiment_assets.model.reviews import read_reviews
    from sentiment_assets.model.stems import stem_reviews

    drops = write_sample_drops(tmp_path_factory.mktemp("drops"), drops=2, rows_per_drop=600)
    return build_dataset(
        pd.concat([stem_reviews(read_reviews(p)) for p in drops], ignore_index=True)
    )


@pytest.fixture(scope="session")
def production_store(tmp_path_factory: pytest.TempPathFactory, sample_dataset):
    """A data folder whose MLflow store has a small model, trained on sample drops, in production."""
    from sentiment_assets.lib.tracking import MlflowStore
    from sentiment_assets.lib.training import plan, train_candidate
    from sentiment_assets.model.candidates import KerasTraining, make_candidate

    folder = tmp_path_factory.mktemp("production_store")
    with pytest.MonkeyPatch.context() as env:
        env.setenv("SENTIMENT_DATA_DIR", str(folder))
        env.delenv("MLFLOW_TRACKING_URI", raising=False)
        store = MlflowStore.default()
        candidate = make_candidate(
            "seed-keras",
            "small",
            KerasTraining(max_epochs=5, patience=3, seed=1),
            embedding_dim=8,
            batch_size=64,
        )
        result, _ = train_candidate(sample_dataset, plan(candidate), store, tags={})
        version = store.register_version(result.model_uri, result.run_id)
        store.set_production(version)
        yield {
            "folder": folder,
            "dataset": sample_dataset,
            "result": result,
            "version": version,
            "uri": store.uri,
        }


@pytest.fixture(scope="session")
def tfidf_store(tmp_path_factory: pytest.TempPathFactory, sample_dataset):
    """A data folder whose MLflow store has two TF-IDF versions that score differently (C = 2 and
    C = 0.01), the alias on version 1: a store that scores without TensorFlow. Tests that move the
    alias set it first."""
    from sentiment_assets.lib.tracking import MlflowStore
    from sentiment_assets.lib.training import plan, train_candidate
    from sentiment_assets.model.candidates import make_candidate

    folder = tmp_path_factory.mktemp("tfidf_store")
    with pytest.MonkeyPatch.context() as env:
        env.setenv("SENTIMENT_DATA_DIR", str(folder))
        env.delenv("MLFLOW_TRACKING_URI", raising=False)
        store = MlflowStore.default()
        versions = []
        for name, c in (("tfidf", 2.0), ("tfidf-weak", 0.01)):
            candidate = make_candidate("tfidf-logreg", name, c=c)
            result, _ = train_candidate(sample_dataset, plan(candidate), store, tags={})
            versions.append(store.register_version(result.model_uri, result.run_id))
        store.set_production(versions[0])
        yield {"folder": folder, "store": store, "versions": versions}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The `dg dev` tests first (`under_dev`): minutes each, mostly spent waiting on a daemon, so
    `make test`'s two workers run them beside the rest rather than after it."""
    items.sort(key=lambda item: item.get_closest_marker("under_dev") is None)
