"""The MLflow store takes one writer at a time: a pool every step that writes it belongs to."""

import dagster as dg

# The instance config (sentiment_assets/dagster.yaml) counts pools per run ("granularity: run") with
# a default limit of 1: a queued run with a step in this pool starts only when no other such run is
# in progress, whether a sensor, the schedule or a "Materialize" in the UI queued it. The SQLite
# MLflow store must not see concurrent writers.
MLFLOW_POOL = "mlflow_store"

# What "a run is in progress" means everywhere: started and not yet ended ...
IN_PROGRESS = (
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
    dg.DagsterRunStatus.CANCELING,
)
# ... and "in flight": in progress, or queued to start.
IN_FLIGHT = (dg.DagsterRunStatus.QUEUED, dg.DagsterRunStatus.NOT_STARTED, *IN_PROGRESS)


def register_pools(instance: dg.DagsterInstance) -> None:
    """Give the pool its default limit in the instance now, unless someone set a limit.

    The run queue applies `default_limit` to a pool only from the tick after it first sees the
    pool, so on a fresh instance two runs queued together could both start. Registered like this,
    the limit still follows `default_limit` when the config changes.
    """
    explicit = {p.name for p in instance.event_log_storage.get_pool_limits() if not p.from_default}
    if MLFLOW_POOL not in explicit:
        instance.event_log_storage.initialize_concurrency_limit_to_default(MLFLOW_POOL)


def runs_writing_mlflow(instance: dg.DagsterInstance) -> list[str]:
    """Ids of the runs in progress with a step in the pool.

    Runs executed in a process of their own (`sentiment-run`, `dagster asset materialize`) never
    pass the queue; they must ask this before they start.
    """
    return [
        run.run_id
        for run in instance.get_runs(dg.RunsFilter(statuses=list(IN_PROGRESS)))
        if run.run_op_concurrency and MLFLOW_POOL in (run.run_op_concurrency.all_pools or ())
    ]


def runs_in_flight(instance: dg.DagsterInstance) -> int:
    """How many runs are in progress or waiting to start."""
    return instance.get_runs_count(dg.RunsFilter(statuses=list(IN_FLIGHT)))
