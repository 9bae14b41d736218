"""Failed runs raise alerts: a line in alerts.jsonl and, when configured, a webhook POST."""

from datetime import UTC, datetime

import dagster as dg

from sentiment_assets.lib import alerts, settings


@dg.run_failure_sensor(default_status=dg.DefaultSensorStatus.RUNNING)
def run_failure_alert(context: dg.RunFailureSensorContext) -> None:
    """Every failed run becomes a line in alerts.jsonl, and a POST to SENTIMENT_ALERT_WEBHOOK."""
    run = context.dagster_run
    alert = {
        "time": datetime.now(UTC).isoformat(timespec="seconds"),
        "job": run.job_name,
        "run_id": run.run_id,
        "partition": run.tags.get("dagster/partition"),
        "assets": _planned_assets(context.instance, run.run_id),
        "error": context.failure_event.message,
    }
    alerts.append_alert(alert, settings.alerts_path())
    webhook = settings.alert_webhook()
    if webhook:
        alerts.post_alert(alert, webhook)


def _planned_assets(instance: dg.DagsterInstance, run_id: str) -> list[str]:
    """The assets a run set out to materialize (a run of a whole job has no explicit selection)."""
    planned = instance.get_records_for_run(
        run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION_PLANNED, limit=1000
    ).records
    return sorted({r.event_log_entry.dagster_event.asset_key.to_user_string() for r in planned})
