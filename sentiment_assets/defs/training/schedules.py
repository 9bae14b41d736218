import dagster as dg

from sentiment_assets.defs.training.jobs import train_and_promote

# The seed's pipeline retrained weekly; stopped by default because new drops already retrain.
weekly_retraining = dg.ScheduleDefinition(
    name="weekly_retraining",
    job=train_and_promote,
    cron_schedule="0 6 * * 1",
    default_status=dg.DefaultScheduleStatus.STOPPED,
    description="Retrain every Monday at 06:00 on all drops, whether or not new ones arrived.",
)
