"""`sentiment-run` as a person sees it, run as the command on sample drops: progress lines and a
closing summary; the libraries' output in the run's log file unless -v."""

import os
import re
import subprocess
import sys
from importlib import import_module
from importlib.metadata import entry_points
from pathlib import Path

import pytest

from sentiment_assets.cli.sample_drops import write_sample_drops
from sentiment_assets.model.candidates import DEFAULT_CANDIDATES

# What the libraries print that a person should not have to read: Dagster's event lines,
# TensorFlow's start-up lines (absl), MLflow's warning and download bars, Dagster's beta warnings.
NOISE = (
    " - DEBUG - ",
    "oneDNN",
    "absl::InitializeLog",
    "Downloading artifacts",
    "BetaWarning",
)
KERAS = [c["name"] for c in DEFAULT_CANDIDATES if c["family"] in ("seed-keras", "ngram-mlp")]


def _sentiment_run(data_dir: Path, *args: str) -> subprocess.CompletedProcess:
    """The command, piped (no terminal), with the environment `make run` would not add."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k
        not in {
            "DAGSTER_HOME",
            "MLFLOW_TRACKING_URI",
            "TF_CPP_MIN_LOG_LEVEL",
            "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR",
        }
    }
    env["SENTIMENT_DATA_DIR"] = str(data_dir)
    command = [str(Path(sys.executable).parent / "sentiment-run"), "--epochs", "1", *args]
    return subprocess.run(command, env=env, capture_output=True, text=True, check=False)


def _assert_progress_and_summary(out: str) -> None:
    assert "Ingesting reviews_sample-01.csv: read as drop 'reviews_sample-01'" in out
    assert "✓ raw_reviews (reviews_sample-01): 300 rows" in out
    assert re.search(r"✓ stemmed_corpus \(reviews_sample-01\): \d+ rows", out)
    assert re.search(r"✓ padded_dataset: \d+ rows", out)
    for name in KERAS:
        assert re.search(rf"{name}: epoch 1, val_accuracy 0\.\d{{4}}, val_loss \d\.\d{{4}}", out)
    # The closing table: a row per candidate with its validation and test figures.
    assert "val ROC AUC" in out and "test ROC AUC" in out
    for candidate in DEFAULT_CANDIDATES:
        number = r"\s+(0\.\d{4}|1\.0000)"
        row = rf"\n\s*{candidate['name']}{number * 4}\s"
        assert re.search(row, out), f"no table row for {candidate['name']}"
    assert re.search(r"Decision: promoted: no production model yet", out)
    assert "Production: models:/customer-sentiment-analysis@production = version 1" in out
    assert re.search(r"Dagster UI \(make dev\): http://127\.0\.0\.1:3000/runs/[0-9a-f-]{36}", out)
    assert re.search(r"MLflow run of \S+ \(make mlflow-ui\): http://\S+/runs/[0-9a-f]{32}", out)
    assert re.search(r"MLflow run of the training \(make mlflow-ui\): http://\S+/runs/\w{32}", out)


@pytest.mark.slow  # the command itself with the default line-up, Keras networks included
def test_a_run_shows_progress_and_outcome_and_keeps_library_output_in_its_log(
    data_dir: Path,
) -> None:
    write_sample_drops(data_dir / "landing", drops=2, rows_per_drop=300)

    run = _sentiment_run(data_dir)

    assert run.returncode == 0, run.stdout + run.stderr
    _assert_progress_and_summary(run.stdout)
    assert "\x1b[" not in run.stdout  # plain lines without a terminal
    for noise in NOISE:
        assert noise not in run.stdout + run.stderr, noise
    assert run.stderr == ""
    # Hidden, not lost: the log file the summary names holds it.
    log = data_dir / "logs" / "sentiment-run.log"
    assert f"What the libraries printed: {log} (-v shows it here)" in run.stdout
    kept = log.read_text()
    assert " - DEBUG - " in kept and "Validating input example against model signature" in kept


@pytest.mark.slow  # the command in a process of its own
def test_verbose_lets_the_library_output_through(data_dir: Path) -> None:
    # Too few reviews to train on: the run stops at padded_dataset, which keeps this test short.
    write_sample_drops(data_dir / "landing", drops=1, rows_per_drop=12)

    run = _sentiment_run(data_dir, "-v")

    assert run.returncode == 1
    assert "✓ raw_reviews (reviews_sample-01): 12 rows" in run.stdout
    assert " - DEBUG - " in run.stderr and "STEP_START" in run.stderr
    assert "✗ padded_dataset failed: too few reviews to train on" in run.stderr
    assert "Training failed" in run.stderr
    assert re.search(
        r"Dagster UI \(make dev\): http://127\.0\.0\.1:3000/runs/[0-9a-f-]{36}", run.stdout
    )
    assert "What the libraries printed" not in run.stdout


@pytest.mark.slow  # a fresh interpreter
def test_a_command_exits_with_its_status_and_leaves_nothing_for_shutdowns_collections() -> None:
    # atexit handlers run last-registered first: this one sees what shutdown will collect.
    code = (
        "import atexit, gc; from sentiment_assets.cli import finish; "
        "atexit.register(lambda: print('frozen', gc.get_freeze_count() > 0, flush=True)); "
        "finish(3)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert (done.returncode, done.stdout.strip()) == (3, "frozen True")


def test_the_installed_commands_exit_through_finish(monkeypatch) -> None:
    import gc

    scripts = {e.name: e.value for e in entry_points(group="console_scripts")}
    for command in ("sentiment-run", "sentiment-predict", "sentiment-platform"):
        module, function = scripts[command].split(":")
        assert function == "cli", scripts[command]
        entry = import_module(module)
        monkeypatch.setattr(entry, "main", lambda: 3)
        try:
            with pytest.raises(SystemExit) as exited:
                entry.cli()
            # The exit status is main's, and the collector was kept off the objects (`finish`).
            assert exited.value.code == 3 and gc.get_freeze_count() > 0, command
        finally:
            gc.unfreeze()


def test_a_failed_step_is_shown_once_not_again_for_each_step_it_held_back(capfd) -> None:
    import logging

    from dagster._core.events.log import EventLogEntry

    from sentiment_assets.cli.console import RunConsole

    def line(message: str, level: int = logging.ERROR) -> EventLogEntry:
        return EventLogEntry(
            error_info=None,
            level=level,
            user_message=message,
            run_id="run",
            timestamp=0.0,
            step_key="step",
            job_name="ingest_drop",
            dagster_event=None,
        )

    console = RunConsole(verbose=True)
    held_back = "Dependencies for step raw_reviews_valid_reviews failed: ['raw_reviews']. "
    console._show_event(line(held_back + "Not executing."))
    console._show_event(line("reviews_sample-03: no production model yet", logging.WARNING))
    shown = capfd.readouterr()  # the console writes to copies of the file descriptors
    assert "Dependencies" not in shown.out + shown.err
    assert "! reviews_sample-03: no production model yet" in shown.out


def test_a_failed_check_is_shown_with_what_it_found(capfd) -> None:
    import logging

    import dagster as dg
    from dagster._core.events import DagsterEvent, DagsterEventType
    from dagster._core.events.log import EventLogEntry

    from sentiment_assets.cli.console import RunConsole

    found = "the drop's new content holds 2,000 reviews, 33% of the 6,000 it replaces"
    evaluation = dg.AssetCheckEvaluation(
        asset_key=dg.AssetKey("raw_reviews"),
        check_name="replaced_drop_size",
        passed=False,
        description=found,
    )
    event = DagsterEvent(
        event_type_value=DagsterEventType.ASSET_CHECK_EVALUATION.value,
        job_name="ingest_drop",
        event_specific_data=evaluation,
    )
    RunConsole(verbose=True)._show_event(
        EventLogEntry(
            error_info=None,
            level=logging.WARNING,
            user_message="",
            run_id="run",
            timestamp=0.0,
            step_key="raw_reviews_replaced_drop_size",
            job_name="ingest_drop",
            dagster_event=event,
        )
    )
    out = " ".join(capfd.readouterr().out.split())  # as one line, whatever the terminal's width
    assert f"! check raw_reviews replaced_drop_size failed: {found}" in out
