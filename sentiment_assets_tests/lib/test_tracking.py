"""The MLflow store ends every run it starts, and stores never mix."""

from pathlib import Path

import pytest
from mlflow import MlflowClient

from sentiment_assets.defs.platform.resources import MlflowTracking
from sentiment_assets.lib import settings
from sentiment_assets.lib.tracking import PRODUCTION_URI, MlflowStore, model_uri


def _store(folder: Path) -> MlflowStore:
    return MlflowStore(f"sqlite:///{folder / 'mlflow.db'}")


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> MlflowStore:
    """One store for the tests that look only at their own runs (a new store costs 0.7 s)."""
    return _store(tmp_path_factory.mktemp("store"))


def test_a_run_that_completes_is_finished(shared: MlflowStore) -> None:
    store = shared
    with store.start_run("ok", {"candidate": "x"}) as run:
        import mlflow as fluent

        fluent.log_metric("m", 1.0)
    stored = MlflowClient(store.uri).get_run(run.info.run_id)
    assert stored.info.status == "FINISHED"
    assert stored.data.tags["candidate"] == "x"
    assert stored.data.tags["developer"] == "data-team"
    assert stored.data.metrics["m"] == 1.0


def test_a_run_that_raises_is_failed_and_the_error_propagates(shared: MlflowStore) -> None:
    store = shared
    with pytest.raises(RuntimeError, match="boom"), store.start_run("bad", {}) as run:
        raise RuntimeError("boom")
    assert MlflowClient(store.uri).get_run(run.info.run_id).info.status == "FAILED"


def test_an_interrupted_run_is_killed(shared: MlflowStore) -> None:
    store = shared
    with pytest.raises(KeyboardInterrupt), store.start_run("stopped", {}) as run:
        raise KeyboardInterrupt
    assert MlflowClient(store.uri).get_run(run.info.run_id).info.status == "KILLED"


def test_each_block_is_its_own_run(shared: MlflowStore) -> None:
    store = shared
    ids = []
    for name in ("a", "b"):
        with store.start_run(name, {}) as run:
            ids.append(run.info.run_id)
    assert len(set(ids)) == 2


def test_artifacts_live_beside_the_sqlite_store(tmp_path: Path) -> None:
    store = _store(tmp_path / "store")
    experiment = MlflowClient(store.uri).get_experiment(store.experiment_id())
    assert Path(experiment.artifact_location) == tmp_path / "store" / "artifacts"


def test_two_stores_never_see_each_others_runs(tmp_path: Path) -> None:
    first, second = _store(tmp_path / "one"), _store(tmp_path / "two")
    with first.start_run("in-one", {}):
        pass
    with second.start_run("in-two", {}):
        pass
    for store, name in ((first, "in-one"), (second, "in-two")):
        runs = MlflowClient(store.uri).search_runs([store.experiment_id()])
        assert [r.info.run_name for r in runs] == [name]


def test_the_default_store_follows_the_environment(data_dir: Path, monkeypatch) -> None:
    assert MlflowTracking().store().uri == f"sqlite:///{data_dir / 'mlflow' / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "sqlite:////elsewhere/mlflow.db")
    assert MlflowTracking().store().uri == MlflowStore.default().uri
    assert MlflowStore.default().uri == "sqlite:////elsewhere/mlflow.db"


def test_the_production_uri_loads_the_version_behind_the_alias(shared: MlflowStore) -> None:
    import mlflow.pyfunc

    client = shared.client()
    with shared.start_run("aliased", {}):
        info = mlflow.pyfunc.log_model(
            name="constant",
            python_model=_Constant(),
            pip_requirements=["mlflow"],
            registered_model_name=shared.model_name,
        )
    shared.set_production(str(info.registered_model_version))

    assert str(shared.production_version().version) == str(info.registered_model_version)
    assert model_uri(shared.model_name) == PRODUCTION_URI
    loaded = shared.load_model(PRODUCTION_URI)
    assert loaded.metadata.model_uuid == info.model_uuid
    behind = client.get_model_version_by_alias(shared.model_name, "production")
    assert str(behind.version) == str(info.registered_model_version)


class _Constant(__import__("mlflow").pyfunc.PythonModel):
    def predict(self, context, model_input, params=None):
        return model_input


@pytest.mark.parametrize(
    ("uri", "shown"),
    [
        ("http://alice:s3cret@mlflow.example:5000", "http://alice:***@mlflow.example:5000"),
        ("https://token@mlflow.example/path", "https://***@mlflow.example/path"),
        ("http://127.0.0.1:5000", "http://127.0.0.1:5000"),
        ("sqlite:////data/mlflow.db", "sqlite:////data/mlflow.db"),
    ],
)
def test_a_uri_is_shown_without_its_credentials(uri: str, shown: str) -> None:
    assert settings.redacted(uri) == shown


def test_sqlite_paths_relative_and_absolute() -> None:
    assert settings.sqlite_path("sqlite:////abs/m.db") == Path("/abs/m.db")
    assert settings.sqlite_path("sqlite:///rel/m.db") == Path("rel/m.db")
    assert settings.sqlite_path("http://host:5000") is None
