"""`sentiment-run`: the embedded default in one command, against a local Dagster instance.

Prepares the data folder (sample drops when the landing folder is empty), plans ingestion the way
the drop sensor does, ingests the drops whose content is not stored yet (each scored by the
production model before it trains on them), then materializes what is stale or missing of the
training job: on unchanged data, code and settings it trains nothing and writes nothing.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from functools import cache
from typing import TYPE_CHECKING, Any, NoReturn

from sentiment_assets.cli import finish
from sentiment_assets.cli.console import RunConsole
from sentiment_assets.cli.platform import (
    ANOTHER_AT_WORK,
    prepare,
    working_alone,
    write_first_samples,
)
from sentiment_assets.lib import drops, settings
from sentiment_assets.lib.store_faults import MlflowStoreError

if TYPE_CHECKING:
    from collections.abc import Collection

    import dagster as dg

    from sentiment_assets.defs.training.config import TrainingConfig
    from sentiment_assets.lib.production import ProductionDecision


class StoreBusy(RuntimeError):
    """Another run writes the SQLite MLflow store, which must not see two writers."""


class Interrupted(Exception):
    """Ctrl-C or SIGTERM reached `sentiment-run`: it stops after the run in progress."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


class Interrupts:
    """The interrupts (SIGINT, SIGTERM) this process received, whoever handled them.

    Dagster's in-process execution takes SIGINT (and SIGTERM) over while a run executes: it turns
    one into the failure of the step in progress, retries it when the step has a retry policy, or
    drops it between steps, and the run ends as if nothing had been asked. A wakeup file
    descriptor sees every signal whatever its Python handler, so `sentiment-run` can stop after
    that run rather than go on to train and promote (`check`)."""

    _WATCHED = frozenset({signal.SIGINT, signal.SIGTERM})

    def __init__(self) -> None:
        self.received: int | None = None
        self._fds: tuple[int, int] | None = None
        self._forward = -1  # a wakeup fd set before (an event loop's): what it would have read

    @contextmanager
    def watching(self) -> Iterator[Interrupts]:
        """Watch until the block ends; outside the main thread (where signals are not delivered
        and no handler can be set) nothing is watched, as Dagster does."""
        self.received = None
        if threading.current_thread() is not threading.main_thread():
            yield self
            return
        read, write = os.pipe()
        os.set_blocking(read, False)
        os.set_blocking(write, False)
        previous_fd = signal.set_wakeup_fd(write, warn_on_full_buffer=False)
        self._forward = previous_fd
        # SIGTERM as Ctrl-C (Dagster does the same while a run executes), not an exit on the spot
        # that leaves a run NOT_STARTED and says nothing.
        previous_term = signal.signal(signal.SIGTERM, signal.default_int_handler)
        self._fds = (read, write)
        try:
            yield self
        finally:
            self.poll()  # what came meanwhile, passed on to the earlier fd
            signal.set_wakeup_fd(previous_fd)
            signal.signal(signal.SIGTERM, previous_term)
            os.close(read)
            os.close(write)
            self._fds = None

    def rearm(self) -> None:
        """SIGTERM as Ctrl-C again after a run: Dagster leaves it with SIGINT's handler, which a
        process started as a background job of a script ignores (so SIGTERM did nothing from
        the second run on)."""
        if self._fds is not None:
            signal.signal(signal.SIGTERM, signal.default_int_handler)

    def poll(self) -> int | None:
        """The first of SIGINT and SIGTERM that came since watching began, if any."""
        if self._fds is not None:
            with suppress(BlockingIOError):
                while data := os.read(self._fds[0], 64):
                    if self.received is None:
                        self.received = next((n for n in data if n in self._WATCHED), None)
                    if self._forward != -1:
                        with suppress(OSError):
                            os.write(self._forward, data)
        return self.received

    def check(self) -> None:
        """Raise `Interrupted` if SIGINT or SIGTERM came since watching began."""
        if (signum := self.poll()) is not None:
            raise Interrupted(signum)


_interrupts = Interrupts()


class InstanceFailed(RuntimeError):
    """The Dagster instance's storage failed (a full disk, say) outside any step."""


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
    try:  # read when the definitions load, mid-run: refused before anything is done
        settings.executor()
    except ValueError as err:
        print(f"sentiment-run: {err}", file=sys.stderr)
        return 2
    console = RunConsole(args.verbose)
    prepare()

    import dagster as dg

    with (
        _interrupts.watching(),
        working_alone() as alone,
        dg.DagsterInstance.get() as instance,
    ):
        if not alone:
            console.problem(
                "Not ingesting or training: " + ANOTHER_AT_WORK.format(home=settings.dagster_home())
            )
            return 1
        try:
            # Refused before a word of the plan is shown or the last run's log is replaced.
            _refuse_while_store_busy(instance, console)
            write_first_samples(instance)
            console.start_log()
            return _run(instance, console, args.epochs)
        except (StoreBusy, InstanceFailed, MlflowStoreError) as refused:
            console.problem(str(refused))
            return 1
        except (Interrupted, KeyboardInterrupt):
            signum = _interrupts.poll() or signal.SIGINT
            console.problem(
                f"sentiment-run: interrupted ({signal.Signals(signum).name}); stopped before "
                "anything more was started: what the runs before stored is kept, and the run in "
                "progress, if any, was marked failed; run sentiment-run again to go on"
            )
            return 128 + signum


def _run(instance: dg.DagsterInstance, console: RunConsole, epochs: int | None) -> int:
    from sentiment_assets.defs.asset_keys import PRODUCTION_MODEL, TRAINED_MODELS
    from sentiment_assets.defs.ingestion.partitions import review_drops
    from sentiment_assets.defs.training.config import TrainingConfig
    from sentiment_assets.defs.training.dataset_inputs import newest_stems, unscored_since_built
    from sentiment_assets.lib.production import moved_since_decided

    # A drop whose stemming or scoring failed on arrival is tried again by the refresh (its
    # scoring only if it failed for another reason than this run's ingestion): named once.
    failed, unread = ingest(instance, console)
    failed = list(dict.fromkeys(failed + refresh_drops(instance, console, failed)))
    overrides = {} if epochs is None else {"epochs": epochs}
    training = TrainingConfig(**overrides)
    drops = set(instance.get_dynamic_partitions(review_drops.name))
    if newest_stems(instance, drops) is None:
        # Every drop failed (or none came; removed drops' stems stay in the event log, and do
        # not count): a training run would fail on an empty dataset.
        console.step(
            "Nothing to train: no drop has been read yet; review CSV files go in "
            f"{settings.landing_dir()}"
        )
        return _exit_status(None, failed, unread, console)
    if unscored := unscored_since_built(instance, drops, _defs().resources["io_manager"]):
        console.problem(
            f"Not training: production has not scored drop(s) {', '.join(unscored)} (see above), "
            "and a retraining now would learn them before their live quality is measured; run "
            "this again once that is fixed"
        )
        _name_failed_drops(failed, unread, console)
        return 1
    if not training_wave(instance, training):
        decided = _stored(instance, PRODUCTION_MODEL).production_version
        # The registry, not the stored decision, says what predicts: an alias moved or removed
        # by hand since is reported as it is.
        production = _registry_production()
        if (moved := moved_since_decided(decided, production)) is not None:
            console.problem(moved[0].upper() + moved[1:])
        console.step(
            "Nothing to train: the dataset, candidates and decision are up to date with the "
            f"drops, code and training settings; {_production(production)}"
        )
        return _exit_status(production, failed, unread, console)
    console.step("Training candidates and deciding on production")
    if not train_changed(instance, training, overrides, console):
        console.problem("Training failed")
        console.summary(None, None)
        _name_failed_drops(failed, unread, console)
        return 1
    decision: ProductionDecision = _stored(instance, PRODUCTION_MODEL)
    console.summary(decision, _stored(instance, TRAINED_MODELS))
    return _exit_status(decision.production_version, failed, unread, console)


def _registry_production() -> str | None:
    """The version the production alias names in the registry now."""
    from sentiment_assets.lib.tracking import MlflowStore

    return MlflowStore.default().production_version_number()


def _production(version: str | None) -> str:
    if version is None:
        return "there is no production model"
    return f"production stays version {version}"


def _exit_status(
    production: str | None, failed: list[str], unread: list[str], console: RunConsole
) -> int:
    """1 when a drop's run failed, a landing file stays unread until someone acts on it, or
    there is no production model."""
    _name_failed_drops(failed, unread, console)
    return 0 if production is not None and not failed and not unread else 1


def _name_failed_drops(failed: list[str], unread: list[str], console: RunConsole) -> None:
    if failed:
        console.problem(
            f"Drop(s) whose run failed: {', '.join(failed)} (see above); training read only the "
            "stems that were stored"
        )
    if unread:
        # Last, and in the exit status: a scheduled run must not pass over a week's export.
        console.problem(
            f"File(s) in the landing folder left unread until acted on: {'; '.join(unread)}"
        )


def ingest(
    instance: dg.DagsterInstance, console: RunConsole | None = None
) -> tuple[list[str], list[str]]:
    """Read every landing drop whose content is not stored yet, as the drop sensor would plan it
    (every file counts as stable: whoever runs this has finished copying); the drops whose run
    failed, and the landing files left unread until someone acts on them (with why)."""
    from sentiment_assets.defs.ingestion.jobs import ingest_drop
    from sentiment_assets.defs.ingestion.partitions import review_drops, stored_drop
    from sentiment_assets.lib.drop_plan import DropMemory, plan_folder

    console = console or RunConsole(verbose=True)
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
    failed = []
    for request in plan.requests:
        console.step(f"Ingesting {request.note}")
        title = f"drop {request.key}"
        tags = request.tags
        if not _execute(
            instance, console, ingest_drop.name, title, partition_key=request.key, tags=tags
        ):
            failed.append(request.key)
    return failed, plan.unread


def refresh_drops(
    instance: dg.DagsterInstance,
    console: RunConsole | None = None,
    just_failed: Collection[str] = (),
) -> list[str]:
    """Read or stem again each stored drop whose `raw_reviews` or `stemmed_corpus` is stale (their
    code changed since), or whose stems are missing; new content is `ingest`'s. A drop's scoring
    stays as it was (it records the production model of the day the drop landed), unless none was
    stored for its content (`unscored`: an ingestion that failed or was stopped after reading):
    then the drop is scored now, except the drops `just_failed` to ingest. The drops whose run
    failed."""

    from sentiment_assets.defs.asset_keys import (
        DROP_PREDICTIONS,
        LIVE_QUALITY,
        RAW_REVIEWS,
        STEMMED_CORPUS,
    )
    from sentiment_assets.defs.ingestion.partitions import review_drops, stored_drop
    from sentiment_assets.defs.platform.staleness import MISSING, Staleness
    from sentiment_assets.defs.training.dataset_inputs import unscored

    console = console or RunConsole(verbose=True)
    stemmed = STEMMED_CORPUS
    failed = []
    for key in instance.get_dynamic_partitions(review_drops.name):
        why = Staleness(instance, _defs()).stale_or_missing([RAW_REVIEWS], key).get(RAW_REVIEWS)
        if why == MISSING:
            continue  # never stored (or quarantined): the landing folder's to bring
        if why is not None:
            stored = stored_drop(instance, key)
            if stored is None or stored.file is None:
                console.problem(f"Skipped drop {key}: raw_reviews {why}; its file is unknown")
                continue
            if not (settings.landing_dir() / stored.file).is_file():
                # Files may leave the landing folder once read: the stored reviews stand.
                console.problem(
                    f"Kept drop {key} as stored: raw_reviews {why}, but {stored.file} has left "
                    "the landing folder"
                )
            else:
                tags = {drops.FILE_TAG: stored.file, drops.SHA256_TAG: stored.sha256}
                if not _materialize_drop(instance, console, key, [RAW_REVIEWS], why, tags):
                    failed.append(key)
                    continue
        why = Staleness(instance, _defs()).stale_or_missing([stemmed], key).get(stemmed)
        if why is not None and not _materialize_drop(instance, console, key, [stemmed], why, {}):
            failed.append(key)
            continue
        if key not in just_failed and unscored(instance, [key], _defs().resources["io_manager"]):
            selection = [LIVE_QUALITY, DROP_PREDICTIONS]
            if not _materialize_drop(
                instance, console, key, selection, "its content was never scored", {}
            ):
                failed.append(key)
    return failed


def _materialize_drop(
    instance: dg.DagsterInstance,
    console: RunConsole,
    key: str,
    assets: list[dg.AssetKey],
    why: str,
    tags: dict[str, str],
) -> bool:
    from sentiment_assets.defs.ingestion.jobs import ingest_drop

    names = " and ".join(asset.to_user_string() for asset in assets)
    console.step(f"Materializing {names} of drop {key}: {why}")
    return _execute(
        instance,
        console,
        ingest_drop.name,
        f"drop {key}",
        partition_key=key,
        tags=tags,
        asset_selection=assets,
    )


def training_wave(instance: dg.DagsterInstance, training: TrainingConfig) -> dict[dg.AssetKey, str]:
    """The training job's assets to materialize next, each with why: those stale or missing (as
    the UI's "Materialize changed and missing" sees them) with nothing stale upstream of them in
    the job, `padded_dataset` also when it holds a removed drop (Dagster's staleness does not see
    a partition go) or a drop was stemmed after it was built (which Dagster's stops seeing from
    100 drops on: `dataset_inputs`), and `trained_models` also when it was trained with other
    settings than `training`."""
    from sentiment_assets.defs.asset_keys import PADDED_DATASET, TRAINED_MODELS
    from sentiment_assets.defs.ingestion.partitions import review_drops
    from sentiment_assets.defs.platform.staleness import Staleness
    from sentiment_assets.defs.training.dataset_inputs import stemmed_since_built
    from sentiment_assets.defs.training.jobs import TRAINING_ASSETS
    from sentiment_assets.lib.drop_plan import removed_drops
    from sentiment_assets.lib.versions import training_version

    staleness = Staleness(instance, _defs())
    dataset, trained = PADDED_DATASET, TRAINED_MODELS
    stale = staleness.stale_or_missing(TRAINING_ASSETS)
    if dataset not in stale:
        held = _defs().resources["io_manager"].dataset_drops()
        if removed := removed_drops(held, set(instance.get_dynamic_partitions(review_drops.name))):
            stale[dataset] = f"holds the reviews of removed drop(s) {', '.join(removed)}"
        elif stemmed_since_built(instance):
            stale[dataset] = "a drop was stemmed after it was built"
    # Settings are not part of Dagster's graph: compare them where the dataset is settled.
    fingerprint = None if {dataset, trained} & set(stale) else staleness.data_version(dataset)
    if fingerprint and staleness.data_version(trained) != training_version(fingerprint, training):
        stale[trained] = "has new training settings"
    graph = _defs().resolve_asset_graph()
    return {key: why for key, why in stale.items() if not graph.get(key).parent_keys & set(stale)}


def train_changed(
    instance: dg.DagsterInstance,
    training: TrainingConfig,
    overrides: dict[str, object],
    console: RunConsole | None = None,
) -> bool:
    """Materialize the next wave of the training job until nothing in it is stale or missing, so
    that an asset rebuilt to the same data version leaves what is downstream alone; False when a
    run failed, or something is still stale once each asset was materialized."""
    from sentiment_assets.defs.asset_keys import TRAINED_MODELS
    from sentiment_assets.defs.training.jobs import (
        TRAINING_ASSETS,
        train_and_promote,
        training_run_config,
    )

    console = console or RunConsole(verbose=True)
    for _ in TRAINING_ASSETS:
        wave = training_wave(instance, training)
        if not wave:
            return True
        for key, why in wave.items():
            console.step(f"Materializing {key.to_user_string()}: {why}")
        trains = TRAINED_MODELS in wave
        run_config = training_run_config(overrides) if trains else {}
        if not _execute(
            instance,
            console,
            train_and_promote.name,
            "Training",
            run_config=run_config,
            asset_selection=list(wave),
        ):
            return False
    left = training_wave(instance, training)
    if left:
        names = ", ".join(f"{key.to_user_string()} ({why})" for key, why in left.items())
        console.problem(f"Still stale after materializing each asset once: {names}")
    return not left


def _execute(
    instance: dg.DagsterInstance, console: RunConsole, job: str, title: str, **kwargs: Any
) -> bool:
    """One in-process run of `job`, shown on the console; refused while another run writes a
    SQLite MLflow store (checked before every run: the UI or the daemon may start one meanwhile)."""
    _refuse_while_store_busy(instance, console)
    from sqlalchemy.exc import DatabaseError

    _interrupts.check()
    run_id = None
    try:
        with console.job(instance, title) as run_id:
            try:
                result = _job(job).execute_in_process(
                    instance=instance, raise_on_error=False, run_id=run_id, **kwargs
                )
            finally:
                _interrupts.rearm()
        _interrupts.check()  # one Dagster took as a step's failure, a retry, or dropped
    except (KeyboardInterrupt, Interrupted):
        # Not alerted: a stop asked for. A run left unfinished (interrupted before it started,
        # or outside Dagster's handling) is marked failed now rather than by a later run.
        if run_id is not None:
            _fail_unfinished(instance, run_id)
        raise
    except DatabaseError as err:  # a step's own failures are the result's, not raised
        raise InstanceFailed(
            f"{title}: the Dagster instance at {settings.dagster_home()} could not be used: "
            f"{err.orig or err}; every value stored before is unchanged (a run left unstarted is "
            "marked failed by a later sentiment-run); run this again once that is fixed"
        ) from err
    if not result.success:
        url = f"{settings.dagster_ui_url()}/runs/{run_id}"
        console.problem(f"  {title} failed; its run in the Dagster UI (make dev): {url}")
    _alert(instance, run_id, console)
    return result.success


def _fail_unfinished(instance: dg.DagsterInstance, run_id: str) -> None:
    run = instance.get_run_by_id(run_id)
    if run is not None and not run.is_finished:  # Dagster's own "not ended"
        instance.report_run_failed(run, "sentiment-run was interrupted (Ctrl-C or SIGTERM)")


def _alert(instance: dg.DagsterInstance, run_id: str, console: RunConsole) -> None:
    """The run's alerts (its failure, its failed checks), as the daemon's sensors raise them: no
    daemon may be running, and one started later only looks at runs that end after it starts. An
    alert the daemon wrote already is not written again."""
    from sentiment_assets.defs.platform.alerts import deliver, run_alerts

    run = instance.get_run_by_id(run_id)
    raised = run_alerts(instance, run) if run is not None else []
    try:
        new = deliver(raised, lambda text: console.problem(f"  {text}"))
    except OSError as err:  # a full disk, say: the run's outcome stands, and is shown above
        console.problem(
            f"  the run's alerts could not be written to {settings.alerts_path()}: {err}"
        )
        return
    if new:
        console.problem(f"  {new} alert(s) written to {settings.alerts_path()}")


def _refuse_while_store_busy(instance: dg.DagsterInstance, console: RunConsole) -> None:
    """StoreBusy while another run writes a SQLite MLflow store (a tracking server takes many);
    runs left in progress by a process that is gone are failed first (they write nothing)."""
    from sentiment_assets.defs.platform.concurrency import runs_writing_mlflow
    from sentiment_assets.defs.platform.run_launcher import fail_dead_runs

    for dead, why in fail_dead_runs(instance):
        console.problem(f"Run {dead} was {why}: failed")

    if settings.sqlite_path(settings.tracking_uri()) is not None:
        busy = runs_writing_mlflow(instance)
        if busy:
            raise StoreBusy(
                f"Not ingesting or training: run {', '.join(busy)} is writing the MLflow store; "
                "run this again when it has finished (make dev shows it)"
            )


def _stored(instance: dg.DagsterInstance, asset: dg.AssetKey) -> Any:
    """The stored value of an asset of the training job."""
    from sentiment_assets.defs.asset_keys import PRODUCTION_MODEL, TRAINED_MODELS
    from sentiment_assets.lib.production import ProductionDecision
    from sentiment_assets.lib.training import TrainedModels

    kind = {PRODUCTION_MODEL: ProductionDecision, TRAINED_MODELS: TrainedModels}[asset]
    return _defs().load_asset_value(asset, instance=instance, python_type=kind)


@cache
def _defs() -> dg.Definitions:
    from sentiment_assets.definitions import defs

    return defs()


def _job(name: str) -> dg.JobDefinition:
    return _defs().resolve_job_def(name)


def cli() -> NoReturn:
    """The `sentiment-run` command."""
    try:
        code = main()
    except KeyboardInterrupt:  # before the interrupts were watched (imports, set-up) or after
        print(
            "sentiment-run: interrupted before any run started or after the last", file=sys.stderr
        )
        code = 128 + (_interrupts.received or signal.SIGINT)
    finish(code)


if __name__ == "__main__":
    cli()
