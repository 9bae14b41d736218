"""`sentiment-platform`: set up the data folder and start the UIs and the model server on it.

Every path and URI comes from `lib.settings`, so the Makefile, the UIs and the assets always
agree on where the Dagster instance, the MLflow store and the drops are.
"""

from __future__ import annotations

import argparse
import os
import sys
from importlib import resources
from pathlib import Path

from sentiment_assets.lib import settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="sentiment-platform", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("prepare", help="set up DAGSTER_HOME and the landing folder, run nothing")
    for name, what, port in (
        ("dev", "the Dagster UI and daemon (`dagster dev`; --dg for `dg dev`)", 3000),
        ("mlflow-ui", "the MLflow UI on the tracking store", 5000),
        ("serve", "the production model as a REST service (`mlflow models serve`)", 5001),
    ):
        command = commands.add_parser(name, help=what)
        command.add_argument("--port", type=int, default=port)
        if name == "dev":
            command.add_argument("--dg", action="store_true", help="run `dg dev` instead")
    args = parser.parse_args(argv)

    prepare()
    if args.command == "prepare":
        return 0
    from sentiment_assets.lib.tracking import PRODUCTION_URI

    bin_dir = Path(sys.executable).parent
    uri = settings.tracking_uri()
    # The UIs stay on loopback: neither has authentication, and the Dagster webserver has no
    # CSRF protection (a page in the same browser could launch runs).
    loopback = ["--host", "127.0.0.1", "--port", str(args.port)]
    if args.command == "dev":
        tool = "dg" if args.dg else "dagster"
        command = [str(bin_dir / tool), "dev", "-h", "127.0.0.1", "-p", str(args.port)]
    elif args.command == "mlflow-ui":
        command = [str(bin_dir / "mlflow"), "ui", "--backend-store-uri", uri, *loopback]
    else:
        command = [str(bin_dir / "mlflow"), "models", "serve", "-m", PRODUCTION_URI]
        command += ["--env-manager", "local", *loopback]
    env = {
        **os.environ,
        "DAGSTER_HOME": str(settings.dagster_home()),
        "MLFLOW_TRACKING_URI": uri,
        # The scoring server starts uvicorn by name.
        "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    os.execve(command[0], command, env)
    return 0  # not reached: exec replaces this process


# What an older instance config lacks, and what goes wrong without it.
_INSTANCE_SECTIONS = {
    "pools": "MLflow writers may overlap",
    "run_monitoring": "a run whose process died stays in progress and blocks training",
}


def prepare() -> None:
    """A DAGSTER_HOME with the project's instance config, and drops to work on (samples if none)."""
    from sentiment_assets.cli.sample_drops import write_sample_drops
    from sentiment_assets.lib import drops

    home = settings.dagster_home()
    os.environ["DAGSTER_HOME"] = str(home)
    home.mkdir(parents=True, exist_ok=True)
    if not (home / "dagster.yaml").exists():
        config = resources.files("sentiment_assets").joinpath("dagster.yaml").read_text()
        (home / "dagster.yaml").write_text(config)
    else:
        config = (home / "dagster.yaml").read_text()
        for section, risk in _INSTANCE_SECTIONS.items():
            if f"{section}:" not in config:
                print(
                    f"{home / 'dagster.yaml'} has no {section}, so {risk}; copy "
                    "sentiment_assets/dagster.yaml over it (or delete it to get the current one)",
                    file=sys.stderr,
                )
    import dagster as dg

    from sentiment_assets.defs.ingestion.partitions import review_drops
    from sentiment_assets.defs.platform.concurrency import register_pools

    with dg.DagsterInstance.get() as instance:
        register_pools(instance)
        # Drops registered before and an empty landing folder mean they were all read (or
        # quarantined): sample reviews must not join the real ones.
        registered = bool(instance.get_dynamic_partitions(review_drops.name))
    landing = settings.landing_dir()
    files, refused = drops.scan_landing(landing)
    if not files and not refused and not registered:
        written = write_sample_drops(landing)
        print(f"Landing folder was empty: wrote {len(written)} sample drops to {landing}")


if __name__ == "__main__":
    sys.exit(main())
