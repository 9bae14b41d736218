"""Faults while `dg dev` runs the line by itself: a training run killed with its process is
failed by run monitoring, which frees the MLflow pool, and a webhook that holds its alert open
does not keep the next drop from being read and retrained on."""

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from pathlib import Path

import dagster as dg
import pytest
import yaml

from sentiment_assets.cli.platform import prepare
from sentiment_assets.cli.sample_drops import write_sample_drops
from sentiment_assets.defs.platform.concurrency import runs_writing_mlflow
from sentiment_assets.lib import settings
from sentiment_assets_tests.defs.under_dev import (
    TRAINING_SECONDS,
    DagsterDev,
    dagster_dev,
    trained_by_sensor,
)

pytestmark = [pytest.mark.slow, pytest.mark.under_dev]

# Run monitoring looks every 2 s here (60 s in the shipped config), so the wait stays short.
POLL_SECONDS = 2
# Longer than the webhook is held below: the alert sensor may take this long without timing out.
ALERT_DEADLINE_SECONDS = 400
INGESTION_SECONDS = 240


class HeldWebhook:
    """A webhook that answers one byte a second until released: a POST stays open meanwhile."""

    def __init__(self) -> None:
        self.posted: list[dict] = []
        self.open = 0
        self.released = threading.Event()

    @contextmanager
    def serving(self) -> Iterator[str]:
        webhook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                webhook.posted.append(
                    json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                )
                webhook.open += 1
                try:
                    answer = b"HTTP/1.1 204 No Content\r\n" + b"X: " + b"." * 1000 + b"\r\n\r\n"
                    for i, byte in enumerate(answer):
                        if webhook.released.is_set():
                            self.wfile.write(answer[i:])
                            break
                        self.wfile.write(bytes([byte]))
                        self.wfile.flush()
                        time.sleep(1)
                except (BrokenPipeError, ConnectionResetError):
                    pass
                finally:
                    webhook.open -= 1

            def log_message(self, *args: object) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
        try:
            yield f"http://127.0.0.1:{server.server_port}/hook"
        finally:
            self.released.set()
            server.shutdown()
            server.server_close()


def test_a_killed_training_run_is_failed_by_monitoring_and_the_next_drop_retrains(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    landing, later = tmp_path / "landing", tmp_path / "later"
    write_sample_drops(later, drops=2, rows_per_drop=500)
    landing.mkdir()
    shutil.move(later / "reviews_sample-01.csv", landing)
    home = tmp_path / "dagster_home"
    home.mkdir()
    config = yaml.safe_load(
        resources.files("sentiment_assets").joinpath("dagster.yaml").read_text()
    )
    config["run_monitoring"]["poll_interval_seconds"] = POLL_SECONDS
    (home / "dagster.yaml").write_text(yaml.safe_dump(config))
    webhook = HeldWebhook()
    for name, value in {
        "SENTIMENT_DATA_DIR": str(tmp_path),
        "DAGSTER_HOME": str(home),
        "SENTIMENT_ALERT_WEBHOOK_TIMEOUT": str(ALERT_DEADLINE_SECONDS),
        # Dagster gives up on a sensor evaluation after 60 s by default; here the alert sensor
        # may hold its POST far longer, so only the sensor threads can keep the drop sensor going.
        "DAGSTER_SENSOR_GRPC_TIMEOUT_SECONDS": str(ALERT_DEADLINE_SECONDS + 60),
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)

    with webhook.serving() as url, dg.DagsterInstance.get() as instance:
        monkeypatch.setenv("SENTIMENT_ALERT_WEBHOOK", url)
        prepare()
        with dagster_dev(tmp_path / "dagster_dev.log") as dagster:
            # The line runs by itself: the first drop is read and a retraining follows.
            first = dagster.wait_for(
                "first retraining", lambda: trained_by_sensor(instance, after=0), TRAINING_SECONDS
            )

            # `sentiment-run` trains beside it, and is killed mid-training (out of memory, say).
            killed = _kill_mid_training(dagster, instance, tmp_path / "sentiment_run.log")
            failed = dagster.wait_for(
                "the killed run marked failed",
                lambda: _failure_message(instance, killed),
                POLL_SECONDS * 30,
            )
            assert "the process that ran it (pid " in failed and "is gone" in failed
            assert runs_writing_mlflow(instance) == []  # the MLflow pool is free again

            # Its alert goes to a webhook that holds the POST open ...
            dagster.wait_for("the alert POST", lambda: webhook.open or None, 120)
            # ... and the next drop is read all the same, while the POST is still open.
            shutil.move(later / "reviews_sample-02.csv", landing)
            dagster.wait_for(
                "the second drop read",
                lambda: _ingested(instance, "reviews_sample-02"),
                INGESTION_SECONDS,
            )
            assert webhook.open == 1, "the drop was read only after the webhook let go"
            webhook.released.set()

            # The new drop retrains as usual: nothing waits for the killed run any more.
            dagster.wait_for(
                "retraining after the kill",
                lambda: trained_by_sensor(instance, after=first),
                TRAINING_SECONDS,
            )

    lines = [json.loads(line) for line in settings.alerts_path().read_text().splitlines()]
    assert [a["run_id"] for a in lines] == [killed]
    assert "is gone" in lines[0]["error"]
    assert {a["run_id"] for a in webhook.posted} == {killed}


def _kill_mid_training(dagster: DagsterDev, instance: dg.DagsterInstance, log: Path) -> str:
    """Start `sentiment-run`, SIGKILL its process group once it trains; the run's id."""
    with log.open("wb") as output:
        process = subprocess.Popen(
            [str(Path(sys.executable).parent / "sentiment-run")],
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        run_id = dagster.wait_for(
            "sentiment-run training", lambda: _training_in_process(instance), TRAINING_SECONDS
        )
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    return run_id


def _training_in_process(instance: dg.DagsterInstance) -> str | None:
    """The id of a training run not launched by a sensor once its `trained_models` step runs."""
    for run in instance.get_runs(
        dg.RunsFilter(job_name="train_and_promote", statuses=[dg.DagsterRunStatus.STARTED])
    ):
        if "dagster/sensor_name" in run.tags:
            continue
        steps = instance.get_records_for_run(
            run.run_id, of_type=dg.DagsterEventType.STEP_START
        ).records
        if any(r.event_log_entry.step_key == "trained_models" for r in steps):
            return run.run_id
    return None


def _failure_message(instance: dg.DagsterInstance, run_id: str) -> str | None:
    run = instance.get_run_by_id(run_id)
    if run is None or run.status != dg.DagsterRunStatus.FAILURE:
        return None
    failures = instance.get_records_for_run(run_id, of_type=dg.DagsterEventType.RUN_FAILURE).records
    event = failures[-1].event_log_entry.dagster_event if failures else None
    return (event.message or "") if event else ""


def _ingested(instance: dg.DagsterInstance, key: str) -> bool | None:
    runs = instance.get_runs(dg.RunsFilter(job_name="ingest_drop", tags={"dagster/partition": key}))
    assert all(r.status != dg.DagsterRunStatus.FAILURE for r in runs), key
    return True if any(r.status == dg.DagsterRunStatus.SUCCESS for r in runs) else None
