"""Failed runs and failed checks raise alerts: a line in alerts.jsonl and, when configured, a
webhook POST."""

from collections.abc import Callable
from datetime import UTC, datetime

import dagster as dg

from sentiment_assets.lib import alerts, settings


# Runs executed outside the code location (`sentiment-run`, `dagster asset materialize`) carry no
# code location; only a sensor that monitors every location sees them end. There is one location.
@dg.run_failure_sensor(
    default_status=dg.DefaultSensorStatus.RUNNING, monitor_all_code_locations=True
)
def run_failure_alert(context: dg.RunFailureSensorContext) -> None:
    """Every failed run becomes a line in alerts.jsonl, and a POST to SENTIMENT_ALERT_WEBHOOK;
    the alert carries each failed step's error (for a drop: the file and the problem). A check
    that failed in the run gets an alert of its own; their POSTs share one deadline."""
    deliver(run_alerts(context.instance, context.dagster_run), context.log.warning)


@dg.run_status_sensor(
    run_status=dg.DagsterRunStatus.SUCCESS,
    default_status=dg.DefaultSensorStatus.RUNNING,
    monitor_all_code_locations=True,
)
def check_failure_alert(context: dg.RunStatusSensorContext) -> None:
    """A check that failed (a failure or a warning) in a run that succeeded becomes an alert like
    a failed run's: a line in alerts.jsonl, then the webhook. Failed runs' checks are alerted by
    `run_failure_alert`, so each finished run is looked at once."""
    deliver(run_alerts(context.instance, context.dagster_run), context.log.warning)


def run_alerts(instance: dg.DagsterInstance, run: dg.DagsterRun) -> list[alerts.Alert]:
    """What a finished run alerts: its own failure (the run's error, each failed step's), then
    each check that failed in it. The sensors ask when the daemon sees a run end; `sentiment-run`
    asks for each run it executes, since without the daemon nothing else would."""
    failure = _events(instance, run.run_id, dg.DagsterEventType.RUN_FAILURE)
    found = [_failed_run_alert(instance, run, failure[0])] if failure else []
    return found + _failed_check_alerts(instance, run)


def deliver(raised: list[alerts.Alert], warn: Callable[[str], None]) -> int:
    """Each alert as a line in alerts.jsonl, then a POST to the webhook when one is set, unless
    the file holds it already (the daemon's sensors and `sentiment-run` may both deliver a run's);
    the POSTs share one deadline. How many were new."""
    deadline = alerts.Deadline(settings.alert_webhook_timeout())
    webhook = settings.alert_webhook()
    new = 0
    for alert in raised:
        # The line first: it never waits on the POST.
        if not alerts.append_alert(alert, settings.alerts_path()):
            continue
        new += 1
        if webhook:
            try:
                alerts.post_alert(alert, webhook, deadline)
            except alerts.AlertNotDelivered as err:
                warn(f"alert for {_what(alert)} (also in alerts.jsonl) {err}")
    return new


def _failed_run_alert(
    instance: dg.DagsterInstance, run: dg.DagsterRun, failure: dg.DagsterEvent
) -> alerts.Alert:
    step_failures = _events(instance, run.run_id, dg.DagsterEventType.STEP_FAILURE)
    return alerts.Alert(
        time=_now(),
        job=run.job_name,
        run_id=run.run_id,
        partition=run.tags.get("dagster/partition"),
        assets=_planned_assets(instance, run.run_id),
        error=alerts.bounded(failure.message or ""),
        causes=[
            alerts.StepError(step=event.step_key or "", error=alerts.bounded(_step_error(event)))
            for event in step_failures[: alerts.MAX_CAUSES]
        ],
    )


def _failed_check_alerts(instance: dg.DagsterInstance, run: dg.DagsterRun) -> list[alerts.Alert]:
    found = []
    for event in _events(instance, run.run_id, dg.DagsterEventType.ASSET_CHECK_EVALUATION):
        evaluation = event.event_specific_data
        if evaluation.passed:
            continue
        asset = evaluation.asset_key.to_user_string()
        partition = evaluation.partition or run.tags.get("dagster/partition")
        finding = evaluation.description or "failed"
        severity = evaluation.severity.value
        where = f"{asset} [{partition}]" if partition else asset
        kind = "a warning" if severity == dg.AssetCheckSeverity.WARN.value else "a failure"
        found.append(
            alerts.Alert(
                time=_now(),
                job=run.job_name,
                run_id=run.run_id,
                partition=partition,
                assets=[asset],
                error=alerts.bounded(
                    f"check {evaluation.check_name} on {where} ({kind}): {finding}"
                ),
                causes=[
                    alerts.StepError(step=evaluation.check_name, error=alerts.bounded(finding))
                ],
                check=evaluation.check_name,
                severity=severity,
            )
        )
    return found


def _events(
    instance: dg.DagsterInstance, run_id: str, kind: dg.DagsterEventType
) -> list[dg.DagsterEvent]:
    records = instance.get_records_for_run(run_id, of_type=kind).records  # all of them
    return [r.event_log_entry.dagster_event for r in records if r.event_log_entry.dagster_event]


def _what(alert: alerts.Alert) -> str:
    return f"check {alert.check} in run {alert.run_id}" if alert.check else f"run {alert.run_id}"


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _step_error(event: dg.DagsterEvent) -> str:
    """A failed step's error: a `dg.Failure`'s description, else the exception and its causes."""
    failure = event.step_failure_data
    if failure.user_failure_data is not None and failure.user_failure_data.description:
        return failure.user_failure_data.description
    messages = []
    error = failure.error
    while error is not None:
        messages.append(error.message.strip())
        error = error.cause
    return "; caused by: ".join(messages)


def _planned_assets(instance: dg.DagsterInstance, run_id: str) -> list[str]:
    """The assets a run set out to materialize (a run of a whole job has no explicit selection)."""
    planned = _events(instance, run_id, dg.DagsterEventType.ASSET_MATERIALIZATION_PLANNED)
    return sorted({event.asset_key.to_user_string() for event in planned if event.asset_key})
