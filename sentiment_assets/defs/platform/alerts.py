"""Failed runs raise alerts: a line in alerts.jsonl and, when configured, a webhook POST."""

from datetime import UTC, datetime

import dagster as dg

from sentiment_assets.lib import alerts, settings


# Runs executed outside the code location (`sentiment-run`, `dagster asset materialize`) carry no
# code location; only a sensor that monitors every location sees them fail. There is one location.
@dg.run_failure_sensor(
    default_status=dg.DefaultSensorStatus.RUNNING, monitor_all_code_locations=True
)
def run_failure_alert(context: dg.RunFailureSensorContext) -> None:
    """Every failed run becomes a line in alerts.jsonl, and a POST to SENTIMENT_ALERT_WEBHOOK;
    the alert carries each failed step's error (for a drop: the file and the problem)."""
    run = context.dagster_run
    alert = alerts.Alert(
        time=datetime.now(UTC).isoformat(timespec="seconds"),
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
    alerts.append_alert(alert, settings.alerts_path())  # first: the line never waits on the POST
    webhook = settings.alert_webhook()
    if webhook:
        try:
            alerts.post_alert(alert, webhook, deadline=settings.alert_webhook_timeout())
        except alerts.AlertNotDelivered as err:
            context.log.warning(f"alert for run {run.run_id} (also in alerts.jsonl) {err}")


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
