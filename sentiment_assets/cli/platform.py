"""`sentiment-platform`: set up the data folder, start the UIs and the model server, remove drops.

Every path and URI comes from `lib.settings`, so the Makefile, the UIs and the assets always
agree on where the Dagster instance, the MLflow store and the drops are.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from sentiment_assets.cli import finish
from sentiment_assets.lib import settings
from sentiment_assets.lib.storage.files import locked

if TYPE_CHECKING:
    import dagster as dg


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="sentiment-platform", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    setup = "set up DAGSTER_HOME and the data folder, run nothing (no sample drops)"
    commands.add_parser("prepare", help=setup, description=setup)
    for name, what, port in (
        (
            "dev",
            "the Dagster UI and daemon (`dg dev`; --dagster-dev for `dagster dev`)",
            settings.DAGSTER_UI_PORT,
        ),
        ("mlflow-ui", "the MLflow UI on the tracking store", settings.MLFLOW_UI_PORT),
        (
            "serve",
            "the production model as a REST service (`mlflow models serve`)",
            settings.SERVE_PORT,
        ),
    ):
        command = commands.add_parser(name, help=what, description=what)
        command.add_argument(
            "--port", type=_port, default=port, help=f"on 127.0.0.1 (default {port})"
        )
        if name == "dev":
            command.add_argument(
                "--dagster-dev",
                action="store_true",
                help="run `dagster dev` instead (Dagster 1.13 marks it superseded by `dg dev`)",
            )
    removal = "delete a drop's partition and every stored value of it, for good"
    remove = commands.add_parser("remove-drop", help=removal, description=removal)
    remove.add_argument("key", help="the drop's partition key (its file name without .csv)")
    args = parser.parse_args(argv)
    if args.command == "remove-drop":
        return remove_drop(args.key)

    if args.command in _PORT_SETTING and (busy := _port_in_use(args.command, args.port)):
        print(busy, file=sys.stderr)
        return 2
    if args.command == "serve":
        # Serving reads the store alone: no instance set up for it.
        if (refused := _without_production_model()) is not None:
            return refused
    else:
        # No sample drops: they are `sentiment-run`'s first run's. A team that starts the UI and
        # then copies its own export in must not train on synthetic reviews beside it.
        prepare()
        import dagster as dg

        with dg.DagsterInstance.get() as instance:
            landing = untouched_landing(instance)
        if landing is not None:
            print(
                f"The landing folder {landing} is empty: copy a review export (CSV) into it (or, "
                "with make dev stopped, make run writes sample drops there and runs everything)"
            )
    if args.command == "prepare":
        return 0
    from sentiment_assets.lib.tracking import PRODUCTION_URI

    bin_dir = Path(sys.executable).parent
    uri = settings.tracking_uri()
    # The UIs stay on loopback: neither has authentication, and the Dagster webserver has no
    # CSRF protection (a page in the same browser could launch runs).
    loopback = ["--host", "127.0.0.1", "--port", str(args.port)]
    if args.command == "dev":
        command = _dev_command(bin_dir, args.port, args.dagster_dev)
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
    sys.stdout.flush()  # what was printed above: exec drops Python's buffers (a log, a pipe)
    if args.command == "dev" and signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        # A background job of a script ignores SIGINT, and exec keeps that; Dagster gives SIGTERM
        # SIGINT's handler, so `kill` left the UI, the daemon and the code servers running.
        signal.signal(signal.SIGINT, signal.SIG_DFL)
    os.execve(command[0], command, env)
    return 0  # not reached: exec replaces this process


def _dev_command(bin_dir: Path, port: int, dagster_dev: bool) -> list[str]:
    """`dg dev` on the project this package belongs to, from whatever folder it is run (`dg dev`
    looks for the project in the working folder, and failed anywhere else); `dagster dev` on its
    `workspace.yaml` when asked. Installed without its project (an image, a wheel), `dagster dev`
    on the module."""
    command = ["dev", "-h", "127.0.0.1", "-p", str(port)]
    root = Path(__file__).resolve().parents[2]
    if not (root / "pyproject.toml").is_file() or not (root / "workspace.yaml").is_file():
        return [str(bin_dir / "dagster"), *command, "-m", "sentiment_assets.definitions"]
    if dagster_dev:
        return [str(bin_dir / "dagster"), *command, "-w", str(root / "workspace.yaml")]
    return [str(bin_dir / "dg"), *command, "--target-path", str(root)]


def _port(text: str) -> int:
    port = int(text)
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{text} is not a port (1 to 65535)")
    return port


# How the Makefile names each command's port.
_PORT_SETTING = {"dev": "DAGSTER_PORT", "mlflow-ui": "MLFLOW_PORT", "serve": "SERVE_PORT"}


def _port_in_use(command: str, port: int) -> str | None:
    """Why `command`'s server cannot listen on 127.0.0.1:`port`, or None when it can: each server
    reports a port in use deep in a traceback of its own (uvicorn's, for `serve`)."""
    import errno
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the servers bind
        try:
            probe.bind(("127.0.0.1", port))
        except OSError as err:
            if err.errno != errno.EADDRINUSE:
                return None  # let the server say what it makes of it
            return (
                f"sentiment-platform {command}: port {port} on 127.0.0.1 is in use (another "
                "server, or an earlier one still running); choose another with --port (make "
                f"{command} {_PORT_SETTING[command]}=...)"
            )
    return None


def _without_production_model() -> int | None:
    """The exit code, after one line on stderr, when there is no production model to serve (3)
    or the store cannot say (4), as `sentiment-predict` exits; None when there is one."""
    from sentiment_assets.lib.store_faults import MlflowStoreError
    from sentiment_assets.lib.tracking import MlflowStore

    store = MlflowStore.default()
    try:
        if store.production_version() is not None:
            return None
    except MlflowStoreError as err:
        print(f"sentiment-platform serve: {err}", file=sys.stderr)
        return 4
    print(
        "sentiment-platform serve: no production model in the MLflow store at "
        f"{settings.redacted(store.uri)}; {store.no_production_hint()}",
        file=sys.stderr,
    )
    return 3


# What an older instance config lacks, and what goes wrong without it.
_INSTANCE_SECTIONS = {
    "pools": "MLflow writers may overlap",
    "run_monitoring": "a run whose process died stays in progress and blocks training",
}


def prepare() -> None:
    """A DAGSTER_HOME with the project's instance config, and the landing folder."""
    # Stored reviews, models and run logs are personal data: owner-only from the top.
    settings.private_dir(settings.data_dir())
    store = settings.sqlite_path(settings.tracking_uri())
    if store is not None and store.parent.resolve() != Path.cwd():  # never the working directory
        settings.private_dir(store.parent)
    home = settings.dagster_home()
    os.environ["DAGSTER_HOME"] = str(home)
    home.mkdir(parents=True, exist_ok=True)
    # Two processes creating a fresh instance at once (make run and make dev started together)
    # race in Dagster's SQLite migrations and can leave its schema with two heads, for good.
    with locked(home / "prepare.lock"):
        _prepare(home)


def _prepare(home: Path) -> None:
    from sentiment_assets.lib.storage.legacy import adopt_legacy_values

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

    from sentiment_assets.defs.platform.concurrency import register_pools
    from sentiment_assets.lib.tracking import MlflowStore

    with dg.DagsterInstance.get() as instance:
        register_pools(instance)
    settings.landing_dir().mkdir(exist_ok=True)
    MlflowStore.default().create_if_missing()
    adopted = adopt_legacy_values(settings.storage_dir())
    if adopted:
        print(f"Moved {len(adopted)} values stored before versions into versioned storage")


def untouched_landing(instance: dg.DagsterInstance) -> Path | None:
    """The landing folder while it is empty and no drop is registered (none landed yet, or all
    were removed); None otherwise. Registered drops and an empty folder mean they were all read
    (or quarantined): sample reviews must not join the real ones."""
    from sentiment_assets.defs.ingestion.partitions import review_drops
    from sentiment_assets.lib import drops

    if instance.get_dynamic_partitions(review_drops.name):
        return None
    landing = settings.landing_dir()
    files, refused = drops.scan_landing(landing)
    return landing if not files and not refused else None


def write_first_samples(instance: dg.DagsterInstance) -> None:
    """The sample drops, into an untouched landing folder: `sentiment-run`'s, once it may go on."""
    from sentiment_assets.cli.sample_drops import write_sample_drops

    if (landing := untouched_landing(instance)) is not None:
        written = write_sample_drops(landing)
        # Flushed: `sentiment-run`'s progress goes out on a stream of its own, line by line.
        print(
            f"Landing folder was empty: wrote {len(written)} sample drops to {landing}", flush=True
        )


@contextmanager
def working_alone() -> Iterator[bool]:
    """Whether this `sentiment-run` or `remove-drop` is the only one working on the Dagster
    instance (True) or another is (False, without waiting). Each checks for runs in progress
    before it starts its own: two of them started together would both pass that check."""
    with locked(settings.dagster_home() / "sentiment-run.lock", wait=False) as alone:
        yield alone


ANOTHER_AT_WORK = (
    "another sentiment-run or remove-drop is working on the Dagster instance at {home}; run this "
    "again when it has finished"
)


def remove_drop(key: str) -> int:
    """Delete a drop's partition and its stored values in every asset partitioned by drop; refuse
    a key that is not a drop, a drop whose file is still landed, and while runs are in flight."""
    import dagster as dg

    from sentiment_assets.definitions import defs
    from sentiment_assets.defs.ingestion.partitions import review_drops
    from sentiment_assets.defs.platform.concurrency import runs_in_flight
    from sentiment_assets.defs.platform.run_launcher import fail_dead_runs
    from sentiment_assets.lib import drops

    home = settings.dagster_home()
    if not home.is_dir():
        print(f"No Dagster instance at {home}: there are no drops to remove", file=sys.stderr)
        return 2
    os.environ["DAGSTER_HOME"] = str(home)
    landing = settings.landing_dir()
    landed = [f.name for f in drops.scan_landing(landing)[0] if f.key == key]
    with working_alone() as alone, dg.DagsterInstance.get() as instance:
        if not alone:
            print(f"{ANOTHER_AT_WORK.format(home=home)}; nothing removed", file=sys.stderr)
            return 1
        definitions = defs()
        graph = definitions.resolve_asset_graph()
        assets = sorted(
            k for k in graph.get_all_asset_keys() if graph.get(k).partitions_def == review_drops
        )
        io_manager = definitions.resources["io_manager"]
        # Deleting the partition in the Dagster UI removes the key only: the values stay stored.
        partition = instance.has_dynamic_partition(review_drops.name, key)
        if not partition and not any(io_manager.stored_versions(a, key) for a in assets):
            print(f"No drop {key!r}: nothing removed", file=sys.stderr)
            return 2
        if landed:
            print(
                f"{', '.join(landed)} in {landing} is drop {key!r} and would bring it back: move it "
                "out of the landing folder first; nothing removed",
                file=sys.stderr,
            )
            return 2
        for dead, why in fail_dead_runs(instance):
            print(f"Run {dead} was {why}: failed")
        if busy := runs_in_flight(instance):
            print(
                f"{busy} run(s) queued or in progress could read or write drop {key!r}: run this "
                "again when none is; nothing removed",
                file=sys.stderr,
            )
            return 1
        in_dataset = key in (io_manager.dataset_drops() or ())
        # Values first: a removal cut short leaves the partition, and running this again ends it.
        removed = {a: io_manager.remove_partition(a, key) for a in assets}
        if partition:
            instance.delete_dynamic_partition(review_drops.name, key)
    values = ", ".join(
        f"{a.to_user_string()} ({n} stored version{'' if n == 1 else 's'})"
        for a, n in removed.items()
        if n
    )
    stored = f"and its stored values: {values}" if values else "(nothing of it was stored)"
    if in_dataset:
        after = (
            "The dataset and candidates are built again without it by the retraining sensor (make "
            "dev) or sentiment-run; production keeps the version trained with it until a new one "
            "wins the promotion rule."
        )
    else:
        after = "The stored dataset does not hold it, so nothing is trained again."
    whose = f"its partition of {review_drops.name} {stored}"
    if not partition:
        whose = f"the values its partition (deleted before, in the Dagster UI say) left: {values}"
    print(f"Removed drop {key!r}: {whose}. {after}")
    if left := drops.quarantined(settings.quarantine_dir(), key):
        names = ", ".join(path.name for path in left)
        print(f"Its quarantined file and note are yours to delete: {names} in {left[0].parent}")
    return 0


def cli() -> NoReturn:
    """The `sentiment-platform` command."""
    finish(main())


if __name__ == "__main__":
    cli()
