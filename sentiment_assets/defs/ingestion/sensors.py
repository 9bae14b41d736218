"""The drop sensor: each new, complete CSV in the landing folder becomes a partition and a run."""

import dagster as dg

from sentiment_assets.defs.ingestion.jobs import ingest_drop
from sentiment_assets.defs.ingestion.partitions import review_drops, stored_drop
from sentiment_assets.defs.platform.resources import ReviewLanding
from sentiment_assets.lib.drop_plan import DropMemory, IngestionPlan, plan_folder

# Enough to work through a backlog quickly without flooding the run queue in one tick.
MAX_RUNS_PER_TICK = 5
_SHOWN = 3  # files named in a skip reason


@dg.sensor(
    job=ingest_drop,
    minimum_interval_seconds=10,
    default_status=dg.DefaultSensorStatus.RUNNING,
)
def review_drop_sensor(
    context: dg.SensorEvaluationContext, landing: ReviewLanding
) -> dg.SensorResult:
    """Each new, complete CSV in the landing folder becomes a partition and a run that reads it.

    Files still being written (size or times changed since the last tick, or no final newline
    within the grace period), hidden files and `*.part`/`*.tmp` are left for later; a file whose
    content changed is read again; the first file to claim a partition key keeps it. Every
    skipped file gets a log line saying why.
    """
    instance = context.instance
    plan = plan_folder(
        landing.path,
        DropMemory.load(context.cursor),
        ingested=lambda key: stored_drop(instance, key),
        partitions=set(instance.get_dynamic_partitions(review_drops.name)),
        max_requests=MAX_RUNS_PER_TICK,
        grace_seconds=landing.incomplete_grace_seconds,
    )
    for line in plan.log:
        context.log.warning(line)
    for request in plan.requests:
        context.log.info(request.note)
    return dg.SensorResult(
        run_requests=[
            dg.RunRequest(run_key=r.run_key, partition_key=r.key, tags=r.tags)
            for r in plan.requests
        ],
        dynamic_partitions_requests=[review_drops.build_add_request(plan.new_keys)]
        if plan.new_keys
        else [],
        cursor=plan.memory.dump(),
        skip_reason=None if plan.requests else _nothing_to_read(landing, plan),
    )


def _nothing_to_read(landing: ReviewLanding, plan: IngestionPlan) -> str:
    """Why a tick requested no run, for the sensor's tick history: new files waiting to hold
    still, and the files left for now, with why."""
    waiting = {name: "new: read once it holds still until the next tick" for name in plan.new_files}
    waiting |= plan.memory.noted
    if not waiting:
        return f"no new or changed drop in {landing.path}"
    shown = "; ".join(f"{name}: {why}" for name, why in sorted(waiting.items())[:_SHOWN])
    more = f"; and {len(waiting) - _SHOWN} more" if len(waiting) > _SHOWN else ""
    return f"no drop to read now; {len(waiting)} file(s) left for now: {shown}{more}"
