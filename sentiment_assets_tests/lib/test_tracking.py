"""The MLflow store ends every run it starts, stores never mix, the experiment is created once
however many create it, and only a registry that says so has no production model."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
from mlflow import MlflowClient

from sentiment_assets.defs.platform.resources import MlflowTracking
from sentiment_assets.lib import settings
from sentiment_assets.lib.store_faults import MlflowStoreError
from sentiment_assets.lib.tracking import (
    DAGSTER_RUN_TAG,
    MONITORING_EXPERIMENT,
    PRODUCTION_URI,
    MlflowStore,
    model_uri,
)
from sentiment_assets_tests.lib import builders
from sentiment_assets_tests.lib.tracking_support import (
    experiment_ids_from_processes,
    experiment_ids_from_threads,
    log_constant,
)


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


def test_the_default_experiment_keeps_its_artifacts_beside_the_store_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A notebook logging to the store without choosing an experiment writes beside the store,
    not into whatever folder the process that created the store ran in."""
    monkeypatch.chdir(tmp_path)
    store = _store(tmp_path / "store")
    store.experiment_id()
    default = MlflowClient(store.uri).get_experiment("0")
    assert Path(default.artifact_location) == tmp_path / "store" / "artifacts" / "0"
    assert not (tmp_path / "mlruns").exists()


def test_runs_name_the_git_commit_of_the_code_they_ran(shared: MlflowStore) -> None:
    import subprocess

    import sentiment_assets

    checkout = Path(sentiment_assets.__file__).parent
    head = subprocess.run(
        ["git", "-C", str(checkout), "rev-parse", "HEAD"], capture_output=True, text=True
    )
    if head.returncode != 0:
        pytest.skip("the package does not run from a git checkout here")
    with shared.start_run("commit", {}) as run:
        pass
    tags = MlflowClient(shared.uri).get_run(run.info.run_id).data.tags
    assert tags["mlflow.source.git.commit"] == head.stdout.strip()


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
    logged, run_id = log_constant(shared, "aliased")
    version = shared.register_version(logged, run_id)
    shared.set_production(version)

    assert str(shared.production_version().version) == version
    assert model_uri(shared.model_name) == PRODUCTION_URI
    loaded = shared.load_model(PRODUCTION_URI)
    assert loaded.metadata.model_id == logged.removeprefix("models:/")
    behind = shared.client().get_model_version_by_alias(shared.model_name, "production")
    assert str(behind.version) == version and behind.run_id == run_id


def test_registering_a_run_twice_gives_its_one_version(tmp_path: Path) -> None:
    store = _store(tmp_path)
    first = log_constant(store, "first")
    second = log_constant(store, "second")
    versions = [store.register_version(*first), store.register_version(*second)]
    assert store.register_version(*first) == versions[0]  # a retried step
    assert versions == ["1", "2"]
    assert len(store.client().search_model_versions(f"name = '{store.model_name}'")) == 2


def _run_versions(store: MlflowStore, run_id: str) -> list[str]:
    found = store.client().search_model_versions(
        f"name = '{store.model_name}' and run_id = '{run_id}'"
    )
    return sorted(str(v.version) for v in found)


def test_a_registration_mlflow_applied_twice_leaves_one_version(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """MLflow's client sends a request again when its reply is lost: applied twice, as a fault
    review's proxy showed (versions 4 and 5 of one run, the alias on 5)."""
    import mlflow

    store = _store(tmp_path)
    model, run_id = log_constant(store, "twice")
    register = mlflow.register_model

    def applied_twice(*args: object, **kwargs: object):
        register(*args, **kwargs)
        return register(*args, **kwargs)

    monkeypatch.setattr(mlflow, "register_model", applied_twice)
    version = store.register_version(model, run_id, {DAGSTER_RUN_TAG: "run-a"})

    assert _run_versions(store, run_id) == [version] == ["2"]


def test_a_concurrent_decisions_version_of_the_same_run_is_left_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two decisions on the same candidates: one registered version 1 and moved the alias to it
    while the other registered (a review's interleaving): the second's cleanup keeps it."""
    import mlflow

    store = _store(tmp_path)
    model, run_id = log_constant(store, "shared")
    register = mlflow.register_model

    def another_decision_first(*args: object, **kwargs: object):
        theirs = register(model, store.model_name, tags={DAGSTER_RUN_TAG: "run-b"})
        store.set_production(str(theirs.version))
        return register(*args, **kwargs)

    monkeypatch.setattr(mlflow, "register_model", another_decision_first)
    # Its first search came before the other decision registered: nothing found.
    searches = []
    search = MlflowStore._versions_of_run

    def first_finds_nothing(self: MlflowStore, run: str) -> list:
        searches.append(run)
        return [] if len(searches) == 1 else search(self, run)

    monkeypatch.setattr(MlflowStore, "_versions_of_run", first_finds_nothing)
    mine = store.register_version(model, run_id, {DAGSTER_RUN_TAG: "run-a"})
    monkeypatch.undo()
    assert len(searches) == 2  # the cleanup looked

    assert _run_versions(store, run_id) == ["1", mine] == ["1", "2"]
    assert str(store.production_version().version) == "1"


def test_a_registration_that_fails_after_it_was_applied_leaves_no_version(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A gateway's 502 after the server registered it, on every try."""
    import mlflow
    from mlflow.exceptions import MlflowException

    store = _store(tmp_path)
    model, run_id = log_constant(store, "failed")
    register = mlflow.register_model

    def applied_then_fails(*args: object, **kwargs: object):
        register(*args, **kwargs)
        register(*args, **kwargs)
        raise MlflowException("API request failed with error code 502 != 200")

    monkeypatch.setattr(mlflow, "register_model", applied_then_fails)
    with pytest.raises(MlflowException):
        store.register_version(model, run_id, {DAGSTER_RUN_TAG: "run-a"})

    assert _run_versions(store, run_id) == []


def test_a_deletion_applied_though_its_reply_was_lost_counts_as_done(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mlflow.exceptions import MlflowException

    store = _store(tmp_path)
    kept = store.register_version(*log_constant(store, "kept"))
    model, run_id = log_constant(store, "deleted")
    deleted = store.register_version(model, run_id)
    delete = MlflowClient.delete_model_version

    def applied_then_lost(self: MlflowClient, name: str, version: str) -> None:
        delete(self, name, version)
        raise MlflowException("Connection aborted: RemoteDisconnected")

    def refused(self: MlflowClient, name: str, version: str) -> None:
        raise MlflowException("API request failed with error code 500 != 200")

    monkeypatch.setattr(MlflowClient, "delete_model_version", refused)
    assert not store.discard_version(kept)  # refused: it stays
    monkeypatch.setattr(MlflowClient, "delete_model_version", applied_then_lost)
    assert store.discard_version(deleted)
    assert _run_versions(store, run_id) == []
    assert len(store.client().search_model_versions(f"name = '{store.model_name}'")) == 1


def test_an_alias_move_that_errors_and_cannot_be_read_back_says_the_outcome_is_unknown(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The other two outcomes (applied though the reply was lost; refused) run through the job in
    # test_registry_faults.py.
    from mlflow.exceptions import MlflowException

    store = _store(tmp_path)
    first = store.register_version(*log_constant(store, "first"))
    store.set_production(first)
    second = store.register_version(*log_constant(store, "second"))

    def fails(*args: object) -> None:
        raise MlflowException("the tracking server is gone")

    with monkeypatch.context() as patch:
        for method in ("set_registered_model_alias", "get_model_version_by_alias"):
            patch.setattr(MlflowClient, method, fails)
        patch.setattr(MlflowClient, "delete_model_version", fails)
        with pytest.raises(MlflowStoreError) as caught:
            store.move_production(second)

    assert str(caught.value) == (
        f"could not move the production alias to version 2 at {store.uri}: the tracking server "
        "is gone; reading the alias back failed too, so whether it moved is unknown"
    )
    assert str(store.production_version().version) == first  # nothing deleted while unknown
    assert len(store.client().search_model_versions(f"name = '{store.model_name}'")) == 2


def test_the_quick_read_of_the_alias_is_the_stores_own_model(tmp_path: Path) -> None:
    from dataclasses import replace

    store = _store(tmp_path)
    store.set_production(store.register_version(*log_constant(store, "aliased")))
    other = replace(store, model_name="other-model")
    other.register_version(*log_constant(other, "unaliased"))

    assert store.production_version_number() == "1"
    assert other.production_version_number() is None  # not the default model's alias


def test_finished_runs_are_found_by_any_tag_value_quotes_included(tmp_path: Path) -> None:
    store = _store(tmp_path)
    client = store.client()
    found = {}
    for value in ("plain", "o'brien", 'say "hi"', "both ' and \""):
        run = client.create_run(store.experiment_id(), tags={"drop": value})
        client.set_terminated(run.info.run_id, "FINISHED")
        found[value] = run.info.run_id
    client.create_run(store.experiment_id(), tags={"drop": "plain"})  # RUNNING: not found
    for value, run_id in found.items():
        assert store.finished_runs_tagged("drop", value) == [(run_id, None)], value


def test_no_registered_model_means_no_production_model_yet(tmp_path: Path) -> None:
    store = _store(tmp_path)
    store.experiment_id()  # the store exists, with no registered model
    assert store.production_version() is None


def test_a_store_never_created_has_no_production_model_and_stays_uncreated(tmp_path: Path) -> None:
    # Every drop asks before any training created the store: nothing is created to find out.
    assert _store(tmp_path).production_version() is None
    assert list(tmp_path.iterdir()) == []


def test_live_quality_is_a_monitoring_run_linked_to_the_production_version(
    shared: MlflowStore,
) -> None:
    logged, run_id = log_constant(shared, "scored")
    version = shared.client().get_model_version(
        shared.model_name, shared.register_version(logged, run_id)
    )
    quality = builders.quality().model_copy(update={"drop": "reviews_x", "content": "ab" * 32})

    experiment_id, monitoring_run = shared.log_live_quality(
        quality, version, {"dagster_run_id": "r"}, Path("/landing/s3:reviews_x.csv")
    )

    client = shared.client()
    assert client.get_experiment(experiment_id).name == MONITORING_EXPERIMENT
    run = client.get_run(monitoring_run)
    assert run.info.status == "FINISHED" and run.info.run_name == "live-reviews_x"
    assert {k: run.data.tags[k] for k in ("drop", "production_version", "dagster_run_id")} == {
        "drop": "reviews_x",
        "production_version": str(version.version),
        "dagster_run_id": "r",
    }
    assert run.data.metrics["not_recommended_share"] == pytest.approx(1 / 3)
    assert run.data.metrics["live_roc_auc"] == pytest.approx(quality.metrics.roc_auc)
    # The live figures are the logged model's too (its page in the MLflow UI lists them); the
    # others, and every figure of a record that is not live, are the monitoring run's alone.
    learned = quality.model_copy(update={"drop": "reviews_y", "may_have_learned_from_drop": True})
    _, learned_run = shared.log_live_quality(learned, version, {})
    linked = client.get_logged_model(logged.removeprefix("models:/")).metrics
    assert {m.run_id for m in linked} == {monitoring_run}
    assert {m.key for m in linked} == {k for k in run.data.metrics if k.startswith("live_")}
    assert client.get_run(learned_run).data.metrics["live_roc_auc"] == pytest.approx(
        quality.metrics.roc_auc
    )
    # The drop is the run's evaluation dataset, and the linked figures name it.
    [drop] = run.inputs.dataset_inputs
    assert (drop.dataset.name, drop.dataset.digest) == ("reviews_x", quality.content[:16])
    # A file's name that reads as another source (s3:) stays the local file it is.
    assert drop.dataset.source_type == "local"
    assert json.loads(drop.dataset.source) == {"uri": "file:///landing/s3%3Areviews_x.csv"}
    assert [t.value for t in drop.tags if t.key == "mlflow.data.context"] == ["evaluation"]
    assert {(m.dataset_name, m.dataset_digest) for m in linked} == {
        ("reviews_x", quality.content[:16])
    }


def test_a_registered_model_without_the_alias_means_no_production_model_yet(
    tmp_path: Path,
) -> None:
    store = _store(tmp_path)
    store.register_version(*log_constant(store, "unaliased"))
    assert store.production_version() is None


def test_a_store_that_cannot_be_read_is_not_an_empty_one(tmp_path: Path) -> None:
    (tmp_path / "mlflow.db").write_bytes(b"not a database" * 100)
    with pytest.raises(MlflowStoreError, match=r"could not read the production alias.*mlflow\.db"):
        _store(tmp_path).production_version()


_KILLED_WHILE_CREATING = """
import os, sys
import mlflow.store.db.utils as db

def half_migrated(engine):
    # What a process killed among MLflow's migrations leaves: some tables, no end.
    with engine.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE registered_models (name TEXT)")
    os._exit(9)

db._upgrade_db = half_migrated
from sentiment_assets.lib.tracking import MlflowStore
MlflowStore(sys.argv[1]).create_if_missing()
"""


def test_a_store_whose_creation_was_killed_is_created_again_whole(tmp_path: Path) -> None:
    """A first run killed while MLflow migrated the new store left a file no client could open
    again ("table registered_models already exists"), every later run failing (a review)."""
    store = _store(tmp_path)
    killed = subprocess.run([sys.executable, "-c", _KILLED_WHILE_CREATING, store.uri], check=False)
    assert killed.returncode == 9
    assert not (tmp_path / "mlflow.db").exists()

    store.create_if_missing()

    assert store.production_version() is None
    default = store.client().get_experiment("0")
    assert default.artifact_location == str(tmp_path / "artifacts" / "0")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mlflow.db", "mlflow.lock"]  # no leftover


def test_many_threads_create_the_experiment_once(tmp_path: Path) -> None:
    store = _store(tmp_path / "fresh")
    (experiment_id,) = experiment_ids_from_threads(store)
    found = store.client().search_experiments(filter_string=f"name = '{store.experiment_name}'")
    assert [e.experiment_id for e in found] == [experiment_id]


@pytest.mark.slow  # two processes
def test_two_processes_create_the_experiment_once(tmp_path: Path) -> None:
    store = _store(tmp_path / "fresh")
    (experiment_id,) = experiment_ids_from_processes(store, tmp_path)
    assert store.experiment_id() == experiment_id


def test_a_deleted_experiment_is_named_not_trained_into(tmp_path: Path) -> None:
    store = _store(tmp_path)
    store.client().delete_experiment(store.experiment_id())
    with pytest.raises(MlflowStoreError, match=r"customer-sentiment-analysis.*is deleted: restore"):
        store.experiment_id()


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


@pytest.mark.parametrize(
    ("uri", "secret", "shown"),
    [
        (
            "http://alice:s3cret@mlflow.example:5000",
            "s3cret",
            "http://alice:***@mlflow.example:5000",
        ),
        ("https://t0ken@mlflow.example", "t0ken", "https://***@mlflow.example"),
        ("https://t%40ken@mlflow.example", "t@ken", "https://***@mlflow.example"),
    ],
)
def test_an_error_message_loses_the_uris_credentials(uri: str, secret: str, shown: str) -> None:
    message = f"API request to {uri}/api/2.0/mlflow/runs failed (auth {secret} refused)"
    cleaned = settings.without_credentials(message, uri)
    assert secret not in cleaned
    assert cleaned.startswith(f"API request to {shown}/api/2.0/mlflow/runs failed")


def test_sqlite_paths_relative_and_absolute() -> None:
    assert settings.sqlite_path("sqlite:////abs/m.db") == Path("/abs/m.db")
    assert settings.sqlite_path("sqlite:///rel/m.db") == Path("rel/m.db")
    assert settings.sqlite_path("http://host:5000") is None
