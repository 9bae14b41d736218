"""Failed runs and failed checks raise alerts: a line in alerts.jsonl and, when configured, a
webhook POST."""

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
    deadline = alerts.Deadline(settings.alert_webhook_timeout())
    run = context.dagster_run
    alert = alerts.Alert(
        time=_now(),
        job=run.job_name,
        run_id=run.run_id,
        partition=run.tags.get("dagster/partition"),
        assets=_planned_assets(context.instance, run.run_id),
        error=alerts.bounded(context.failure_event.message or ""),
        causes=[
            alerts.StepError(step=event.step_key or "", error=alerts.bounded(_step_error(event)))
            for event in context.get_step_failure_events()[: alerts.MAX_CAUSES]
        ],
    )
    _deliver(context, alert, f"run {run.run_id}", deadline)
    _alert_failed_checks(context, deadline)


@dg.run_status_sensor(
    run_status=dg.DagsterRunStatus.SUCCESS,
    default_status=dg.DefaultSensorStatus.RUNNING,
    monitor_all_code_locations=True,
)
def check_failure_alert(context: dg.RunStatusSensorContext) -> None:
    """A check that failed (a failure or a warning) in a run that succeeded becomes an alert like
    a failed run's: a line in alerts.jsonl, then the webhook. Failed runs' checks are alerted by
    `run_failure_alert`, so each finished run is looked at once."""
    _alert_failed_checks(context, alerts.Deadline(settings.alert_webhook_timeout()))


def _alert_failed_checks(context: dg.RunStatusSensorContext, deadline: alerts.Deadline) -> None:
    run = context.dagster_run
    records = context.instance.get_records_for_run(
        run.run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION
    ).records
    for record in records:
        evaluation = record.event_log_entry.dagster_event.event_specific_data
        if evaluation.passed:
            continue
        asset = evaluation.asset_key.to_user_string()
        partition = evaluation.partition or run.tags.get("dagster/partition")
        finding = evaluation.description or "failed"
        severity = evaluation.severity.value
        where = f"{asset} [{partition}]" if partition else asset
        kind = "a warning" if severity == dg.AssetCheckSeverity.WARN.value else "a failure"
        alert = alerts.Alert(
            time=_now(),
            job=run.job_name,
            run_id=run.run_id,
            partition=partition,
            assets=[asset],
            error=alerts.bounded(f"check {evaluation.check_name} on {where} ({kind}): {finding}"),
            causes=[alerts.StepError(step=evaluation.check_name, error=alerts.bounded(finding))],
            check=evaluation.check_name,
            severity=severity,
        )
        _deliver(context, alert, f"check {evaluation.check_name} in run {run.run_id}", deadline)


def _deliver(
    context: dg.RunStatusSensorContext, alert: alerts.Alert, what: str, deadline: alerts.Deadline
) -> None:
    alerts.append_alert(alert, settings.alerts_path())  # first: the line never waits on the POST
    webhook = settings.alert_webhook()
    if webhook:
        try:
            alerts.post_alert(alert, webhook, deadline)
        except alerts.AlertNotDelivered as err:
            context.log.warning(f"alert for {what} (also in alerts.jsonl) {err}")


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
    planned = instance.get_records_for_run(
        run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION_PLANNED, limit=1000
    ).records
    return sorted({r.event_log_entry.dagster_event.asset_key.to_user_string() for r in planned})
