"""Retraining: new drops, once stemmed, start one training run; so does a removed drop that the
dataset still holds."""

import json

import dagster as dg

from sentiment_assets.defs.asset_keys import DROP_PREDICTIONS, LIVE_QUALITY
from sentiment_assets.defs.ingestion.jobs import ingest_drop
from sentiment_assets.defs.ingestion.partitions import content_stored_since, review_drops
from sentiment_assets.defs.platform.concurrency import runs_in_flight
from sentiment_assets.defs.platform.io_manager import ArtifactIOManager
from sentiment_assets.defs.training.dataset_inputs import (
    dataset_built_from,
    newest_stems,
    undecided_dataset,
    unscored_since_built,
)
from sentiment_assets.defs.training.jobs import train_and_promote, training_run_config
from sentiment_assets.lib.drop_plan import removed_drops
from sentiment_assets.model.candidates import NEW_DATA_CANDIDATES

# The tags Dagster puts on the runs a sensor requested, naming it and the request's run key.
SENSOR_TAG = "dagster/sensor_name"
RUN_KEY_TAG = "dagster/run_key"
# What a retraining for new data trains: production's family, and only if the dataset changed.
NEW_DATA_TRAINING = {"candidates": NEW_DATA_CANDIDATES, "only_new_data": True}


@dg.sensor(
    jobs=[train_and_promote, ingest_drop],
    minimum_interval_seconds=10,
    default_status=dg.DefaultSensorStatus.RUNNING,
)
def retrain_on_new_data(
    context: dg.SensorEvaluationContext, io_manager: dg.ResourceParam[ArtifactIOManager]
) -> dg.RunRequest | dg.SensorResult | dg.SkipReason:
    """Retrains the candidates that can take production once the drops stemmed after the last
    dataset build are all in and scored by production, or once a drop the dataset holds was
    removed; production moves to one of them only by the promotion rule. A drop stemmed but not
    scored is scored first, once per content."""
    # The weekly schedule and manual runs train the full line-up. Timestamps, not events, decide,
    # and the dataset counts as built from the drops stemmed before its run *started*: a drop that
    # finishes while a retraining runs triggers the next one (at worst one retraining too many,
    # never one too few). A drop stemmed but never scored (its ingestion run failed or was stopped
    # in between) holds the retraining until production has scored it; the sensor asks for that
    # scoring once per content (`_scorings`). The run key is the newest
    # drop's time, so a failed retraining is not retried every tick; the next drop (or a person)
    # starts the next one. A training started by hand (or the schedule, or sentiment-run) that
    # built the dataset and then failed or was cancelled before a decision took the new drops'
    # retraining over: one retraining of the sensor's follows it (a review cancelled such a run,
    # and production never learned the drop). The cursor holds the drops of the last evaluation,
    # so the stored dataset is read only when one has gone.
    drops = set(context.instance.get_dynamic_partitions(review_drops.name))
    earlier = set(json.loads(context.cursor)) if context.cursor else None
    removed = removed_drops(io_manager.dataset_drops(), drops) if earlier != drops else []
    newest_drop = newest_stems(context.instance, drops)
    built_from = dataset_built_from(context.instance)
    run_key = None
    if not removed:
        context.update_cursor(json.dumps(sorted(drops)))
        if newest_drop is None:
            return dg.SkipReason("no drop has been stemmed yet")
        if newest_drop <= built_from:
            undecided = undecided_dataset(context.instance, io_manager)
            if undecided is None:
                return dg.SkipReason("the dataset already includes every stemmed drop")
            # Still training, it is a run in flight (below): only an ended one can be undecided.
            if undecided.is_finished and undecided.tags.get(SENSOR_TAG) == retrain_on_new_data.name:
                return dg.SkipReason(
                    f"no decision came from the dataset this sensor's run {undecided.run_id} "
                    "built: a failed retraining is not retried; re-execute it, or the next drop "
                    "starts the next one"
                )
            run_key = f"undecided-{undecided.run_id}"
    busy = runs_in_flight(context.instance)
    if busy:
        return dg.SkipReason(f"waiting for {busy} run(s) in flight")  # a removal waits too
    if unscored := unscored_since_built(context.instance, drops, io_manager):
        if scorings := _scorings(context.instance, unscored):
            return dg.SensorResult(run_requests=scorings)
        return dg.SkipReason(
            f"waiting for production to score drop(s) {', '.join(unscored)} (their ingestion run "
            "failed or was stopped after stemming, and the scoring this sensor then requested "
            "failed too): a retraining now would learn them before their live quality is "
            "measured; materialize live_quality and drop_predictions for them"
        )
    if removed:
        context.update_cursor(json.dumps(sorted(drops)))
        if newest_drop is None:
            return dg.SkipReason(
                f"drop(s) {', '.join(removed)} removed and no stemmed drop is left to train on: "
                "the stored dataset and production stay as they are until a drop lands"
            )
        run_key = f"removed-{','.join(removed)}-{built_from:.6f}"
    elif run_key is None:
        run_key = f"new-data-{newest_drop:.6f}"
    return dg.RunRequest(
        run_key=run_key,
        job_name=train_and_promote.name,  # the sensor targets the scoring's job too
        run_config=training_run_config(NEW_DATA_TRAINING),
    )


def _scorings(instance: dg.DagsterInstance, unscored: list[str]) -> list[dg.RunRequest]:
    """A scoring run (`ingest_drop` for `live_quality` and `drop_predictions`) for each drop of
    `unscored` that this sensor has not asked to score for its current content yet: a drop whose
    ingestion was stopped after stemming (`dg dev` killed, say) is scored without a person, once,
    as `sentiment-run` scores it; a scoring that fails is left to a person (the skip says so)."""
    requests = []
    for drop in unscored:
        since = content_stored_since(instance, drop)
        run_key = f"score-{drop}-{since:.6f}"
        if instance.get_runs(dg.RunsFilter(tags={RUN_KEY_TAG: run_key}), limit=1):
            continue
        requests.append(
            dg.RunRequest(
                run_key=run_key,
                job_name=ingest_drop.name,
                partition_key=drop,
                asset_selection=[LIVE_QUALITY, DROP_PREDICTIONS],
            )
        )
    return requests
