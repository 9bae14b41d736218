"""`sentiment-run`: the embedded default in one command, against a local Dagster instance.

Registers every drop in the landing folder as a partition (writing sample drops first when the
folder is empty), ingests the drops not yet materialized, then trains and decides on production.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from importlib import resources
from pathlib import Path

from sentiment_assets import drops, registry, settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=None, help="cap on training epochs")
    parser.add_argument(
        "--prepare-only",
        action="store_true",
        help="set up DAGSTER_HOME and the landing folder, run nothing (make dev does this)",
    )
    args = parser.parse_args(argv)
    found = prepare()
    if args.prepare_only:
        return 0

    import dagster as dg

    from sentiment_assets.definitions import defs
    from sentiment_assets.defs.concurrency import runs_writing_mlflow
    from sentiment_assets.defs.partitions import review_drops

    instance = dg.DagsterInstance.get()
    known = set(instance.get_dynamic_partitions(review_drops.name))
    new_keys = [key for key in found if key not in known]
    if new_keys:
        instance.add_dynamic_partitions(review_drops.name, new_keys)
    done = instance.get_materialized_partitions(dg.AssetKey("stemmed_corpus"))
    for key in found:
        if key in done:
            continue
        print(f"Ingesting drop {key} ({found[key].name})")
        result = defs.resolve_job_def("ingest_drop").execute_in_process(
            instance=instance, partition_key=key, raise_on_error=False
        )
        if not result.success:
            print(f"  drop {key} failed; see the run in the Dagster UI", file=sys.stderr)

    busy = runs_writing_mlflow(instance)
    if busy:
        print(
            f"Not training: run {', '.join(busy)} is writing the MLflow store; "
            "run this again when it has finished (make dev shows it)",
            file=sys.stderr,
        )
        return 1
    run_config = {}
    if args.epochs is not None:
        run_config = {"ops": {"trained_models": {"config": {"epochs": args.epochs}}}}
    print("Training candidates and deciding on production")
    result = defs.resolve_job_def("train_and_promote").execute_in_process(
        instance=instance, run_config=run_config, raise_on_error=False
    )
    if not result.success:
        print("Training failed; see the run in the Dagster UI (make dev)", file=sys.stderr)
        return 1
    summary = result.output_for_node("production_model")
    print(json.dumps(_report(summary), indent=2))
    return 0 if summary["production_version"] is not None else 1


def prepare() -> dict[str, Path]:
    """A DAGSTER_HOME with the project's instance config, and drops to work on (samples if none)."""
    from sentiment_assets.sample_drops import write_sample_drops

    home = Path(os.environ.setdefault("DAGSTER_HOME", str(settings.data_dir() / "dagster_home")))
    home.mkdir(parents=True, exist_ok=True)
    if not (home / "dagster.yaml").exists():
        config = resources.files(__package__).joinpath("dagster.yaml").read_text()
        (home / "dagster.yaml").write_text(config)
    elif "pools:" not in (home / "dagster.yaml").read_text():
        print(
            f"{home / 'dagster.yaml'} has no concurrency pools, so MLflow writers may overlap; "
            "copy sentiment_assets/dagster.yaml over it (or delete it to get the current one)",
            file=sys.stderr,
        )
    import dagster as dg

    from sentiment_assets.defs.concurrency import register_pools
    from sentiment_assets.defs.partitions import review_drops

    with dg.DagsterInstance.get() as instance:
        register_pools(instance)
        # Drops registered before and an empty landing folder mean they were all read (or
        # quarantined): sample reviews must not join the real ones.
        registered = bool(instance.get_dynamic_partitions(review_drops.name))
    landing = settings.landing_dir()
    found, refused = drops.list_drops(landing)
    for reason in refused:
        print(f"Skipped: {reason}", file=sys.stderr)
    if not found and not refused and not registered:
        written = write_sample_drops(landing)
        print(f"Landing folder was empty: wrote {len(written)} sample drops to {landing}")
        found, _ = drops.list_drops(landing)
    return found


def _report(summary: dict) -> dict:
    return {
        "decision": "promoted" if summary["promoted"] else "kept",
        "reason": summary["reason"],
        "production_model": registry.PRODUCTION_URI,
        "production_version": summary["production_version"],
        "challenger_test_metrics": summary["challenger"]["test"],
    }


if __name__ == "__main__":
    sys.exit(main())
