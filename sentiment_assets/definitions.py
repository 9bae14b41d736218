"""The code location: five assets from CSV drop to production model, their jobs and resources."""

import dagster as dg

from sentiment_assets.defs import data_assets, jobs, model_assets
from sentiment_assets.defs.resources import ArtifactIOManager, MlflowTracking, ReviewLanding

defs = dg.Definitions(
    assets=dg.load_assets_from_modules([data_assets, model_assets]),
    jobs=[jobs.ingest_drop, jobs.train_and_promote],
    resources={
        "landing": ReviewLanding(),
        "mlflow": MlflowTracking(),
        "io_manager": ArtifactIOManager(),
    },
)
