"""What ran on the scale-out stack: its runs (over the webserver's GraphQL API), their failures and
the processes their steps ran in (from the instance on PostgreSQL)."""

from __future__ import annotations

import os

from sentiment_assets_tests.scaleout.stack import Stack


class RunsFailed(AssertionError):
    """Runs the stack was waiting for ended in failure."""


def runs(stack: Stack, job: str) -> list[dict]:
    data = stack.graphql(
        """query($job: String!) { runsOrError(filter: {pipelineName: $job}) {
             ... on Runs { results { runId status startTime endTime
                                     tags { key value } } } } }""",
        job=job,
    )
    return data["runsOrError"]["results"]


def finished(stack: Stack, job: str, count: int) -> list[dict] | None:
    found = runs(stack, job)
    done = [r for r in found if r["status"] in {"SUCCESS", "FAILURE", "CANCELED"}]
    failed = [r for r in done if r["status"] != "SUCCESS"]
    if failed:
        why = {r["runId"]: failure_messages(stack, r["runId"]) for r in failed}
        raise RunsFailed(f"{job} runs failed: {why}\n--- daemon ---\n{stack.log_tail('daemon')}")
    return done if len(done) >= count else None


def ticks_since(stack: Stack, sensor: str, since: float) -> int:
    """How many times a sensor of the code location was evaluated after `since` (a timestamp)."""
    data = stack.graphql(
        """query($selector: SensorSelector!) { sensorOrError(sensorSelector: $selector) {
             __typename ... on Sensor { sensorState { ticks(limit: 20) { timestamp } } } } }""",
        selector={
            "repositoryLocationName": "sentiment_assets",
            "repositoryName": "__repository__",
            "sensorName": sensor,
        },
    )["sensorOrError"]
    if data["__typename"] != "Sensor":
        raise RuntimeError(f"no sensor {sensor!r} in the code location: {data['__typename']}")
    return sum(tick["timestamp"] > since for tick in data["sensorState"]["ticks"])


def failure_messages(stack: Stack, run_id: str) -> list[str]:
    """What went wrong in a run: its step and run failures, from its event log."""
    from dagster import DagsterEventType, DagsterInstance

    kinds = {DagsterEventType.STEP_FAILURE, DagsterEventType.RUN_FAILURE}
    with _environment(stack.env), DagsterInstance.get() as instance:
        entries = instance.all_logs(run_id, of_type=kinds)
    return [
        (
            e.dagster_event.step_failure_data.error.to_string()
            if e.dagster_event.step_failure_data
            else e.message
        )
        for e in entries
    ]


def step_processes(stack: Stack, run_id: str) -> dict[str, int]:
    """The process each step of a run started in, from the run's event log."""
    from dagster import DagsterEventType, DagsterInstance

    with _environment(stack.env), DagsterInstance.get() as instance:
        records = instance.get_records_for_run(
            run_id, of_type=DagsterEventType.STEP_START, limit=100
        ).records
    return {r.event_log_entry.step_key: r.event_log_entry.dagster_event.pid for r in records}


class _environment:
    """Set the stack's environment for the block (the instance reads it), then restore."""

    def __init__(self, values: dict[str, str]) -> None:
        self.values, self.saved = values, dict(os.environ)

    def __enter__(self) -> None:
        os.environ.update(self.values)

    def __exit__(self, *exc: object) -> None:
        os.environ.clear()
        os.environ.update(self.saved)
