"""`sentiment-run` materializes only what is stale or missing: on unchanged drops, code and settings
it trains nothing and writes nothing to MLflow; a changed drop, code or setting makes exactly what
depends on it stale, as the UI's "Materialize changed and missing" sees it."""

import os
import shutil
import signal
from pathlib import Path

import dagster as dg
import pytest

import sentiment_assets.defs.training.config as training_config
from sentiment_assets.cli import run
from sentiment_assets.cli.sample_drops import write_sample_drops
from sentiment_assets.defs.asset_keys import PRODUCTION_MODEL
from sentiment_assets.defs.platform.staleness import Staleness
from sentiment_assets.defs.training.config import TrainingConfig
from sentiment_assets.defs.training.jobs import TRAINING_ASSETS
from sentiment_assets.lib import settings
from sentiment_assets_tests.support import definitions, mlflow_writes

QUICK = [{"name": "tfidf", "family": "tfidf-logreg"}]
TRAINING = list(TRAINING_ASSETS)
INGESTION = [dg.AssetKey("raw_reviews"), dg.AssetKey("stemmed_corpus")]


def _materializations(instance: dg.DagsterInstance) -> int:
    keys = instance.get_asset_keys()
    return sum(len(instance.fetch_materializations(k, limit=1000).records) for k in keys)


def _stale(instance: dg.DagsterInstance, defs: dg.Definitions) -> set[str]:
    """Every asset sentiment-run keeps fresh (each drop's partition of the partitioned ones) that
    is stale or missing. A drop's scoring is left out: it records the production model of the day
    the drop landed, so it is stale (and left so) once a retraining rebuilds the dataset."""
    staleness = Staleness(instance, defs)
    found = {k.to_user_string() for k in staleness.stale_or_missing(TRAINING)}
    for drop in instance.get_dynamic_partitions("review_drops"):
        found |= {
            f"{k.to_user_string()}[{drop}]" for k in staleness.stale_or_missing(INGESTION, drop)
        }
    return found


@pytest.fixture
def quick_candidates(monkeypatch: pytest.MonkeyPatch, data_dir: Path) -> Path:
    """sentiment-run in a data folder of its own, training one quick candidate by default."""
    monkeypatch.setenv("DAGSTER_HOME", str(data_dir / "dagster_home"))
    monkeypatch.setattr(training_config, "DEFAULT_CANDIDATES", QUICK)
    write_sample_drops(data_dir / "landing", drops=2, rows_per_drop=600)
    return data_dir


@pytest.mark.slow  # sentiment-run trains twice
def test_a_rerun_does_only_what_changed(
    quick_candidates: Path, capfd: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    # -v: in this process the console must leave the file descriptors to pytest's capture (its
    # output goes to copies of them, hence capfd); test_run_console.py runs the command as people do.
    assert run.main(["-v"]) == 0
    capfd.readouterr()
    with dg.DagsterInstance.get() as instance:
        assert _stale(instance, definitions()) == set()
        runs, materialized, mlflow = (
            instance.get_runs_count(),
            _materializations(instance),
            mlflow_writes(),
        )
        assert mlflow[1:] == (1, "1")

    # Unchanged drops, code and settings: no Dagster run, no materialization, no MLflow write.
    assert run.main(["-v"]) == 0
    said = capfd.readouterr().out
    assert said.startswith("Nothing to train") and said.count("\n") == 1, said
    assert "production stays version 1" in said
    with dg.DagsterInstance.get() as instance:
        assert instance.get_runs_count() == runs
        assert _materializations(instance) == materialized
    assert mlflow_writes() == mlflow

    with dg.DagsterInstance.get() as instance:
        # New training settings: only the candidates are to be trained again (their decision
        # follows once they have a new data version); the same settings spelled out are no change.
        assert run.training_wave(instance, TrainingConfig(candidates=QUICK)) == {}
        wave = run.training_wave(instance, TrainingConfig(epochs=3))
        assert wave == {dg.AssetKey("trained_models"): "has new training settings"}

        # New code for the stemming: every drop is stemmed again, to the same stems, so the
        # dataset stays fresh.
        changed = _edited("stemmed_corpus")
        assert _stale(instance, changed) == {
            "stemmed_corpus[reviews_sample-01]",
            "stemmed_corpus[reviews_sample-02]",
        }
        monkeypatch.setattr(run, "_defs", lambda: changed)
        runs = instance.get_runs_count()
        run.refresh_drops(instance)
        assert instance.get_runs_count() == runs + 2
        assert _stale(instance, changed) == set()

        # New code for the dataset: it is built again, to the same data version, so the
        # candidates and the decision stay fresh: nothing trained, nothing written to MLflow.
        changed = _edited("stemmed_corpus", "padded_dataset")
        assert _stale(instance, changed) == {"padded_dataset"}
        monkeypatch.setattr(run, "_defs", lambda: changed)
        runs = instance.get_runs_count()
        assert run.train_changed(instance, TrainingConfig(), {})
        assert instance.get_runs_count() == runs + 1
        latest = instance.get_run_records(limit=1)[0].dagster_run
        assert latest.asset_selection == {dg.AssetKey("padded_dataset")}
        assert run.training_wave(instance, TrainingConfig()) == {}
        assert mlflow_writes() == mlflow

        # A drop with new content: read again, and then exactly what reads it is stale.
        landing = quick_candidates / "landing"
        (newer,) = [
            p
            for p in write_sample_drops(
                quick_candidates / "newer", drops=2, rows_per_drop=600, seed=7
            )
            if p.name == "reviews_sample-02.csv"
        ]
        shutil.copyfile(newer, landing / newer.name)
        assert run.ingest(instance) == ([], [])
        assert _stale(instance, changed) == {"padded_dataset", "production_model"}
        assert set(run.training_wave(instance, TrainingConfig())) == {dg.AssetKey("padded_dataset")}

        # New code for reading drops while one drop's file has left the landing folder (files
        # may go once read): its stored reviews stand, said so; the other drop is read again.
        (landing / "reviews_sample-01.csv").rename(quick_candidates / "archived.csv")
        changed = _edited("stemmed_corpus", "padded_dataset", "raw_reviews")
        monkeypatch.setattr(run, "_defs", lambda: changed)
        capfd.readouterr()
        runs = instance.get_runs_count()
        assert run.refresh_drops(instance) == []
        said = capfd.readouterr().err
        assert "Kept drop reviews_sample-01 as stored: raw_reviews has a new code version" in said
        assert instance.get_runs_count() == runs + 1  # reviews_sample-02's raw_reviews alone

        # A drop that cannot be stored is the run's failure: sentiment-run exits 1, naming it
        # (and trains on the rest).
        (landing / "reviews_broken.csv").write_text(",Review Text,Recommended IND\n0,Fine,7\n")
        # So is an export nothing will read until someone acts on it (a scheduled run must not
        # pass over the week's export): a workbook, a name another drop owns. A same-content
        # copy is skipped without that: nothing to do.
        (landing / "reviews_2026-05.xlsx").write_bytes(b"PK\x03\x04")
        shutil.copyfile(landing / "reviews_sample-02.csv", landing / "reviews sample-02.csv")
        shutil.copyfile(landing / "reviews_sample-02.csv", landing / "copy.csv")
        failed, unread = run.ingest(instance)
        assert failed == ["reviews_broken"]
        assert [line.split(":")[0] for line in unread] == [
            "reviews_2026-05.xlsx",
            "reviews sample-02.csv",
        ]
        production = run._stored(instance, PRODUCTION_MODEL).production_version
        capfd.readouterr()
        assert run._exit_status(production, failed, [], run.RunConsole(verbose=True)) == 1
        assert "Drop(s) whose run failed: reviews_broken" in capfd.readouterr().err
        assert run._exit_status(production, [], unread, run.RunConsole(verbose=True)) == 1
        said = " ".join(capfd.readouterr().err.split())
        assert "left unread until acted on: reviews_2026-05.xlsx: is an Excel workbook" in said
        assert run._exit_status(production, [], [], run.RunConsole(verbose=True)) == 0


@pytest.mark.slow  # sentiment-run trains first
def test_an_alias_moved_or_removed_by_hand_is_what_a_rerun_reports(
    quick_candidates: Path, capfd: pytest.CaptureFixture
) -> None:
    from sentiment_assets.lib.tracking import PRODUCTION_ALIAS, MlflowStore

    assert run.main(["-v"]) == 0
    store = MlflowStore.default()
    client, name = store.client(), store.model_name
    first = client.get_model_version(name, "1")
    # A rollback by hand, to a version registered by hand.
    second = client.create_model_version(name, first.source, first.run_id).version
    client.set_registered_model_alias(name, PRODUCTION_ALIAS, second)
    capfd.readouterr()

    assert run.main(["-v"]) == 0
    said = capfd.readouterr()
    assert f"production alias names version {second}, not version 1" in said.err
    assert f"production stays version {second}" in said.out

    # A take-down: nothing predicts, so the rerun fails, saying why; it trains nothing.
    client.delete_registered_model_alias(name, PRODUCTION_ALIAS)
    writes = mlflow_writes()
    assert run.main(["-v"]) == 1
    said = capfd.readouterr()
    assert "no production alias, though the last decision left it on version 1" in said.err
    assert "there is no production model" in said.out
    assert mlflow_writes() == writes


def _edited(*assets: str) -> dg.Definitions:
    """The code location as if the code computing `assets` had been edited."""
    keys = {dg.AssetKey(name) for name in assets}
    return definitions().map_asset_specs(
        func=lambda spec: (
            spec.replace_attributes(code_version="edited") if spec.key in keys else spec
        )
    )


def test_new_content_is_seen_past_dagsters_limit_of_100_drops(data_dir: Path, instance) -> None:
    from sentiment_assets_tests.support import ingest

    write_sample_drops(data_dir / "landing", drops=2, rows_per_drop=300)
    ingest(instance, ["reviews_sample-01", "reviews_sample-02"])
    # Partitions of drops quarantined or to come: from 100 on, Dagster's stale status stops
    # comparing padded_dataset with the drops' stems.
    instance.add_dynamic_partitions("review_drops", [f"reviews_old-{i:03d}" for i in range(100)])
    definitions().resolve_implicit_global_asset_job_def().execute_in_process(
        instance=instance, asset_selection=[dg.AssetKey("padded_dataset")]
    )
    assert dg.AssetKey("padded_dataset") not in run.training_wave(instance, TrainingConfig())
    (newer,) = write_sample_drops(data_dir / "newer", drops=1, rows_per_drop=300, seed=7)
    shutil.copyfile(newer, data_dir / "landing" / "reviews_sample-02.csv")
    ingest(instance, ["reviews_sample-02"])

    assert Staleness(instance, definitions()).stale_or_missing(TRAINING[:1]) == {}  # Dagster's
    assert run.training_wave(instance, TrainingConfig()) == {
        dg.AssetKey("padded_dataset"): "a drop was stemmed after it was built"
    }


@pytest.mark.slow  # sentiment-run trains twice
def test_a_drop_stemmed_but_never_scored_is_scored_before_any_retraining_learns_it(
    quick_candidates: Path, capfd: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sentiment_assets.lib.monitoring as monitoring
    from sentiment_assets_tests.support import retrain_sensor

    assert run.main(["-v"]) == 0  # production version 1, from two drops
    more = write_sample_drops(quick_candidates / "more", drops=3, rows_per_drop=600, seed=11)
    shutil.copyfile(more[2], quick_candidates / "landing" / more[2].name)
    drop, live = "reviews_sample-03", dg.AssetKey("live_quality")

    # Its ingestion stems it, then scoring fails (a store's error, or the process killed there).
    measure = monitoring.measure_live_quality

    def fails(*args, **kwargs):
        raise RuntimeError("the production model could not score")

    monkeypatch.setattr(monitoring, "measure_live_quality", fails)
    capfd.readouterr()
    assert run.main(["-v"]) == 1
    said = capfd.readouterr().err
    assert f"Not training: production has not scored drop(s) {drop}" in said
    assert f"Drop(s) whose run failed: {drop}" in said
    # What the step raised, not Dagster's "Error occurred while executing op" around it.
    assert "✗ score_drop failed: RuntimeError: the production model could not score" in said
    # Scored once in this run: the scoring that just failed is not tried again right after.
    assert said.count("score_drop failed") == 1, said
    with dg.DagsterInstance.get() as instance:
        assert drop in instance.get_materialized_partitions(dg.AssetKey("stemmed_corpus"))
        assert drop not in instance.get_materialized_partitions(live)
        trained = len(instance.fetch_materializations(dg.AssetKey("trained_models"), 10).records)
        assert trained == 1
        # Under the daemon, the retraining sensor asks to score it first, once for its content
        # (`dg dev` killed during the scoring left it so, and it waited for a person) ...
        request = retrain_sensor(instance)
        assert isinstance(request, dg.RunRequest)
        assert (request.job_name, request.partition_key) == ("ingest_drop", drop)
        assert set(request.asset_selection) == {live, dg.AssetKey("drop_predictions")}
        assert request.run_key.startswith(f"score-{drop}-")
        tags = {"dagster/run_key": request.run_key, "dagster/sensor_name": "retrain_on_new_data"}
        job = definitions().resolve_job_def("ingest_drop")
        failed = job.execute_in_process(
            instance=instance,
            partition_key=drop,
            asset_selection=request.asset_selection,
            tags=tags,
            raise_on_error=False,
        )
        assert not failed.success  # the scoring fails again here
        # ... and holds the retraining when that scoring failed too, saying why.
        skipped = retrain_sensor(instance)
        assert isinstance(skipped, dg.SkipReason)
        assert f"waiting for production to score drop(s) {drop}" in skipped.skip_message
        assert "the scoring this sensor then requested failed too" in skipped.skip_message

    # Fixed: the next sentiment-run scores it first (live: version 1 never saw it), then trains.
    monkeypatch.setattr(monitoring, "measure_live_quality", measure)
    capfd.readouterr()
    assert run.main(["-v"]) == 0
    assert (
        f"Materializing live_quality and drop_predictions of drop {drop}: its content was never scored"
        in (capfd.readouterr().out)
    )
    with dg.DagsterInstance.get() as instance:
        scored = instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=live, asset_partitions=[drop]), limit=1
        ).records[0]
        built = instance.fetch_materializations(dg.AssetKey("padded_dataset"), limit=1).records[0]
        assert scored.timestamp < built.timestamp
        quality = definitions().load_asset_value(
            live, instance=instance, partition_key=drop, python_type=monitoring.LiveQuality
        )
        assert quality.production_version == "1" and quality.live


def test_a_drop_read_by_hand_is_read_again_on_new_code(data_dir: Path, instance, capfd) -> None:
    # A backfill or `dagster asset materialize` has no drop sensor's tags: the drop's file is
    # found by its key, and named in the metadata for the next read.
    from sentiment_assets.defs.ingestion.partitions import stored_drop
    from sentiment_assets_tests.support import ingest

    write_sample_drops(data_dir / "landing", drops=1, rows_per_drop=200)
    drop = "reviews_sample-01"
    assert ingest(instance, [drop])[drop].success
    assert stored_drop(instance, drop).file == f"{drop}.csv"

    changed = _edited("raw_reviews")
    runs = instance.get_runs_count()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(run, "_defs", lambda: changed)
        assert run.refresh_drops(instance) == []
    assert "its file is unknown" not in capfd.readouterr().err
    assert instance.get_runs_count() == runs + 1
    latest = instance.get_run_records(limit=1)[0].dagster_run
    assert latest.asset_selection == {dg.AssetKey("raw_reviews")}


def test_a_dagster_instance_that_cannot_be_used_is_one_line_not_a_traceback(
    quick_candidates: Path, capfd: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sqlite3

    from sqlalchemy.exc import OperationalError

    def full_disk(*args, **kwargs):
        raise OperationalError(
            "INSERT INTO runs ...", {}, sqlite3.OperationalError("disk I/O error")
        )

    from dagster._core.storage.runs.sql_run_storage import SqlRunStorage

    monkeypatch.setattr(SqlRunStorage, "add_run", full_disk)  # creating the run's row
    assert run.main(["-v"]) == 1
    said = capfd.readouterr().err
    assert "drop reviews_sample-01: the Dagster instance at " in said
    assert "could not be used: disk I/O error; every value stored before is unchanged" in said
    assert "Traceback" not in said


def test_a_drop_is_unscored_until_its_current_content_was_scored(data_dir: Path, instance) -> None:
    from sentiment_assets.defs.platform.io_manager import ArtifactIOManager
    from sentiment_assets.defs.training.dataset_inputs import unscored
    from sentiment_assets_tests.support import ingest

    landing, io_manager = data_dir / "landing", ArtifactIOManager()
    write_sample_drops(landing, drops=1, rows_per_drop=200)
    drop = "reviews_sample-01"
    assert unscored(instance, [drop], io_manager) == []  # nothing stored: nothing to learn
    assert ingest(instance, [drop])[drop].success  # read, stemmed and scored
    assert unscored(instance, [drop], io_manager) == []

    job = definitions().resolve_job_def("ingest_drop")
    read_only = [dg.AssetKey("raw_reviews"), dg.AssetKey("stemmed_corpus")]
    # Read again to the same content (new code): its record stands.
    job.execute_in_process(instance=instance, partition_key=drop, asset_selection=read_only)
    assert unscored(instance, [drop], io_manager) == []
    # New content under the same name, read and stemmed but not scored: it waits.
    (newer,) = write_sample_drops(data_dir / "newer", drops=1, rows_per_drop=200, seed=7)
    shutil.copyfile(newer, landing / newer.name)
    job.execute_in_process(instance=instance, partition_key=drop, asset_selection=read_only)
    assert unscored(instance, [drop], io_manager) == [drop]
    assert ingest(instance, [drop])[drop].success
    assert unscored(instance, [drop], io_manager) == []
    # Removed (its values deleted, the event log keeps its records), then landed again with the
    # same content and not scored: it waits too.
    for asset in ("raw_reviews", "stemmed_corpus", "live_quality", "drop_predictions"):
        io_manager.remove_partition(dg.AssetKey(asset), drop)
    instance.delete_dynamic_partition("review_drops", drop)
    instance.add_dynamic_partitions("review_drops", [drop])
    job.execute_in_process(instance=instance, partition_key=drop, asset_selection=read_only)
    assert unscored(instance, [drop], io_manager) == [drop]


def test_a_removed_drop_stemmed_after_the_dataset_asks_for_no_retraining(
    data_dir: Path, instance
) -> None:
    from sentiment_assets.defs.training.dataset_inputs import stemmed_since_built
    from sentiment_assets_tests.support import ingest

    write_sample_drops(data_dir / "landing", drops=2, rows_per_drop=300)
    ingest(instance, ["reviews_sample-01"])
    definitions().resolve_implicit_global_asset_job_def().execute_in_process(
        instance=instance, asset_selection=[dg.AssetKey("padded_dataset")]
    )
    ingest(instance, ["reviews_sample-02"])
    assert stemmed_since_built(instance)
    # Removed before any dataset held it: the event log keeps its stems, which no longer count.
    instance.delete_dynamic_partition("review_drops", "reviews_sample-02")
    assert not stemmed_since_built(instance)


def test_a_second_sentiment_run_is_refused_while_one_works(
    data_dir: Path, capfd: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Both would pass the check for runs in progress before either started its own.
    from sentiment_assets.cli.platform import working_alone
    from sentiment_assets.defs.ingestion.partitions import review_drops

    monkeypatch.setenv("DAGSTER_HOME", str(data_dir / "dagster_home"))  # prepare sets it
    run.prepare()
    log = _last_runs_log()
    with working_alone() as alone:
        assert alone
        assert run.main([]) == 1

    said = capfd.readouterr().err
    assert "Not ingesting or training: another sentiment-run or remove-drop is working on" in said
    with dg.DagsterInstance.get() as instance:
        assert instance.get_dynamic_partitions(review_drops.name) == []
    assert log.read_text() == "the last run's log\n"  # the one the working run writes


def test_a_sentiment_run_beside_a_training_run_refuses_before_it_shows_a_plan(
    data_dir: Path, capfd: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Nothing of what it would have done is shown, and the last run's log stays as it was."""
    monkeypatch.setenv("DAGSTER_HOME", str(data_dir / "dagster_home"))
    run.prepare()
    log = _last_runs_log()
    with dg.DagsterInstance.get() as instance:
        job = definitions().resolve_job_def("train_and_promote")
        training = instance.create_run_for_job(job, status=dg.DagsterRunStatus.STARTED).run_id
        assert run.main([]) == 1

    printed = capfd.readouterr()
    assert f"Not ingesting or training: run {training} is writing the MLflow store" in printed.err
    assert "Ingesting" not in printed.out and "Training" not in printed.out
    assert log.read_text() == "the last run's log\n"


def test_a_training_run_whose_process_is_gone_is_failed_not_waited_for(
    data_dir: Path, capfd: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A killed sentiment-run leaves its run in progress, holding the MLflow store: the next one
    fails it before it looks for runs writing the store, and goes on."""
    import subprocess

    from dagster._core.events import DagsterEvent, DagsterEventType

    monkeypatch.setenv("DAGSTER_HOME", str(data_dir / "dagster_home"))
    run.prepare()
    gone = subprocess.Popen(["true"])
    gone.wait()
    with dg.DagsterInstance.get() as instance:
        job = definitions().resolve_job_def("train_and_promote")
        left = instance.create_run_for_job(job, status=dg.DagsterRunStatus.STARTED)
        started = DagsterEvent(
            DagsterEventType.RUN_START.value, job_name=left.job_name, pid=gone.pid
        )
        instance.report_dagster_event(started, left.run_id)

        run._refuse_while_store_busy(instance, run.RunConsole(verbose=True))

        assert instance.get_run_by_id(left.run_id).status == dg.DagsterRunStatus.FAILURE
    said = capfd.readouterr().err
    assert f"Run {left.run_id} was left in progress by a process that is gone: failed" in said


def test_a_mistyped_executor_is_refused_before_anything_is_done(
    data_dir: Path, capfd: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The definitions, which read it, load only at the first run: after ingestion had begun."""
    monkeypatch.setenv("DAGSTER_HOME", str(data_dir / "dagster_home"))
    monkeypatch.setenv("SENTIMENT_EXECUTOR", "celry")
    assert run.main([]) == 2
    printed = capfd.readouterr()
    assert printed.err == (
        "sentiment-run: SENTIMENT_EXECUTOR is 'celry': it takes multiprocess (the default) or "
        "celery\n"
    )
    assert printed.out == ""
    assert list((data_dir / "landing").iterdir()) == []
    assert not (data_dir / "dagster_home").exists()


def _last_runs_log() -> Path:
    log = settings.run_log_path()
    log.parent.mkdir()
    log.write_text("the last run's log\n")
    return log


def test_only_drops_stemmed_since_the_dataset_was_built_hold_retraining(
    data_dir: Path, instance
) -> None:
    # A drop the stored dataset already holds was learnt: scoring it first would not make the
    # retraining that follows any less in-sample for it.
    from sentiment_assets.defs.platform.io_manager import ArtifactIOManager
    from sentiment_assets.defs.training.dataset_inputs import unscored, unscored_since_built

    write_sample_drops(data_dir / "landing", drops=2, rows_per_drop=300)
    first, second = "reviews_sample-01", "reviews_sample-02"
    job = definitions().resolve_job_def("ingest_drop")
    read_only = [dg.AssetKey("raw_reviews"), dg.AssetKey("stemmed_corpus")]
    io_manager, both = ArtifactIOManager(), {first, second}
    instance.add_dynamic_partitions("review_drops", sorted(both))
    job.execute_in_process(instance=instance, partition_key=first, asset_selection=read_only)
    definitions().resolve_implicit_global_asset_job_def().execute_in_process(
        instance=instance, asset_selection=[dg.AssetKey("padded_dataset")]
    )
    job.execute_in_process(instance=instance, partition_key=second, asset_selection=read_only)

    assert unscored(instance, sorted(both), io_manager) == [first, second]
    assert unscored_since_built(instance, both, io_manager) == [second]


def test_no_training_run_starts_while_no_drop_of_today_was_read(
    data_dir: Path, instance, capfd
) -> None:
    """A removed drop's stems stay in the event log: they do not count as a drop read."""
    from sentiment_assets.defs.ingestion.partitions import review_drops
    from sentiment_assets_tests.support import ingest

    write_sample_drops(data_dir / "landing", drops=1, rows_per_drop=100)
    ingest(instance, ["reviews_sample-01"])
    (data_dir / "landing" / "reviews_sample-01.csv").unlink()
    instance.delete_dynamic_partition(review_drops.name, "reviews_sample-01")
    (data_dir / "landing" / "bad.csv").write_bytes(b",Review Text,Recommended IND\n0,Ok,2\n")

    assert run.main(["-v"]) == 1
    assert "Nothing to train: no drop has been read yet" in capfd.readouterr().out
    jobs = {r.job_name for r in instance.get_runs()}
    assert jobs == {"ingest_drop"}  # no train_and_promote run


@pytest.mark.slow  # sentiment-run trains twice
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_an_interrupt_stops_sentiment_run_after_the_run_it_reached(
    quick_candidates: Path,
    capfd: pytest.CaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
    signum: signal.Signals,
) -> None:
    """Dagster takes an interrupt over while a run executes (the step in progress fails, or is
    retried); sentiment-run once went on to train and promote, and exited 0."""
    import sentiment_assets.lib.monitoring as monitoring

    assert run.main(["-v"]) == 0  # production version 1, from two drops
    more = write_sample_drops(quick_candidates / "more", drops=3, rows_per_drop=600, seed=11)
    shutil.copyfile(more[2], quick_candidates / "landing" / more[2].name)
    measure = monitoring.measure_live_quality

    def interrupted(*args, **kwargs):
        os.kill(os.getpid(), signum)  # Ctrl-C, or the SIGTERM of a service manager
        return measure(*args, **kwargs)

    monkeypatch.setattr(monitoring, "measure_live_quality", interrupted)
    # pytest-xdist's workers ignore SIGINT; a terminal's process does not.
    handler = signal.signal(signal.SIGINT, signal.default_int_handler)
    alerts = settings.alerts_path()
    before = alerts.read_text() if alerts.exists() else ""
    capfd.readouterr()
    try:
        assert run.main(["-v"]) == 128 + signum
    finally:
        signal.signal(signal.SIGINT, handler)
    said = capfd.readouterr().err
    assert f"sentiment-run: interrupted ({signum.name}); stopped before anything more" in said
    with dg.DagsterInstance.get() as instance:
        trained = instance.fetch_materializations(dg.AssetKey("trained_models"), 10).records
        assert len(trained) == 1  # nothing trained, nothing decided
        runs = instance.get_runs()
        assert not [r for r in runs if r.status in (dg.DagsterRunStatus.STARTED,)]
    assert (alerts.read_text() if alerts.exists() else "") == before  # a stop asked for
    from sentiment_assets.lib.tracking import MlflowStore

    assert MlflowStore.default().production_version_number() == "1"

    monkeypatch.setattr(monitoring, "measure_live_quality", measure)
    assert run.main(["-v"]) == 0  # and the next one goes on from there


def test_the_interrupts_watched_pass_every_signal_on_to_a_wakeup_fd_set_before() -> None:
    """An event loop's wakeup fd (asyncio's) still hears of the signals that came meanwhile."""
    read, write = os.pipe()
    os.set_blocking(read, False)
    os.set_blocking(write, False)
    earlier = signal.set_wakeup_fd(write)
    handler = signal.signal(signal.SIGUSR1, lambda *args: None)
    try:
        with run.Interrupts().watching() as interrupts:
            os.kill(os.getpid(), signal.SIGUSR1)
            interrupts.check()  # not an interrupt
        assert signal.set_wakeup_fd(write) == write  # put back
        assert os.read(read, 16) == bytes([signal.SIGUSR1])
    finally:
        signal.set_wakeup_fd(earlier)
        signal.signal(signal.SIGUSR1, handler)
        os.close(read)
        os.close(write)


def test_sentiment_run_outside_the_main_thread_watches_no_signal() -> None:
    """Signals reach the main thread only, and only it may set their handlers."""
    import threading

    found: list[object] = []

    def watch() -> None:
        try:
            with run.Interrupts().watching() as interrupts:
                interrupts.check()
            found.append("watched nothing")
        except Exception as err:  # set_wakeup_fd: "only works in main thread"
            found.append(err)

    thread = threading.Thread(target=watch)
    thread.start()
    thread.join()
    assert found == ["watched nothing"]


@pytest.mark.slow  # sentiment-run ingests two drops
def test_sigterm_between_runs_stops_a_sentiment_run_started_as_a_background_job(
    quick_candidates: Path, capfd: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A background job of a script starts with SIGINT ignored; Dagster gives SIGTERM SIGINT's
    handler when a run ends, so from the second run on SIGTERM was ignored too."""
    busy_check = run._refuse_while_store_busy
    calls = []

    def terminated_before_the_second_run(*args) -> None:
        calls.append(args)
        if len(calls) == 3:  # main, then before each run: after the first run
            os.kill(os.getpid(), signal.SIGTERM)
        busy_check(*args)

    monkeypatch.setattr(run, "_refuse_while_store_busy", terminated_before_the_second_run)
    handler = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        assert run.main(["-v"]) == 128 + signal.SIGTERM
    finally:
        signal.signal(signal.SIGINT, handler)
    assert "sentiment-run: interrupted (SIGTERM)" in capfd.readouterr().err
