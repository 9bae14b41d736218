"""`sentiment-run`: the embedded default in one command, against a local Dagster instance.

Prepares the data folder (sample drops when the landing folder is empty), plans ingestion the way
the drop sensor does, ingests the drops whose content is not stored yet (each scored by the
production model before it trains on them), then trains and decides on production.
"""

from __future__ import annotations

import argparse
import sys
from functools import cache
from typing import TYPE_CHECKING

from sentiment_assets.cli.console import RunConsole
from sentiment_assets.cli.platform import prepare
from sentiment_assets.lib import drops, settings

if TYPE_CHECKING:
    import dagster as dg


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=None, help="cap on training epochs")
    parser.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        help="also show what the libraries print: Dagster's event lines, TensorFlow, MLflow",
    )
    args = parser.parse_args(argv)
    console = RunConsole(args.verbose)
    prepare()

    import dagster as dg

    from sentiment_assets.defs.platform.concurrency import runs_writing_mlflow

    with dg.DagsterInstance.get() as instance:
        # Ingesting scores each drop with the production model and logs it to MLflow as well. A
        # SQLite MLflow store must not see two writers; a tracking server takes them.
        sqlite = settings.sqlite_path(settings.tracking_uri()) is not None
        busy = runs_writing_mlflow(instance) if sqlite else []
        if busy:
            console.problem(
                f"Not ingesting or training: run {', '.join(busy)} is writing the MLflow store; "
                "run this again when it has finished (make dev shows it)"
            )
            return 1
        ingest(instance, console)
        run_config = {}
        if args.epochs is not None:
            run_config = {"ops": {"trained_models": {"config": {"epochs": args.epochs}}}}
        console.step("Training candidates and deciding on production")
        with console.job(instance, "Training") as run_id:
            result = _job("train_and_promote").execute_in_process(
                instance=instance, run_config=run_config, raise_on_error=False, run_id=run_id
            )
    if not result.success:
        console.problem("Training failed")
        console.summary(None, None)
        return 1
    decision = result.output_for_node("production_model")
    console.summary(decision, result.output_for_node("trained_models"))
    return 0 if decision.production_version is not None else 1


def ingest(instance: dg.DagsterInstance, console: RunConsole) -> None:
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
        console.problem(f"Skipped {line}")
    if plan.new_keys:
        instance.add_dynamic_partitions(review_drops.name, plan.new_keys)
    for request in plan.requests:
        console.step(f"Ingesting {request.note}")
        with console.job(instance, f"Ingesting {request.key}") as run_id:
            result = _job("ingest_drop").execute_in_process(
                instance=instance,
                partition_key=request.key,
                tags=request.tags,
                raise_on_error=False,
                run_id=run_id,
            )
        if not result.success:
            url = f"{settings.dagster_ui_url()}/runs/{run_id}"
            console.problem(
                f"  drop {request.key} failed; its run in the Dagster UI (make dev): {url}"
            )


@cache
def _job(name: str) -> dg.JobDefinition:
    from sentiment_assets.definitions import defs

    return defs().resolve_job_def(name)


if __name__ == "__main__":
    sys.exit(main())
