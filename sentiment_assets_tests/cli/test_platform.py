"""`sentiment-platform prepare` (owner-only folders, values of the old layout moved) and
`sentiment-platform remove-drop`."""

import shutil
import stat
from pathlib import Path

import dagster as dg
import pandas as pd
import pytest

from sentiment_assets.cli import run
from sentiment_assets.cli.platform import main
from sentiment_assets.cli.sample_drops import write_sample_drops
from sentiment_assets.defs.ingestion.partitions import review_drops
from sentiment_assets.defs.platform.io_manager import ArtifactIOManager
from sentiment_assets.defs.training.config import TrainingConfig
from sentiment_assets.lib.storage.store import Slot
from sentiment_assets.lib.storage.values import read_value
from sentiment_assets_tests.processes import free_port
from sentiment_assets_tests.support import (
    QUICK_TRAINING,
    definitions,
    ingest,
    retrain_sensor,
    train,
)

DROPPED = ("raw_reviews", "stemmed_corpus")


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_prepare_makes_the_data_and_mlflow_folders_owner_only(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DAGSTER_HOME", str(data_dir / "dagster_home"))
    data_dir.chmod(0o755)
    # A value stored by the layout before versions: prepare moves it into the versioned store.
    old = data_dir / "storage" / "raw_reviews" / "reviews_old"
    old.mkdir(parents=True)
    (old / "kind").write_text("dataframe")
    pd.DataFrame({"a": [1, 2]}).to_parquet(old / "data.parquet")

    assert main(["prepare"]) == 0

    assert _mode(data_dir) == 0o700
    assert _mode(data_dir / "mlflow") == 0o700
    stored = ArtifactIOManager().store().read(Slot("raw_reviews", "reviews_old"), read_value)
    assert stored["a"].tolist() == [1, 2]
    assert not old.exists()


def test_prepare_makes_the_mlflow_store_with_every_artifact_beside_it(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Made by whichever MLflow client touched it first (a step's query), the store put its
    Default experiment's artifacts in `mlruns/0` of the folder sentiment-run was started in."""
    from mlflow import MlflowClient

    monkeypatch.setenv("DAGSTER_HOME", str(data_dir / "dagster_home"))
    elsewhere = tmp_path_factory.mktemp("elsewhere")
    monkeypatch.chdir(elsewhere)

    assert main(["prepare"]) == 0

    default = MlflowClient(f"sqlite:///{data_dir / 'mlflow' / 'mlflow.db'}").get_experiment("0")
    assert Path(default.artifact_location) == data_dir / "mlflow" / "artifacts" / "0"
    assert not (elsewhere / "mlruns").exists()


@pytest.fixture
def two_drops(data_dir: Path, instance) -> dg.DagsterInstance:
    write_sample_drops(data_dir / "landing", drops=2, rows_per_drop=300)
    assert all(
        r.success for r in ingest(instance, ["reviews_sample-01", "reviews_sample-02"]).values()
    )
    return instance


def _versions(asset: str, key: str) -> list[str]:
    return ArtifactIOManager().store().versions(Slot(asset, key))


def test_remove_drop_deletes_its_partition_and_values_and_nothing_else(
    two_drops: dg.DagsterInstance, data_dir: Path, capsys: pytest.CaptureFixture
) -> None:
    instance = two_drops
    assert main(["remove-drop", "reviews_sample-03"]) == 2
    assert "No drop 'reviews_sample-03': nothing removed" in capsys.readouterr().err

    # Its file is still in the landing folder: removing it now would not last.
    assert main(["remove-drop", "reviews_sample-02"]) == 2
    assert "move it out of the landing folder first" in capsys.readouterr().err
    assert all(_versions(asset, "reviews_sample-02") for asset in DROPPED)

    assert _dataset_drops(instance) == ["reviews_sample-01", "reviews_sample-02"]
    assert isinstance(retrain_sensor(instance), dg.SkipReason)
    shutil.move(data_dir / "landing" / "reviews_sample-02.csv", data_dir / "elsewhere.csv")
    assert main(["remove-drop", "reviews_sample-02"]) == 0
    said = capsys.readouterr().out
    assert "Removed drop 'reviews_sample-02'" in said
    assert "raw_reviews (1 stored version), stemmed_corpus (1 stored version)" in said
    assert "The dataset and candidates are built again without it" in said

    assert instance.get_dynamic_partitions(review_drops.name) == ["reviews_sample-01"]
    for asset in DROPPED:
        assert _versions(asset, "reviews_sample-02") == []
        assert len(_versions(asset, "reviews_sample-01")) == 1
    # The dataset still holds its reviews: the retraining sensor and sentiment-run both see that.
    request = retrain_sensor(instance)
    assert isinstance(request, dg.RunRequest)
    assert request.run_key.startswith("removed-reviews_sample-02-")
    assert run.training_wave(instance, TrainingConfig()) == {
        dg.AssetKey("padded_dataset"): "holds the reviews of removed drop(s) reviews_sample-02"
    }
    # The next dataset is built from the drops left, without a complaint about the removed one.
    assert _dataset_drops(instance) == ["reviews_sample-01"]
    assert isinstance(retrain_sensor(instance), dg.SkipReason)
    assert dg.AssetKey("padded_dataset") not in run.training_wave(instance, TrainingConfig())

    # Landed again, the same file is a drop again (the event log still holds its old reads).
    shutil.move(data_dir / "elsewhere.csv", data_dir / "landing" / "reviews_sample-02.csv")
    assert run.ingest(instance) == ([], [])
    assert "reviews_sample-02" in instance.get_dynamic_partitions(review_drops.name)
    assert all(len(_versions(asset, "reviews_sample-02")) == 1 for asset in DROPPED)


def _dataset_drops(instance: dg.DagsterInstance) -> list[str]:
    """Build the dataset and decide on it (a quick training, as the retraining sensor's would):
    the drops it was built from."""
    built = train(instance, **QUICK_TRAINING)
    # Decided, whether or not the quality gate passes a model of 300 reviews afterwards.
    assert built.asset_materializations_for_node("production_model")
    return built.asset_materializations_for_node("padded_dataset")[0].metadata["drops"].value


def test_a_quarantined_drop_stays_until_it_is_removed(
    two_drops: dg.DagsterInstance, data_dir: Path, capsys: pytest.CaptureFixture
) -> None:
    (data_dir / "landing" / "broken.csv").write_bytes(b",Review Text\n0,Lovely\n")
    assert not ingest(two_drops, ["broken"])["broken"].success
    assert (data_dir / "quarantine" / "broken.csv").exists()
    assert "broken" in two_drops.get_dynamic_partitions(review_drops.name)

    assert main(["remove-drop", "broken"]) == 0
    said = capsys.readouterr().out
    assert "Removed drop 'broken': its partition of review_drops (nothing of it was stored)" in said
    assert "The stored dataset does not hold it, so nothing is trained again." in said
    assert "broken" not in two_drops.get_dynamic_partitions(review_drops.name)
    quarantine = data_dir / "quarantine"
    assert (
        "Its quarantined file and note are yours to delete: broken.csv, broken.csv.error.txt in "
        f"{quarantine}"
    ) in said
    # A drop that was never quarantined is told nothing of the others' files there.
    shutil.move(data_dir / "landing" / "reviews_sample-02.csv", data_dir / "elsewhere.csv")
    assert main(["remove-drop", "reviews_sample-02"]) == 0
    assert "quarantine" not in capsys.readouterr().out


def test_remove_drop_removes_what_a_partition_deleted_in_the_ui_left_stored(
    two_drops: dg.DagsterInstance, data_dir: Path, capsys: pytest.CaptureFixture
) -> None:
    """The UI's "delete partition" removes the key only: a review found the reviews left on disk
    and remove-drop answering "No drop"."""
    two_drops.delete_dynamic_partition(review_drops.name, "reviews_sample-02")
    assert main(["remove-drop", "reviews_sample-02"]) == 2  # its file is still landed
    assert "move it out of the landing folder first" in capsys.readouterr().err
    shutil.move(data_dir / "landing" / "reviews_sample-02.csv", data_dir / "elsewhere.csv")

    assert main(["remove-drop", "reviews_sample-02"]) == 0
    said = capsys.readouterr().out
    assert (
        "Removed drop 'reviews_sample-02': the values its partition (deleted before, in the "
        "Dagster UI say) left: live_quality (1 stored version), raw_reviews (1 stored version), "
        "stemmed_corpus (1 stored version)"
    ) in said
    for asset in DROPPED:
        assert _versions(asset, "reviews_sample-02") == []
        assert len(_versions(asset, "reviews_sample-01")) == 1
    assert main(["remove-drop", "reviews_sample-02"]) == 2  # nothing left of it now
    assert "No drop 'reviews_sample-02': nothing removed" in capsys.readouterr().err


def test_remove_drop_waits_for_runs_in_flight(
    two_drops: dg.DagsterInstance, data_dir: Path, capsys: pytest.CaptureFixture
) -> None:
    shutil.move(data_dir / "landing" / "reviews_sample-02.csv", data_dir / "elsewhere.csv")
    two_drops.create_run_for_job(
        definitions().resolve_job_def("train_and_promote"), status=dg.DagsterRunStatus.STARTED
    )

    assert main(["remove-drop", "reviews_sample-02"]) == 1
    assert "1 run(s) queued or in progress" in capsys.readouterr().err
    assert "reviews_sample-02" in two_drops.get_dynamic_partitions(review_drops.name)
    assert all(_versions(asset, "reviews_sample-02") for asset in DROPPED)


def test_serve_without_a_production_model_says_so_and_sets_nothing_up(
    data_dir: Path, capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("os.execve", lambda *args: pytest.fail("the server was started"))
    assert main(["serve"]) == 3
    assert capsys.readouterr().err.strip() == (
        f"sentiment-platform serve: no production model in the MLflow store at sqlite:///"
        f"{data_dir / 'mlflow' / 'mlflow.db'}; materialize production_model first (make run)"
    )
    # No sample drops, no MLflow store, no Dagster instance: only the fixture's empty landing.
    assert [p.name for p in data_dir.iterdir()] == ["landing"]
    assert list((data_dir / "landing").iterdir()) == []


@pytest.mark.parametrize(("flags", "tool"), [([], "dg"), (["--dagster-dev"], "dagster")])
def test_dev_starts_dg_dev_on_the_platforms_instance(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch, flags: list[str], tool: str
) -> None:
    """`dg dev` by default, as Dagster 1.13 would have it (`dagster dev` warns it is superseded)."""
    import sys

    started: list[tuple[str, list[str], dict[str, str]]] = []
    monkeypatch.setattr("os.execve", lambda *args: started.append(args))
    monkeypatch.delenv("DAGSTER_HOME", raising=False)  # main sets it; put back afterwards
    port = free_port()
    assert main(["dev", "--port", str(port), *flags]) == 0
    [(program, argv, env)] = started
    assert program == str(Path(sys.executable).parent / tool)
    assert argv[1:6] == ["dev", "-h", "127.0.0.1", "-p", str(port)]
    # On the project's own definitions from whatever folder it runs in (`dg dev` looked for a
    # project in the working folder and failed anywhere else).
    repository = Path(__file__).resolve().parents[2]
    assert argv[6:] == (
        ["--target-path", str(repository)]
        if tool == "dg"
        else ["-w", str(repository / "workspace.yaml")]
    )
    assert env["DAGSTER_HOME"] == str(data_dir / "dagster_home")


def test_dev_started_as_a_background_job_can_be_stopped_by_sigterm(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A background job of a script starts with SIGINT ignored, exec keeps it, and Dagster's
    servers give SIGTERM SIGINT's handler: `kill` left them all running."""
    import signal

    at_exec: list[object] = []
    monkeypatch.setattr("os.execve", lambda *args: at_exec.append(signal.getsignal(signal.SIGINT)))
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    handler = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        assert main(["dev", "--port", str(free_port())]) == 0
    finally:
        signal.signal(signal.SIGINT, handler)
    assert at_exec == [signal.SIG_DFL]


def test_remove_drop_is_refused_while_sentiment_run_works(
    two_drops: dg.DagsterInstance, data_dir: Path, capsys: pytest.CaptureFixture
) -> None:
    from sentiment_assets.cli.platform import working_alone

    shutil.move(data_dir / "landing" / "reviews_sample-02.csv", data_dir / "elsewhere.csv")
    with working_alone():
        assert main(["remove-drop", "reviews_sample-02"]) == 1

    assert "another sentiment-run or remove-drop is working on" in capsys.readouterr().err
    assert "reviews_sample-02" in two_drops.get_dynamic_partitions(review_drops.name)
    assert all(_versions(asset, "reviews_sample-02") for asset in DROPPED)


def test_prepare_waits_while_another_process_sets_the_instance_up(data_dir: Path) -> None:
    # Two processes migrating a fresh SQLite instance at once can leave it with two schema heads.
    import os
    import subprocess
    import sys
    import time

    from sentiment_assets.lib.storage.files import locked

    home = data_dir / "dagster_home"
    home.mkdir()
    with locked(home / "prepare.lock"):
        child = subprocess.Popen(
            [str(Path(sys.executable).with_name("sentiment-platform")), "prepare"],
            stdout=subprocess.DEVNULL,
            # Not a DAGSTER_HOME an earlier test of this worker left set: it would prepare that.
            env={**os.environ, "DAGSTER_HOME": str(home)},
        )
        deadline = time.monotonic() + 60
        while f"-> FLOCK  ADVISORY  WRITE {child.pid} " not in Path("/proc/locks").read_text():
            assert child.poll() is None and time.monotonic() < deadline, "it did not wait"
            time.sleep(0.05)
        assert not (home / "history").exists()
    assert child.wait(timeout=60) == 0
    assert (home / "history" / "runs.db").exists()


def test_only_sentiment_run_writes_sample_drops(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    """The UIs' commands set the instance up without them: a team that starts `make dev` and then
    copies its own export in must not train on synthetic reviews beside it. A `sentiment-run`
    writes them once it may go on, not when it refuses."""
    from sentiment_assets.cli.platform import working_alone

    landing = data_dir / "landing"
    landing.rmdir()
    monkeypatch.setenv("DAGSTER_HOME", str(data_dir / "dagster_home"))
    assert main(["prepare"]) == 0
    assert list(landing.iterdir()) == []
    assert f"The landing folder {landing} is empty: copy a review export" in capsys.readouterr().out

    with working_alone():  # another sentiment-run is at work
        assert run.main([]) == 1
    assert list(landing.iterdir()) == []

    monkeypatch.setattr(run, "_run", lambda *args: 0)  # what it would do next
    assert run.main([]) == 0
    assert sorted(p.name for p in landing.iterdir()) == [
        f"reviews_sample-0{n}.csv" for n in (1, 2, 3)
    ]


@pytest.mark.parametrize(("command", "setting"), [("serve", "SERVE_PORT"), ("dev", "DAGSTER_PORT")])
def test_a_server_on_a_port_in_use_is_one_line_naming_the_port(
    data_dir: Path, capsys, monkeypatch: pytest.MonkeyPatch, command: str, setting: str
) -> None:
    import socket

    monkeypatch.setattr("os.execve", lambda *args: pytest.fail("the server was started"))
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main([command, "--port", str(port)]) == 2
    assert capsys.readouterr().err.strip() == (
        f"sentiment-platform {command}: port {port} on 127.0.0.1 is in use (another server, or "
        f"an earlier one still running); choose another with --port (make {command} {setting}=...)"
    )


def test_a_port_out_of_range_is_a_usage_error(capsys) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["serve", "--port", "70000"])
    assert exit_.value.code == 2
    assert "argument --port: 70000 is not a port (1 to 65535)" in capsys.readouterr().err


@pytest.mark.slow  # starts the MLflow UI
def test_what_a_ui_command_says_before_the_server_starts_reaches_a_log(data_dir: Path) -> None:
    """Written to a file (make dev > log), not a terminal: exec drops what Python still buffers."""
    import os
    import socket
    import sys
    import time

    from sentiment_assets_tests.processes import free_port, start_group, stop_group

    log, port = data_dir / "ui.log", free_port()
    command = [str(Path(sys.executable).with_name("sentiment-platform")), "mlflow-ui"]
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}  # as a shell has it
    ui = start_group([*command, "--port", str(port)], log, env=env)
    try:
        deadline = time.monotonic() + 120
        while True:  # until the server answers: the command's own lines come before it
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    break
            assert ui.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.5)
    finally:
        stop_group(ui)
    assert f"The landing folder {data_dir / 'landing'} is empty" in log.read_text()
