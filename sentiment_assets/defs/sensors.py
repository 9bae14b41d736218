"""Sensors: new drops become partitions and runs, new data retrains, failed runs raise alerts."""

import json
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime

import dagster as dg

from sentiment_assets import alerts, drops, settings
from sentiment_assets.candidates import NEW_DATA_CANDIDATES
from sentiment_assets.defs.jobs import ingest_drop, train_and_promote
from sentiment_assets.defs.partitions import review_drops
from sentiment_assets.defs.resources import ReviewLanding

# Enough to work through a backlog quickly without flooding the run queue in one tick.
MAX_RUNS_PER_TICK = 5


@dataclass
class DropCursor:
    """What the sensor remembers between ticks (stored by Dagster, so it survives restarts).

    `sizes`: each landing file's (size, mtime) at the last tick; a file counts as complete once
    they did not change between two ticks. `requested`: partition key -> (sha256, size, mtime) of
    the content last sent for ingestion. `duplicates`: keys skipped because another drop had the
    same content, so the skip is logged once.
    """

    sizes: dict[str, list[int]] = field(default_factory=dict)
    requested: dict[str, list] = field(default_factory=dict)
    duplicates: dict[str, str] = field(default_factory=dict)

    @classmethod
    def load(cls, raw: str | None) -> "DropCursor":
        return cls(**json.loads(raw)) if raw else cls()

    def dump(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)


@dg.sensor(
    job=ingest_drop,
    minimum_interval_seconds=10,
    default_status=dg.DefaultSensorStatus.RUNNING,
)
def review_drop_sensor(context: dg.SensorEvaluationContext, landing: ReviewLanding):
    """Each new, complete CSV in the landing folder becomes a partition and a run that reads it.

    Files still being written (size or modification time changed since the last tick), hidden
    files and `*.part`/`*.tmp` are left for later; a file whose content changed is read again.
    """
    cursor = DropCursor.load(context.cursor)
    found, refused = drops.list_drops(landing.path)
    for reason in refused:
        context.log.warning(reason)

    sizes, run_requests, new_keys = {}, [], []
    content_owner = {entry[0]: key for key, entry in cursor.requested.items()}
    for key, path in found.items():
        stat = path.stat()
        signature = [stat.st_size, stat.st_mtime_ns]
        sizes[path.name] = signature
        still_changing = cursor.sizes.get(path.name) != signature
        already_sent = cursor.requested.get(key, [None])[1:] == signature
        if still_changing or already_sent or len(run_requests) >= MAX_RUNS_PER_TICK:
            continue
        sha = drops.file_sha256(path)
        owner = content_owner.get(sha)
        if owner is not None and owner != key:
            if cursor.duplicates.get(key) != sha:
                context.log.info(f"{path.name}: same content as drop '{owner}'; skipped")
                cursor.duplicates[key] = sha
            continue
        known = cursor.requested.get(key, [None])[0] or _ingested_sha(context.instance, key)
        if known == sha:  # already read (maybe before this sensor ran), or touched, not changed
            cursor.requested[key] = [sha, *signature]
            content_owner[sha] = key
            continue
        if key not in cursor.requested and not context.instance.has_dynamic_partition(
            review_drops.name, key
        ):
            new_keys.append(key)
        run_requests.append(
            dg.RunRequest(
                run_key=f"{key}:{sha}",
                partition_key=key,
                tags={"sentiment/drop-file": path.name, "sentiment/drop-sha256": sha},
            )
        )
        cursor.requested[key] = [sha, *signature]
        content_owner[sha] = key

    cursor.sizes = sizes
    return dg.SensorResult(
        run_requests=run_requests,
        dynamic_partitions_requests=[review_drops.build_add_request(new_keys)] if new_keys else [],
        cursor=cursor.dump(),
    )


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


@dg.sensor(
    job=train_and_promote,
    minimum_interval_seconds=10,
    default_status=dg.DefaultSensorStatus.RUNNING,
)
def retrain_on_new_data(context: dg.SensorEvaluationContext):
    """Retrain once drops stemmed after the last dataset build are all in, so drops that land
    together cause one retraining, and nothing waits for a schedule.

    It trains the candidates that can take production (`NEW_DATA_CANDIDATES`); the weekly
    schedule and manual runs train the full line-up. Timestamps, not events, decide, and the
    dataset counts as built from the drops stemmed before its run *started*: a drop that finishes
    while a retraining runs triggers the next one (at worst one retraining too many, never one too
    few). The run key is the newest drop's time, so a failed retraining is not retried every tick;
    the next drop (or a person) starts the next one.
    """
    newest_drop = _latest_materialization(context.instance, "stemmed_corpus")
    if newest_drop is None:
        return dg.SkipReason("no drop has been stemmed yet")
    if newest_drop <= _dataset_reads_drops_until(context.instance):
        return dg.SkipReason("the dataset already includes every stemmed drop")
    busy = context.instance.get_runs_count(
        dg.RunsFilter(
            statuses=[
                dg.DagsterRunStatus.QUEUED,
                dg.DagsterRunStatus.NOT_STARTED,
                dg.DagsterRunStatus.STARTING,
                dg.DagsterRunStatus.STARTED,
            ],
        )
    )
    if busy:
        return dg.SkipReason(f"waiting for {busy} run(s) in flight")
    return dg.RunRequest(
        run_key=f"new-data-{newest_drop:.6f}",
        run_config={"ops": {"trained_models": {"config": {"candidates": NEW_DATA_CANDIDATES}}}},
    )


def _ingested_sha(instance: dg.DagsterInstance, key: str) -> str | None:
    """The sha256 of the file behind the drop's latest raw_reviews materialization, if any."""
    records = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=dg.AssetKey("raw_reviews"), asset_partitions=[key]),
        limit=1,
    ).records
    if not records:
        return None
    sha = records[0].asset_materialization.metadata.get("source_sha256")
    return sha.value if sha is not None else None


def _planned_assets(instance: dg.DagsterInstance, run_id: str) -> list[str]:
    """The assets a run set out to materialize (a run of a whole job has no explicit selection)."""
    planned = instance.get_records_for_run(
        run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION_PLANNED, limit=1000
    ).records
    return sorted({r.event_log_entry.dagster_event.asset_key.to_user_string() for r in planned})


def _dataset_reads_drops_until(instance: dg.DagsterInstance) -> float:
    """The start of the run behind the latest dataset: it read every drop stemmed before then."""
    records = instance.fetch_materializations(dg.AssetKey("padded_dataset"), limit=1).records
    if not records:
        return 0.0
    run = instance.get_run_record_by_id(records[0].run_id)
    return run.start_time if run is not None and run.start_time else records[0].timestamp


def _latest_materialization(instance: dg.DagsterInstance, asset: str) -> float | None:
    records = instance.fetch_materializations(dg.AssetKey(asset), limit=1).records
    return records[0].timestamp if records else None
