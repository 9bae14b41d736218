"""The code location: five assets from CSV drop to production model, with their checks, jobs,
sensors, schedule and resources."""

import dagster as dg

from sentiment_assets.defs import checks, data_assets, jobs, model_assets, schedules, sensors
from sentiment_assets.defs.resources import ArtifactIOManager, MlflowTracking, ReviewLanding

defs = dg.Definitions(
    assets=dg.load_assets_from_modules([data_assets, model_assets]),
    asset_checks=dg.load_asset_checks_from_modules([checks]),
    jobs=[jobs.ingest_drop, jobs.train_and_promote],
    sensors=[sensors.review_drop_sensor, sensors.retrain_on_new_data, sensors.run_failure_alert],
    schedules=[schedules.weekly_retraining],
    resources={
        "landing": ReviewLanding(),
        "mlflow": MlflowTracking(),
        "io_manager": ArtifactIOManager(),
    },
)
