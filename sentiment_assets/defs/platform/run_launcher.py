"""The run launcher of the instance config: Dagster's default one, plus the health check that run
monitoring needs to fail a run whose process died.

Dagster's `DefaultRunLauncher` cannot tell whether a run's process still lives, so with it a run
killed together with the process that ran it (`sentiment-run` or `dagster asset materialize`
killed, out of memory, or `dagster dev` itself killed) stays STARTED forever: it holds the MLflow
pool and every retraining waits for it. Here the run's process is the one that reported its start;
the check assumes that process ran on this machine, as everything does on the embedded default.
"""

from __future__ import annotations

import dagster as dg
from dagster._core.launcher import CheckRunHealthResult, WorkerStatus

# A process started this long after the run it is said to run is a reused process id. Process
# start times are known to the clock tick (10 ms).
_START_SLACK_SECONDS = 1.0


class LocalRunLauncher(dg.DefaultRunLauncher):
    """Launches runs like `DefaultRunLauncher`; run monitoring asks it whether a run's process lives."""

    @property
    def supports_check_run_worker_health(self) -> bool:
        return True

    def check_run_worker_health(self, run: dg.DagsterRun) -> CheckRunHealthResult:
        started = self._instance.get_records_for_run(
            run.run_id, of_type=dg.DagsterEventType.RUN_START, limit=1
        ).records
        if not started:  # no process has claimed the run yet: the start timeout covers it
            return CheckRunHealthResult(WorkerStatus.RUNNING)
        entry = started[0].event_log_entry
        pid = entry.dagster_event.pid if entry.dagster_event else None
        if pid is None or process_alive(pid, started_by=entry.timestamp):
            return CheckRunHealthResult(WorkerStatus.RUNNING)
        return CheckRunHealthResult(
            WorkerStatus.FAILED,
            msg=f"the process that ran it (pid {pid}) is gone: killed, or out of memory",
        )


def process_alive(pid: int, started_by: float) -> bool:
    """Whether process `pid` runs and already existed at time `started_by` (a process id reused
    later belongs to another process); a zombie is dead, one of another user counts as alive."""
    import psutil

    try:
        process = psutil.Process(pid)
        return (
            process.status() != psutil.STATUS_ZOMBIE
            and process.create_time() <= started_by + _START_SLACK_SECONDS
        )
    except psutil.NoSuchProcess:
        return False
    except psutil.AccessDenied:
        return True


# Why `fail_dead_runs` failed a run, as the commands say it: "Run <id> was <why>: failed".
GONE = "left in progress by a process that is gone"
NEVER_STARTED = "created by a process that never started it"


def fail_dead_runs(instance: dg.DagsterInstance, now: float | None = None) -> list[tuple[str, str]]:
    """Mark failed, as the daemon's run monitoring would, each run in progress whose process is
    gone, and each run created but never started within the start timeout (a process that failed
    or was killed between creating and starting it: the queue's runs leave that state at once);
    the ids of those runs, each with why (`GONE`, `NEVER_STARTED`). Without the daemon
    (`sentiment-run`, `remove-drop` on the embedded default) nothing else would: a killed
    `sentiment-run` left its run STARTED, holding the MLflow pool for good. Only this launcher can
    tell; with another, nothing is checked."""
    import time

    from sentiment_assets.defs.platform.concurrency import IN_PROGRESS

    launcher = instance.run_launcher
    if not isinstance(launcher, LocalRunLauncher):
        return []
    failed = []
    for run in instance.get_runs(dg.RunsFilter(statuses=list(IN_PROGRESS))):
        health = launcher.check_run_worker_health(run)
        # Read again, as Dagster's run monitoring does: a run that ended meanwhile stays ended.
        now_run = instance.get_run_by_id(run.run_id)
        if health.status == WorkerStatus.FAILED and now_run and now_run.status == run.status:
            instance.report_run_failed(run, f"Marked failed: {health.msg}")
            failed.append((run.run_id, GONE))
    timeout = instance.run_monitoring_start_timeout_seconds
    created_before = (now or time.time()) - timeout
    for record in instance.get_run_records(
        dg.RunsFilter(statuses=[dg.DagsterRunStatus.NOT_STARTED])
    ):
        if record.create_timestamp.timestamp() < created_before:
            message = f"Marked failed: created {timeout} s ago or more and never started"
            instance.report_run_failed(record.dagster_run, message)
            failed.append((record.dagster_run.run_id, NEVER_STARTED))
    return failed
