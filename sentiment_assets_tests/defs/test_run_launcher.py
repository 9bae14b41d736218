"""The run launcher's health check: a run whose process died is told apart from one that runs."""

import os
import signal
import subprocess
import sys
import textwrap
import time
from importlib import resources
from pathlib import Path

import dagster as dg
import pytest

from sentiment_assets.defs.platform.run_launcher import (
    GONE,
    NEVER_STARTED,
    LocalRunLauncher,
    fail_dead_runs,
    process_alive,
)


def test_a_process_is_alive_until_it_ends_and_a_reused_id_is_not_it():
    import psutil

    before = time.time() - 5
    child = subprocess.Popen(["sleep", "60"])
    try:
        assert process_alive(child.pid, started_by=time.time())
        assert not process_alive(child.pid, started_by=before)  # created after: another process
        os.kill(child.pid, signal.SIGKILL)
        while psutil.Process(child.pid).status() != psutil.STATUS_ZOMBIE:
            time.sleep(0.05)
        assert not process_alive(child.pid, started_by=time.time())  # dead, not yet waited for
    finally:
        child.kill()
        child.wait()
    assert not process_alive(child.pid, started_by=time.time())


STUCK_RUN = textwrap.dedent(
    """
    import time
    import dagster as dg

    @dg.op
    def wait() -> None:
        time.sleep(600)

    @dg.job
    def stuck():
        wait()

    with dg.DagsterInstance.get() as instance:
        stuck.execute_in_process(instance=instance)
    """
)


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """A DAGSTER_HOME with the project's instance config."""
    home = tmp_path / "dagster_home"
    home.mkdir()
    shipped = resources.files("sentiment_assets").joinpath("dagster.yaml").read_text()
    (home / "dagster.yaml").write_text(shipped)
    return home


@pytest.mark.slow  # kills a run process
def test_a_run_whose_process_was_killed_is_reported_failed(home: Path):
    with dg.DagsterInstance.from_config(str(home)) as instance:
        assert isinstance(instance.run_launcher, LocalRunLauncher)
        assert instance.run_monitoring_enabled
        child = subprocess.Popen(
            [sys.executable, "-c", STUCK_RUN],
            env={**os.environ, "DAGSTER_HOME": str(home)},
            start_new_session=True,
        )
        try:
            run = _wait_for_started_run(instance, child)
            assert instance.run_launcher.check_run_worker_health(run).status.value == "RUNNING"
            assert fail_dead_runs(instance) == []
            os.killpg(child.pid, signal.SIGKILL)  # say, out of memory
            child.wait()
            health = instance.run_launcher.check_run_worker_health(run)
        finally:
            if child.poll() is None:
                os.killpg(child.pid, signal.SIGKILL)
                child.wait()
        assert health.status.value == "FAILED"
        assert health.msg == (
            f"the process that ran it (pid {child.pid}) is gone: killed, or out of memory"
        )
        assert instance.get_run_by_id(run.run_id).status == dg.DagsterRunStatus.STARTED
        # Without the daemon's run monitoring (sentiment-run, remove-drop), they fail it.
        assert fail_dead_runs(instance) == [(run.run_id, GONE)]
        assert instance.get_run_by_id(run.run_id).status == dg.DagsterRunStatus.FAILURE
        assert fail_dead_runs(instance) == []


def test_a_run_created_and_never_started_is_failed_after_the_start_timeout(home: Path):
    import time

    with dg.DagsterInstance.from_config(str(home)) as instance:
        run = instance.create_run_for_job(
            dg.GraphDefinition("nothing").to_job(), status=dg.DagsterRunStatus.NOT_STARTED
        )
        assert fail_dead_runs(instance) == []  # just created: its process may start it yet
        later = time.time() + instance.run_monitoring_start_timeout_seconds + 1
        assert fail_dead_runs(instance, now=later) == [(run.run_id, NEVER_STARTED)]
        assert instance.get_run_by_id(run.run_id).status == dg.DagsterRunStatus.FAILURE


def test_a_run_that_ended_while_its_health_was_checked_stays_as_it_ended(
    home: Path, monkeypatch: pytest.MonkeyPatch
):
    """Its process exited because it ended: the status it ended with stands, as in Dagster's own
    run monitoring, which reads the run again before failing it."""
    from dagster._core.launcher import CheckRunHealthResult, WorkerStatus

    with dg.DagsterInstance.from_config(str(home)) as instance:
        run = instance.create_run_for_job(
            dg.GraphDefinition("nothing").to_job(), status=dg.DagsterRunStatus.STARTED
        )

        def ended_meanwhile(checked: dg.DagsterRun) -> CheckRunHealthResult:
            instance.report_run_canceled(checked)
            return CheckRunHealthResult(WorkerStatus.FAILED, "the process is gone")

        monkeypatch.setattr(instance.run_launcher, "check_run_worker_health", ended_meanwhile)
        assert fail_dead_runs(instance) == []
        assert instance.get_run_by_id(run.run_id).status == dg.DagsterRunStatus.CANCELED


def test_a_run_not_started_by_any_process_is_left_to_the_start_timeout(home: Path):
    with dg.DagsterInstance.from_config(str(home)) as instance:
        run = instance.create_run_for_job(
            dg.GraphDefinition("nothing").to_job(), status=dg.DagsterRunStatus.STARTED
        )
        assert instance.run_launcher.check_run_worker_health(run).status.value == "RUNNING"


def _wait_for_started_run(instance: dg.DagsterInstance, child: subprocess.Popen) -> dg.DagsterRun:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert child.poll() is None, "the run's process ended early"
        runs = instance.get_runs(dg.RunsFilter(statuses=[dg.DagsterRunStatus.STARTED]))
        if runs:
            return runs[0]
        time.sleep(0.2)
    pytest.fail("the run did not start within 60 s")


def test_an_instance_config_without_run_monitoring_gets_a_warning(
    data_dir: Path, monkeypatch, capsys
):
    from sentiment_assets.cli.platform import prepare

    home = data_dir / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text("concurrency:\n  pools:\n    default_limit: 1\n")
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    prepare()
    warned = capsys.readouterr().err
    assert "has no run_monitoring, so a run whose process died stays in progress" in warned
    assert "has no pools" not in warned
