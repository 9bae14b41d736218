"""The scale-out profile end to end: three drops landing at once are ingested in parallel on two
Celery workers, one retraining follows, the alias moves on the MLflow tracking server, and
`mlflow models serve` answers from that registry; no SQLite file is created anywhere."""

from __future__ import annotations

import json
import os
import shutil
import sys
import urllib.request
from pathlib import Path

import pytest

from sentiment_assets.lib.tracking import MODEL_NAME, PRODUCTION_ALIAS, PRODUCTION_URI
from sentiment_assets_tests.processes import free_port, start_group, stop_group, wait_until
from sentiment_assets_tests.scaleout.runs import finished, runs, step_processes, ticks_since
from sentiment_assets_tests.scaleout.stack import REPO, Stack, running_stack

PIPELINE_SECONDS = 600


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Stack:
    with running_stack(tmp_path_factory.mktemp("scaleout")) as stack:
        yield stack


def worker_of(stack: Stack, pid: int) -> str:
    """Which Celery worker a process belongs to: the worker whose process group it is in."""
    group = os.getpgid(pid)
    return next(name for name, p in stack.processes.items() if p.pid == group)


def test_drops_ingest_in_parallel_on_two_workers_then_one_retraining_promotes(
    stack: Stack, real_drops: list[Path]
):
    drops = real_drops[:3]
    landing = stack.root / "data" / "landing"
    for drop in drops:  # all at once: written hidden, then renamed, as the README advises
        shutil.copy(drop, landing / f".{drop.name}")
    for drop in drops:
        (landing / f".{drop.name}").rename(landing / drop.name)

    ingested = wait_until(
        "three ingestion runs",
        lambda: finished(stack, "ingest_drop", 3),
        PIPELINE_SECONDS,
        alive=list(stack.processes.values()),
        interval=2,
    )
    # In parallel: every ingestion started before any had ended ...
    assert max(r["startTime"] for r in ingested) < min(r["endTime"] for r in ingested)
    # ... and their steps ran in the workers' processes, on both workers.
    workers = {
        worker_of(stack, pid)
        for run in ingested
        for pid in step_processes(stack, run["runId"]).values()
    }
    assert workers == {"worker1", "worker2"}

    (training,) = wait_until(
        "one retraining",
        lambda: finished(stack, "train_and_promote", 1),
        PIPELINE_SECONDS,
        alive=list(stack.processes.values()),
        interval=2,
    )
    wait_until(
        "two more ticks of the retraining sensor",
        lambda: ticks_since(stack, "retrain_on_new_data", training["endTime"]) >= 2 or None,
        120,
        alive=list(stack.processes.values()),
        interval=2,
    )  # and still exactly one retraining
    assert len(runs(stack, "train_and_promote")) == 1
    assert {worker_of(stack, pid) for pid in step_processes(stack, training["runId"]).values()} <= {
        "worker1",
        "worker2",
    }

    from mlflow import MlflowClient

    client = MlflowClient(stack.env["MLFLOW_TRACKING_URI"])
    production = client.get_model_version_by_alias(MODEL_NAME, PRODUCTION_ALIAS)
    assert production.run_id

    _serve_from_the_registry(stack)
    _no_sqlite_anywhere(stack)
    _values_in_the_object_store(stack, drops)


def _values_in_the_object_store(stack: Stack, drops: list[Path]) -> None:
    """Every worker reached the values through the S3 store: they are there, and not on disk."""
    from sentiment_assets_tests.scaleout.services import s3_client

    listing = s3_client(stack.env["AWS_ENDPOINT_URL"]).list_objects_v2(
        Bucket="sentiment", Prefix="storage/"
    )
    stored = {key["Key"].split("/")[1] for key in listing.get("Contents", [])}
    assert stored >= {"raw_reviews", "stemmed_corpus", "padded_dataset", "trained_models"}
    assert not (stack.root / "data" / "storage").exists()


def _serve_from_the_registry(stack: Stack) -> None:
    port = free_port()
    command = [sys.executable, "-m", "mlflow", "models", "serve", "-m", PRODUCTION_URI]
    command += ["--env-manager", "local", "-h", "127.0.0.1", "-p", str(port)]
    server = start_group(command, stack.logs / "serve.log", env=stack.env, cwd=stack.root)
    body = json.dumps(
        {"dataframe_split": {"columns": ["review_text"], "data": [["Lovely, fits perfectly"]]}}
    ).encode()

    def answer() -> dict | None:
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/invocations",
            data=body,
            headers={"Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return json.loads(response.read())
        except OSError:
            return None

    try:
        (prediction,) = wait_until("an answer from /invocations", answer, 180, alive=[server])[
            "predictions"
        ]
    finally:
        stop_group(server)
    assert prediction["label"] == 1 and 0.5 < prediction["probability"] <= 1


def _no_sqlite_anywhere(stack: Stack) -> None:
    """Neither Dagster nor MLflow created or wrote a SQLite file, in the stack's folders or the
    repository (where the servers ran). The repository's `data/` is the embedded default's, a
    developer's own (`make run` puts its SQLite stores there): only what changed there since the
    stack started counts."""
    embedded = REPO / "data"
    found = [
        path
        for folder in (stack.root, REPO)
        for path in folder.rglob("*")
        if path.suffix in {".db", ".sqlite", ".sqlite3"}
        and not any(path.is_relative_to(o) for o in (REPO / ".venv", REPO / ".git"))
        and not (path.is_relative_to(embedded) and path.stat().st_mtime < stack.started)
    ]
    assert found == []
    assert not (stack.root / "dagster_home" / "history").exists()
