"""The training job under faults of the MLflow store: a registry that errors on alias look-ups or
moves, a locked SQLite store, a full disk. Each fails the run with a message that says so, and
leaves the production alias and every stored value as they were; a promotion whose decision cannot
be stored after the alias moved leaves its evidence on the version."""

import errno
import sqlite3
import subprocess
from pathlib import Path

import dagster as dg
import pytest

from sentiment_assets.cli.sample_drops import write_sample_drops
from sentiment_assets.lib.tracking import MlflowStore
from sentiment_assets_tests.servers import FaultyProxy, mlflow_server
from sentiment_assets_tests.support import (
    QUICK_TRAINING,
    coin_flip_production,
    definitions,
    failure_message,
    ingest,
    train,
)

pytestmark = pytest.mark.slow  # a tracking server, SQLite's 20 s busy timeout, training


def _first_production(data_dir: Path, instance: dg.DagsterInstance) -> dg.ExecuteInProcessResult:
    """Sample drops ingested and a first model trained and promoted (version 1)."""
    write_sample_drops(data_dir / "landing", drops=2, rows_per_drop=600)
    ingest(instance, ["reviews_sample-01", "reviews_sample-02"])
    first = train(instance, **QUICK_TRAINING)
    assert first.success and first.output_for_node("production_model").production_version == "1"
    return first


def _assert_untouched(
    store: MlflowStore, instance: dg.DagsterInstance, first_run: str, assets: tuple[str, ...]
) -> None:
    """Production is still version 1, nothing else was registered, and the stored values of
    `assets` are still those of the first run."""
    assert str(store.production_version().version) == "1"
    versions = store.client().search_model_versions(f"name = '{store.model_name}'")
    assert [str(v.version) for v in versions] == ["1"]
    for asset in assets:
        latest = instance.get_latest_materialization_event(dg.AssetKey(asset))
        assert latest.run_id == first_run, asset


def test_a_registry_that_fails_alias_look_ups_fails_production_model(
    data_dir: Path, instance, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # MLflow retries a 5xx seven times with exponential backoff (minutes) by default.
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "1")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR", "0")
    with mlflow_server(tmp_path / "server") as server, FaultyProxy(server) as proxy:
        monkeypatch.setenv("MLFLOW_TRACKING_URI", proxy.url)
        first = _first_production(data_dir, instance)

        proxy.alias_reply = (500, b"injected fault")
        again = train(instance, **QUICK_TRAINING)

        assert not again.success
        assert [e.step_key for e in again.all_events if e.is_step_failure] == ["production_model"]
        assert (
            failure_message(again)
            .strip()
            .endswith(
                "production_model failed: could not read the production alias from the MLflow "
                f"registry at {proxy.url}: the tracking server answered HTTP 500 to every try "
                "(its own log says why: its database or artifact store out of reach, for "
                "example); the production alias was left where it is"
            )
        )
        _assert_untouched(MlflowStore(server), instance, first.run_id, ("production_model",))


def test_a_locked_store_fails_production_model_and_says_so(data_dir: Path, instance) -> None:
    first = _first_production(data_dir, instance)
    store = MlflowStore.default()
    locker = sqlite3.connect(data_dir / "mlflow" / "mlflow.db", isolation_level=None)
    try:
        locker.execute("BEGIN EXCLUSIVE")
        # production_model alone, on the stored candidates: MLflow waits 20 s for the lock.
        result = (
            definitions()
            .resolve_job_def("train_and_promote")
            .execute_in_process(
                instance=instance,
                asset_selection=[dg.AssetKey("production_model")],
                raise_on_error=False,
            )
        )
    finally:
        locker.execute("ROLLBACK")
        locker.close()

    assert not result.success
    assert (
        failure_message(result)
        .strip()
        .endswith(
            "production_model failed: could not read the production alias from the MLflow registry "
            f"at {store.uri}: it is locked by another process (SQLite: database is locked); "
            "the production alias was left where it is"
        )
    )
    _assert_untouched(store, instance, first.run_id, ("production_model",))


@pytest.fixture
def small_disk(data_dir: Path):
    """The data folder's MLflow store on a 32 MiB tmpfs of its own (needs root)."""
    folder = data_dir / "mlflow"
    folder.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=32m", "tmpfs", str(folder)], capture_output=True
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        yield folder
    finally:
        # MLflow keeps its SQLite connections open in this process: detach lazily.
        subprocess.run(["umount", "--lazy", str(folder)], check=True)


def _fill(folder: Path) -> None:
    """Write to `folder` until its disk has no byte left."""
    with (folder / "ballast").open("wb", buffering=0) as ballast:
        for size in (1 << 20, 1 << 12, 1):
            try:
                while True:
                    ballast.write(b"\0" * size)
            except OSError:
                continue


def test_a_full_disk_fails_training_and_says_so(data_dir: Path, instance, small_disk) -> None:
    first = _first_production(data_dir, instance)
    store = MlflowStore.default()
    _fill(small_disk)

    again = train(instance, **QUICK_TRAINING)

    assert not again.success
    assert [e.step_key for e in again.all_events if e.is_step_failure] == ["trained_models"]
    assert (
        failure_message(again)
        .strip()
        .endswith(
            f"trained_models failed: could not use the MLflow store at {store.uri}: the disk is full "
            "(no space left on device); earlier values and production are as they were"
        )
    )
    _assert_untouched(store, instance, first.run_id, ("trained_models", "production_model"))


def _promoting(data_dir: Path, instance: dg.DagsterInstance) -> MlflowStore:
    """Sample drops ingested and a coin flip in production (version 1): the next training run's
    candidate beats it beyond chance and is promoted."""
    write_sample_drops(data_dir / "landing", drops=2, rows_per_drop=600)
    ingest(instance, ["reviews_sample-01", "reviews_sample-02"])
    store = MlflowStore.default()
    assert coin_flip_production(store) == "1"
    return store


def test_a_decision_stored_on_a_full_disk_after_the_move_leaves_its_evidence_on_the_version(
    data_dir: Path, instance, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sentiment_assets.defs.platform import io_manager
    from sentiment_assets.lib.production import ProductionDecision

    store = _promoting(data_dir, instance)
    write_value = io_manager.write_value

    def full_disk_for_decisions(value, folder):
        if isinstance(value, ProductionDecision):
            raise OSError(errno.ENOSPC, "No space left on device")
        return write_value(value, folder)

    monkeypatch.setattr(io_manager, "write_value", full_disk_for_decisions)
    failed = train(instance, **QUICK_TRAINING)

    # The alias moved on evidence, and the step failed storing its decision: the evidence is on
    # the version, written before the move, and the event log says the alias moved.
    assert not failed.success
    assert [e.step_key for e in failed.all_events if e.is_step_failure] == ["production_model"]
    assert "the disk is full" in failure_message(failed)
    assert str(store.production_version().version) == "2"
    tags = store.client().get_model_version(store.model_name, "2").tags
    assert "better by more than chance" in tags["promotion.reason"]
    assert float(tags["promotion.roc_auc_difference"]) > 0
    assert float(tags["promotion.p_value"]) < 0.05
    assert tags["promotion.significance_level"] == "0.05"
    assert tags["promotion.previous_version"] == "1"  # what it replaced
    assert tags["promotion.challenger"] == "tfidf" and tags["dagster_run_id"] == failed.run_id
    logged = [
        e.message for e in instance.all_logs(failed.run_id) if e.step_key == "production_model"
    ]
    assert any("Moved the production alias from version 1 to version 2" in m for m in logged)
    assert instance.get_latest_materialization_event(dg.AssetKey("production_model")) is None

    # With room again, the next decision starts from the alias as it is: version 2 stays.
    monkeypatch.setattr(io_manager, "write_value", write_value)
    again = (
        definitions()
        .resolve_job_def("train_and_promote")
        .execute_in_process(instance=instance, asset_selection=[dg.AssetKey("production_model")])
    )
    decision = again.output_for_node("production_model")
    assert not decision.promoted and decision.production_version == decision.champion.version == "2"


@pytest.mark.parametrize("applied", [False, True], ids=["refused", "applied, reply lost"])
def test_an_alias_move_that_errors_is_read_back(
    data_dir: Path, instance, monkeypatch: pytest.MonkeyPatch, applied: bool
) -> None:
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    store = _promoting(data_dir, instance)
    move = MlflowClient.set_registered_model_alias

    def gateway_timeout(client, name, alias, version):
        if applied:
            move(client, name, alias, version)
        raise MlflowException("API request failed with error code 504 != 200: gateway timeout")

    monkeypatch.setattr(MlflowClient, "set_registered_model_alias", gateway_timeout)
    result = train(instance, **QUICK_TRAINING)

    versions = store.client().search_model_versions(f"name = '{store.model_name}'")
    if applied:  # the registry did move it: the promotion stands, as stored
        assert result.success
        assert result.output_for_node("production_model").production_version == "2"
        assert str(store.production_version().version) == "2"
        assert sorted(str(v.version) for v in versions) == ["1", "2"]
        return
    # Refused: production stays, and the version registered for the move is deleted again.
    assert not result.success
    assert (
        failure_message(result)
        .strip()
        .endswith(
            f"production_model failed: could not move the production alias to version 2 at "
            f"{store.uri}: API request failed with error code 504 != 200: gateway timeout; the alias "
            "names version 1, and version 2, registered for the move, was deleted again; every value "
            "stored before is unchanged"
        )
    )
    assert str(store.production_version().version) == "1"
    assert [str(v.version) for v in versions] == ["1"]
    assert instance.get_latest_materialization_event(dg.AssetKey("production_model")) is None


def test_a_store_that_fails_after_registering_leaves_no_version_registered(
    data_dir: Path, instance, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mlflow.exceptions import MlflowException

    store = _promoting(data_dir, instance)
    expect = MlflowStore.expect_production
    calls = []

    def fails_the_second_time(self, expected):
        calls.append(expected)
        if len(calls) == 2:  # after registering: the alias cannot be read back
            raise MlflowException("API request failed with error code 500 != 200: injected")
        return expect(self, expected)

    monkeypatch.setattr(MlflowStore, "expect_production", fails_the_second_time)
    failed = train(instance, **QUICK_TRAINING)

    assert not failed.success and "injected" in failure_message(failed)
    assert str(store.production_version().version) == "1"
    versions = store.client().search_model_versions(f"name = '{store.model_name}'")
    assert [str(v.version) for v in versions] == ["1"]


def test_a_version_is_marked_pending_from_its_registration_until_the_alias_moves(
    data_dir: Path, instance, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The mark is what lets the next decision delete a version whose run died before the move.
    from sentiment_assets.lib.tracking import PROMOTION_PENDING_TAG

    store = _promoting(data_dir, instance)
    move = MlflowStore.move_production
    marks = {}

    def move_seeing_the_mark(self, version):
        tags = self.client().get_model_version(self.model_name, version).tags
        marks[version] = tags.get(PROMOTION_PENDING_TAG)
        return move(self, version)

    monkeypatch.setattr(MlflowStore, "move_production", move_seeing_the_mark)
    assert train(instance, **QUICK_TRAINING).success

    assert marks == {"2": "true"}
    assert PROMOTION_PENDING_TAG not in store.client().get_model_version(store.model_name, "2").tags


def test_a_version_whose_promotion_ended_before_the_move_is_deleted_by_the_next_decision(
    data_dir: Path, instance
) -> None:
    from sentiment_assets.lib.tracking import DAGSTER_RUN_TAG, PROMOTION_PENDING_TAG

    first = _first_production(data_dir, instance)
    store = MlflowStore.default()
    client = store.client()
    assert PROMOTION_PENDING_TAG not in client.get_model_version(store.model_name, "1").tags
    # As a run killed between registering and moving leaves it: registered with its evidence,
    # still pending; one of a run this instance does not know is left alone.
    candidate = first.output_for_node("trained_models").candidates[0]
    # A version the alias moved to whose mark was never cleared (the store failed just then)
    # keeps its place: only the mark goes.
    client.set_model_version_tag(store.model_name, "1", PROMOTION_PENDING_TAG, "true")
    # One of a run still going (another training that has not moved the alias yet) is its own.
    running = _running_dagster_run(instance)
    for run in (first.run_id, "a-run-of-another-instance", running):
        tags = {DAGSTER_RUN_TAG: run, PROMOTION_PENDING_TAG: "true", "promotion.reason": "x"}
        client.create_model_version(
            store.model_name, candidate.model_uri, candidate.run_id, tags=tags
        )

    again = train(instance, **QUICK_TRAINING)

    assert again.success
    versions = client.search_model_versions(f"name = '{store.model_name}'")
    held = {str(v.version) for v in versions}
    assert "2" not in held and {"1", "3", "4"} <= held
    assert client.get_model_version(store.model_name, "4").tags[PROMOTION_PENDING_TAG] == "true"
    assert PROMOTION_PENDING_TAG not in client.get_model_version(store.model_name, "1").tags
    logged = [
        e.message for e in instance.all_logs(again.run_id) if e.step_key == "production_model"
    ]
    assert any(
        f"Deleted version 2: registered for a promotion by Dagster run {first.run_id}" in m
        for m in logged
    )
    decided = again.output_for_node("production_model").production_version
    assert PROMOTION_PENDING_TAG not in client.get_model_version(store.model_name, decided).tags


def test_an_mlflow_run_left_running_by_a_killed_training_is_ended_by_the_next_one(
    data_dir: Path, instance
) -> None:
    from sentiment_assets.lib.tracking import DAGSTER_RUN_TAG

    first = _first_production(data_dir, instance)
    store = MlflowStore.default()
    client = store.client()
    # What a training process killed mid-candidate leaves: its MLflow run still RUNNING. One of
    # a Dagster run this instance does not know, or of one still going, is left alone.
    left = client.create_run(store.experiment_id(), tags={DAGSTER_RUN_TAG: first.run_id})
    foreign = client.create_run(store.experiment_id(), tags={DAGSTER_RUN_TAG: "elsewhere"})
    running = _running_dagster_run(instance)
    training = client.create_run(store.experiment_id(), tags={DAGSTER_RUN_TAG: running})

    assert train(instance, **QUICK_TRAINING).success

    assert client.get_run(left.info.run_id).info.status == "KILLED"
    assert client.get_run(foreign.info.run_id).info.status == "RUNNING"
    assert client.get_run(training.info.run_id).info.status == "RUNNING"


def _running_dagster_run(instance: dg.DagsterInstance) -> str:
    """The id of a run this instance holds as started and not ended."""
    job = dg.GraphDefinition("another_training").to_job()
    return instance.create_run_for_job(job, status=dg.DagsterRunStatus.STARTED).run_id
