"""The MLflow store takes one writer at a time: a pool every step that writes it belongs to."""

import dagster as dg

# The instance config (sentiment_assets/dagster.yaml) counts pools per run ("granularity: run"), so
# a run with a step in this pool starts only when no other such run is in progress, however it was
# launched: a sensor, the schedule, a job, or a materialization by hand in the UI. The SQLite
# MLflow store must not see concurrent writers.
MLFLOW_POOL = "mlflow_store"
MLFLOW_POOL_LIMIT = 1


def limit_pools(instance: dg.DagsterInstance) -> None:
    """Store the pool's limit in the instance unless someone set one.

    The run queue applies `default_limit` to a pool only from the tick after it first sees the
    pool, so on a fresh instance two runs queued together could both start; a stored limit holds
    from the first tick (as `dagster instance concurrency set mlflow_store 1` would).
    """
    explicit = {
        pool.name for pool in instance.event_log_storage.get_pool_limits() if not pool.from_default
    }
    if MLFLOW_POOL not in explicit:
        instance.event_log_storage.set_concurrency_slots(MLFLOW_POOL, MLFLOW_POOL_LIMIT)
