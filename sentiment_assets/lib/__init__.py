"""The platform's own code that knows nothing of Dagster: where files live, which landing files are
drops, MLflow tracking, the promotion rule, alerts. The assets in `defs/` call it and report."""
