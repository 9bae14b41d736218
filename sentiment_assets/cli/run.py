"""`sentiment-run`: the embedded default in one command, against a local Dagster instance.

Prepares the data folder (sample drops when the landing folder is empty), plans ingestion the way
the drop sensor does, ingests the drops whose content is not stored yet (each scored by the
production model before it trains on them), then trains and decides on production. Only what is
stale or missing is materialized: on unchanged drops, code and settings it trains nothing.
"""

from __future__ import annotations

import argparse
import sys
from functools import cache
from typing import TYPE_CHECKING

from sentiment_assets.cli.platform import prepare
from sentiment_assets.lib import drops, settings

if TYPE_CHECKING:
    import dagster as dg

    from sentiment_assets.defs.training.config import TrainingConfig
    from sentiment_assets.lib.production import ProductionDecision

# The training job's assets, upstream first.
TRAINING_ASSETS = ("padded_dataset", "trained_models", "production_model")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=None, help="cap on training epochs")
    args = parser.parse_args(argv)
    prepare()

    import dagster as dg

    from sentiment_assets.defs.platform.concurrency import runs_writing_mlflow
    from sentiment_assets.defs.training.config import TrainingConfig

    with dg.DagsterInstance.get() as instance:
        # Ingesting scores each drop with the production model and logs it to MLflow as well. A
        # SQLite MLflow store must not see two writers; a tracking server takes them.
        sqlite = settings.sqlite_path(settings.tracking_uri()) is not None
        busy = runs_writing_mlflow(instance) if sqlite else []
        if busy:
            print(
                f"Not ingesting or training: run {', '.join(busy)} is writing the MLflow store; "
                "run this again when it has finished (make dev shows it)",
                file=sys.stderr,
            )
            return 1
        ingest(instance)
        refresh_drops(instance)
        overrides = {} if args.epochs is None else {"epochs": args.epochs}
        training = TrainingConfig(**overrides)
        if not training_wave(instance, training):
            decision = _stored_decision(instance)
            print(
                "Nothing to train: the dataset, candidates and decision are up to date with the "
                f"drops, code and training settings; production stays version "
                f"{decision.production_version}"
            )
            return 0 if decision.production_version is not None else 1
        print("Training candidates and deciding on production")
        if not train_changed(instance, training, overrides):
            print("Training failed; see the run in the Dagster UI (make dev)", file=sys.stderr)
            return 1
        decision = _stored_decision(instance)
    print(report(decision))
    return 0 if decision.production_version is not None else 1


def ingest(instance: dg.DagsterInstance) -> None:
    """Read every landing drop whose content is not stored yet, as the drop sensor would plan it
    (every file counts as stable: whoever runs this has finished copying)."""
    from sentiment_assets.defs.ingestion.partitions import review_drops, stored_drop
    from sentiment_assets.lib.drop_plan import DropMemory, plan_folder

    plan = plan_folder(
        settings.landing_dir(),
        DropMemory(),
        ingested=lambda key: stored_drop(instance, key),
        partitions=set(instance.get_dynamic_partitions(review_drops.name)),
        max_requests=sys.maxsize,
        grace_seconds=drops.DEFAULT_GRACE_SECONDS,
        settled=True,
    )
    for line in plan.log:
        print(f"Skipped {line}", file=sys.stderr)
    if plan.new_keys:
        instance.add_dynamic_partitions(review_drops.name, plan.new_keys)
    for request in plan.requests:
        print(f"Ingesting {request.note}")
        result = _job("ingest_drop").execute_in_process(
            instance=instance,
            partition_key=request.key,
            tags=request.tags,
            raise_on_error=False,
        )
        if not result.success:
            print(f"  drop {request.key} failed; see the run in the Dagster UI", file=sys.stderr)


def refresh_drops(instance: dg.DagsterInstance) -> None:
    """Read or stem again each stored drop whose `raw_reviews` or `stemmed_corpus` is stale (their
    code changed since), or whose stems are missing; new content is `ingest`'s. The drop's scoring
    stays as it was: it records the production model of the day the drop landed."""
    import dagster as dg

    from sentiment_assets.defs.ingestion.partitions import RAW_REVIEWS, review_drops, stored_drop
    from sentiment_assets.defs.platform.staleness import MISSING, Staleness

    stemmed = dg.AssetKey("stemmed_corpus")
    for key in instance.get_dynamic_partitions(review_drops.name):
        why = Staleness(instance, _defs()).stale_or_missing([RAW_REVIEWS], key).get(RAW_REVIEWS)
        if why == MISSING:
            continue  # never stored (or quarantined): the landing folder's to bring
        if why is not None:
            stored = stored_drop(instance, key)
            if stored is None or stored.file is None:
                print(
                    f"Skipped drop {key}: raw_reviews {why}; its file is unknown", file=sys.stderr
                )
                continue
            tags = {drops.FILE_TAG: stored.file, drops.SHA256_TAG: stored.sha256}
            if not _materialize_drop(instance, key, RAW_REVIEWS, why, tags):
                continue
        why = Staleness(instance, _defs()).stale_or_missing([stemmed], key).get(stemmed)
        if why is not None:
            _materialize_drop(instance, key, stemmed, why, {})


def _materialize_drop(
    instance: dg.DagsterInstance, key: str, asset: dg.AssetKey, why: str, tags: dict[str, str]
) -> bool:
    print(f"Materializing {asset.to_user_string()} of drop {key}: {why}")
    result = _job("ingest_drop").execute_in_process(
        instance=instance,
        partition_key=key,
        tags=tags,
        asset_selection=[asset],
        raise_on_error=False,
    )
    if not result.success:
        print(f"  drop {key} failed; see the run in the Dagster UI", file=sys.stderr)
    return result.success


def training_wave(instance: dg.DagsterInstance, training: TrainingConfig) -> dict[dg.AssetKey, str]:
    """The training job's assets to materialize next, each with why: those stale or missing (as
    the UI's "Materialize changed and missing" sees them) with nothing stale upstream of them in
    the job, and `trained_models` also when it was trained with other settings than `training`."""
    import dagster as dg

    from sentiment_assets.defs.platform.staleness import Staleness
    from sentiment_assets.lib.versions import training_version

    staleness = Staleness(instance, _defs())
    dataset, trained = dg.AssetKey("padded_dataset"), dg.AssetKey("trained_models")
    stale = staleness.stale_or_missing(dg.AssetKey(name) for name in TRAINING_ASSETS)
    # Settings are not part of Dagster's graph: compare them where the dataset is settled.
    fingerprint = None if {dataset, trained} & set(stale) else staleness.data_version(dataset)
    if fingerprint and staleness.data_version(trained) != training_version(fingerprint, training):
        stale[trained] = "has new training settings"
    graph = _defs().resolve_asset_graph()
    return {key: why for key, why in stale.items() if not graph.get(key).parent_keys & set(stale)}


def train_changed(
    instance: dg.DagsterInstance, training: TrainingConfig, overrides: dict[str, object]
) -> bool:
    """Materialize the next wave of the training job until nothing in it is stale or missing, so
    that an asset rebuilt to the same data version leaves what is downstream alone; False when a
    run failed, or something is still stale once each asset was materialized."""
    for _ in TRAINING_ASSETS:
        wave = training_wave(instance, training)
        if not wave:
            return True
        for key, why in wave.items():
            print(f"Materializing {key.to_user_string()}: {why}")
        trains = any(key.path[0] == "trained_models" for key in wave)
        run_config = {"ops": {"trained_models": {"config": overrides}}} if trains else {}
        result = _job("train_and_promote").execute_in_process(
            instance=instance,
            run_config=run_config,
            asset_selection=list(wave),
            raise_on_error=False,
        )
        if not result.success:
            return False
    left = training_wave(instance, training)
    if left:
        names = ", ".join(f"{key.to_user_string()} ({why})" for key, why in left.items())
        print(f"Still stale after materializing each asset once: {names}", file=sys.stderr)
    return not left


def _stored_decision(instance: dg.DagsterInstance) -> ProductionDecision:
    import dagster as dg

    from sentiment_assets.lib.production import ProductionDecision

    key = dg.AssetKey("production_model")
    return _defs().load_asset_value(key, instance=instance, python_type=ProductionDecision)


@cache
def _defs() -> dg.Definitions:
    from sentiment_assets.definitions import defs

    return defs()


def _job(name: str) -> dg.JobDefinition:
    return _defs().resolve_job_def(name)


def report(decision: ProductionDecision) -> str:
    """The decision in a few lines for a person."""
    from sentiment_assets.lib.tracking import PRODUCTION_URI

    held = decision.production
    lines = [
        f"Decision: {'promoted' if decision.promoted else 'kept'} ({decision.reason})",
        f"Production model: {PRODUCTION_URI} = version {decision.production_version}",
    ]
    if held is not None:
        test = held.test
        lines.append(
            f"Its test metrics: ROC AUC {test.roc_auc:.4f}, accuracy {test.accuracy:.4f}, "
            f"F1 of 'not recommended' {test.not_recommended_f1:.4f}"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
