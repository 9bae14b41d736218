"""The MLflow resource ends every run it starts, and stores never mix."""

from pathlib import Path

import pytest
from mlflow import MlflowClient

from sentiment_assets.defs.resources import MlflowTracking


def _store(folder: Path) -> MlflowTracking:
    return MlflowTracking(tracking_uri=f"sqlite:///{folder / 'mlflow.db'}")


def test_a_run_that_completes_is_finished(tmp_path: Path) -> None:
    mlflow = _store(tmp_path)
    with mlflow.start_run("ok", {"candidate": "x"}) as run:
        import mlflow as fluent

        fluent.log_metric("m", 1.0)
    stored = MlflowClient(mlflow.uri).get_run(run.info.run_id)
    assert stored.info.status == "FINISHED"
    assert stored.data.tags["candidate"] == "x"
    assert stored.data.tags["developer"] == "data-team"
    assert stored.data.metrics["m"] == 1.0


def test_a_run_that_raises_is_failed_and_the_error_propagates(tmp_path: Path) -> None:
    mlflow = _store(tmp_path)
    with pytest.raises(RuntimeError, match="boom"), mlflow.start_run("bad", {}) as run:
        raise RuntimeError("boom")
    assert MlflowClient(mlflow.uri).get_run(run.info.run_id).info.status == "FAILED"


def test_each_block_is_its_own_run(tmp_path: Path) -> None:
    mlflow = _store(tmp_path)
    ids = []
    for name in ("a", "b"):
        with mlflow.start_run(name, {}) as run:
            ids.append(run.info.run_id)
    assert len(set(ids)) == 2


def test_artifacts_live_beside_the_sqlite_store(tmp_path: Path) -> None:
    mlflow = _store(tmp_path / "store")
    experiment = MlflowClient(mlflow.uri).get_experiment(mlflow.experiment_id())
    assert Path(experiment.artifact_location) == tmp_path / "store" / "artifacts"


def test_two_stores_never_see_each_others_runs(tmp_path: Path) -> None:
    first, second = _store(tmp_path / "one"), _store(tmp_path / "two")
    with first.start_run("in-one", {}):
        pass
    with second.start_run("in-two", {}):
        pass
    for store, name in ((first, "in-one"), (second, "in-two")):
        client = MlflowClient(store.uri)
        runs = client.search_runs([store.experiment_id()])
        assert [r.info.run_name for r in runs] == [name]


def test_default_store_follows_the_environment(data_dir: Path, monkeypatch) -> None:
    assert MlflowTracking().uri == f"sqlite:///{data_dir / 'mlflow' / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "sqlite:////elsewhere/mlflow.db")
    assert MlflowTracking().uri == "sqlite:////elsewhere/mlflow.db"
