"""The training job under faults of the MLflow store: a registry that errors on alias look-ups, a
locked SQLite store, a full disk. Each fails the run with a message that says so, and leaves the
production alias and every stored value as they were."""

import sqlite3
import subprocess
from pathlib import Path

import dagster as dg
import pytest

from sentiment_assets.cli.sample_drops import write_sample_drops
from sentiment_assets.lib.tracking import MlflowStore
from sentiment_assets_tests.servers import FaultyProxy, mlflow_server
from sentiment_assets_tests.support import definitions, failure_message, ingest, train

pytestmark = pytest.mark.slow  # a tracking server, SQLite's 20 s busy timeout, training

QUICK = {"candidates": [{"name": "tfidf", "family": "tfidf-logreg"}]}


def _first_production(data_dir: Path, instance: dg.DagsterInstance) -> dg.ExecuteInProcessResult:
    """Sample drops ingested and a first model trained and promoted (version 1)."""
    write_sample_drops(data_dir / "landing", drops=2, rows_per_drop=600)
    ingest(instance, ["reviews_sample-01", "reviews_sample-02"])
    first = train(instance, **QUICK)
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
        again = train(instance, **QUICK)

        assert not again.success
        assert [e.step_key for e in again.all_events if e.is_step_failure] == ["production_model"]
        assert (
            failure_message(again)
            .strip()
            .endswith(
                "production_model failed: could not read the production alias from the MLflow "
                f"registry at {proxy.url}: the tracking server answered HTTP 500 to every try; "
                "the production alias was left where it is"
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

    again = train(instance, **QUICK)

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
