"""`dg dev` for tests that watch the line run by itself: the server in a process group of its
own, its GraphQL API, and what its daemon has trained so far."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import pytest

from sentiment_assets_tests.processes import free_port, graphql, start_group, stop_group

if TYPE_CHECKING:  # imported where used: test_ui imports this module and loads no Dagster itself
    import dagster as dg

T = TypeVar("T")

REPO = Path(__file__).resolve().parents[2]
STARTUP_SECONDS = 120
# The longest wait for a sensor-launched retraining to succeed (`trained_by_sensor`).
TRAINING_SECONDS = 600


class DagsterDev:
    """A running `dg dev`: its GraphQL API and the log it writes."""

    def __init__(self, url: str, log: Path, process: subprocess.Popen) -> None:
        self.url, self.log, self.process = url, log, process

    def graphql(self, query: str, **variables: Any) -> dict[str, Any]:
        return graphql(self.url, query, **variables)

    def log_tail(self, lines: int = 40) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def wait_for(self, what: str, found: Callable[[], T | None], timeout: float) -> T:
        """Poll until `found` returns something; fail with the log's tail after `timeout` s."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(
                    f"dg dev exited ({self.process.returncode}) while waiting for "
                    f"{what}\n--- dg dev log ---\n{self.log_tail()}"
                )
            result = found()
            if result is not None:
                return result
            time.sleep(2)
        pytest.fail(f"no {what} within {timeout:.0f} s\n--- dg dev log ---\n{self.log_tail()}")


@contextmanager
def dagster_dev(log: Path) -> Iterator[DagsterDev]:
    """`dg dev` (webserver, daemon, code server) in a process group of its own, on a free
    port, with the current environment; the whole group is stopped afterwards."""
    venv_bin = Path(sys.executable).parent
    port = free_port()
    env = {
        **os.environ,
        "PATH": f"{venv_bin}{os.pathsep}{os.environ.get('PATH', '')}",
        "TF_CPP_MIN_LOG_LEVEL": "2",
    }
    # `dg dev`, as `make dev` runs it: the definitions from [tool.dg] in pyproject.toml.
    command = [str(venv_bin / "dg"), "dev", "-h", "127.0.0.1", "-p", str(port)]
    process = start_group(command, log, env=env, cwd=REPO)
    dagster = DagsterDev(f"http://127.0.0.1:{port}", log, process)
    try:
        dagster.wait_for("answer from /server_info", lambda: server_info(dagster), STARTUP_SECONDS)
        yield dagster
    finally:
        stop_group(process)


def server_info(dagster: DagsterDev) -> dict[str, Any] | None:
    """What /server_info answers; None while the webserver does not answer yet."""
    try:
        with urllib.request.urlopen(f"{dagster.url}/server_info", timeout=5) as response:
            return json.load(response)
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return None


def trained_by_sensor(instance: dg.DagsterInstance, after: float) -> float | None:
    """The start of a sensor-launched retraining that succeeded after `after`, if any; a failed
    one ends the test."""
    import dagster as dg

    runs = instance.get_run_records(
        dg.RunsFilter(
            job_name="train_and_promote", tags={"dagster/sensor_name": "retrain_on_new_data"}
        )
    )
    for record in runs:
        if (record.start_time or 0) <= after:
            continue
        assert record.dagster_run.status != dg.DagsterRunStatus.FAILURE, record.dagster_run.run_id
        if record.dagster_run.status == dg.DagsterRunStatus.SUCCESS:
            return record.start_time
    return None
