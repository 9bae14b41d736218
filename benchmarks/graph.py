"""Section 2: the whole graph (`sentiment-run` as a process of its own) on the real drops, asset by
asset, in a fresh data folder (`fresh_data_folder`, which section 4 uses too): its wall time, and
the peak resident memory of its process tree, whole and per step; then `sentiment-run` again on the
same drops, code and settings, which should train and write nothing."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple, TypeVar, cast

from benchmarks.memory import SAMPLE_SECONDS, gib, run_traced, step_intervals, step_peaks
from benchmarks.report import Summary, print_table, seconds_text, verdict

if TYPE_CHECKING:
    import dagster as dg
    import pandas as pd

    from sentiment_assets.lib.training import TrainedModels

GRAPH_TARGET_SECONDS = 25.0
PEAK_MEMORY_TARGET_GIB = 1.2
RERUN_TARGET_SECONDS = 5.0
TRAINING_TARGET_SECONDS = 120.0
QUALITY_TARGETS = (
    ("ROC AUC", "roc_auc", 0.955),
    ("accuracy", "accuracy", 0.91),
    ("F1 not recommended", "not_recommended_f1", 0.76),
)
ASSET_STEPS = (
    "raw_reviews",
    "stemmed_corpus",
    "padded_dataset",
    "trained_models",
    "production_model",
)

V = TypeVar("V")
# Per step, (partition or None, seconds) of every run of it.
StepDurations = dict[str, list[tuple[str | None, float]]]


class Rerun(NamedTuple):
    code: int
    seconds: float
    before: tuple[int, int, str | None]  # MLflow runs, versions, production version
    after: tuple[int, int, str | None]

    @property
    def wrote_nothing(self) -> bool:
        return self.before == self.after


class GraphOutcome(NamedTuple):
    ok: bool
    candidates: pd.DataFrame | None  # the candidates table, for README.md
    wall: float  # seconds of the whole sentiment-run, which section 4 is measured against


def benchmark_graph(drops: Sequence[Path], *, epochs: int | None, summary: Summary) -> GraphOutcome:
    """Run `sentiment-run` on copies of the drops in a fresh data folder, in a process of its own
    whose memory (with any child's) is sampled while it runs, and time every asset."""
    import dagster as dg
    import pandas as pd

    from sentiment_assets.lib.production import ProductionDecision
    from sentiment_assets.lib.training import TrainedModels

    command = [sys.executable, "-m", "sentiment_assets.cli.run"]
    command += [] if epochs is None else ["--epochs", str(epochs)]
    with fresh_data_folder("sentiment-benchmark-", drops) as root:
        print(f"2. Running {' '.join(command[1:])} in {root} ...", flush=True)
        log = root / "sentiment-run.log"
        code, wall, trace = run_traced(command, env=dict(os.environ), cwd=root, log=log)
        if code != 0:
            print("\n".join(log.read_text(errors="replace").splitlines()[-40:]))
        with dg.DagsterInstance.get() as instance:
            steps, runs = _step_durations(instance)
            peaks = step_peaks(trace, step_intervals(instance))
            trained = _stored_value(instance, "trained_models", TrainedModels)
            decision = _stored_value(instance, "production_model", ProductionDecision)
        rerun = _unchanged_rerun(command[3:])
    print()

    rows = []
    for step in sorted(steps, key=_step_order):
        durations = steps[step]
        partitions = [key for key, _ in durations if key is not None]
        count = f"{len(partitions)} partitions" if partitions else f"{len(durations)} run(s)"
        detail = ", ".join(f"{key} {seconds:.2f}" for key, seconds in durations if key is not None)
        if step == "trained_models" and trained is not None:
            fitting = sum(c.training_seconds for c in trained.candidates)
            detail = f"{len(trained.candidates)} candidates, {fitting:.1f} s fitting, one at a time"
        peak = gib(peaks[step]) if step in peaks else ""
        rows.append((step, count, seconds_text(sum(s for _, s in durations)), peak, detail))
    step_total = sum(s for durations in steps.values() for _, s in durations)
    run_total = sum(seconds for _, seconds in runs)
    wall_verdict = verdict(wall, GRAPH_TARGET_SECONDS, at_least=False, unit=" s")
    peak_gib = trace.peak / 2**30
    memory_verdict = verdict(peak_gib, PEAK_MEMORY_TARGET_GIB, at_least=False, unit=" GiB")
    rows += [
        (
            "all asset steps",
            f"{sum(map(len, steps.values()))} steps",
            seconds_text(step_total),
            "",
            "",
        ),
        ("Dagster runs, start to end", f"{len(runs)} runs", seconds_text(run_total), "", ""),
        ("whole graph (sentiment-run)", "", seconds_text(wall), gib(trace.peak), wall_verdict),
        (
            "sentiment-run again, unchanged (own process)",
            f"exit {rerun.code}",
            seconds_text(rerun.seconds),
            "",
            f"MLflow runs {rerun.before[0]} -> {rerun.after[0]}, "
            f"versions {rerun.before[1]} -> {rerun.after[1]}",
        ),
    ]
    print_table(
        "2. Each asset's time and peak memory (full graph on the real drops, fresh instance)",
        pd.DataFrame(
            rows, columns=["asset", "runs/partitions", "seconds", "peak memory", "detail"]
        ),
    )
    print(
        "Seconds: a step's are from its start to its success in the event log; the whole graph's "
        "are the wall time of the sentiment-run process, from its start (interpreter, imports) to "
        "its exit. Peak memory: the resident memory of that process and every process it started, "
        "summed (a child forked but not yet running a program of its own counts what it holds "
        f"alone), sampled every {SAMPLE_SECONDS:g} s; a step's is the highest seen while it ran.\n"
    )
    candidates = _candidates_table(trained) if trained is not None else None
    if candidates is not None:
        print_table("Candidates (trained_models), test split of the real drops", candidates)
    training_seconds = sum(s for _, s in steps.get("trained_models", []))
    summary += [
        ("whole graph on the real drops, wall", f"{wall:.1f} s", wall_verdict),
        (
            "whole graph, peak memory (sentiment-run and its children)",
            f"{peak_gib:.2f} GiB",
            memory_verdict,
        ),
        (
            "sentiment-run again on unchanged data, wall",
            f"{rerun.seconds:.1f} s",
            verdict(rerun.seconds, RERUN_TARGET_SECONDS, at_least=False, unit=" s")
            + ("; no MLflow write" if rerun.wrote_nothing else "; MLflow WRITTEN (target: none)"),
        ),
        (
            f"trained_models, all {len(trained.candidates) if trained is not None else 0} candidates",
            f"{training_seconds:.1f} s",
            verdict(training_seconds, TRAINING_TARGET_SECONDS, at_least=False, unit=" s"),
        ),
    ]
    if decision is not None:
        print(
            f"production_model: {'promoted' if decision.promoted else 'kept'} "
            f"({decision.reason}); production version {decision.production_version}"
        )
        held = decision.production
        if held is not None:
            metrics = held.test.as_dict()
            print_table(
                "Production model, test metrics",
                pd.DataFrame({"test": metrics}).round(4).rename_axis("metric"),
            )
            summary += [
                (
                    f"production model ({held.name}) test {name}",
                    f"{metrics[key]:.4f}",
                    verdict(metrics[key], target, at_least=True, unit=""),
                )
                for name, key, target in QUALITY_TARGETS
            ]
    if code != 0:
        print(f"sentiment-run exited with {code}; the graph did not finish cleanly\n")
    if rerun.code != 0 or not rerun.wrote_nothing:
        print(f"sentiment-run on unchanged data exited with {rerun.code} or wrote to MLflow\n")
    return GraphOutcome(code == 0 and rerun.code == 0 and rerun.wrote_nothing, candidates, wall)


def _unchanged_rerun(argv: list[str]) -> Rerun:
    """`sentiment-run` again with the same arguments, as a process of its own (so its imports
    count, as they do for a person typing it), and what MLflow held before and after."""
    from sentiment_assets_tests.support import mlflow_writes

    before = mlflow_writes()
    print("2. Running sentiment-run again on the same drops ...", flush=True)
    command = [str(Path(sys.executable).parent / "sentiment-run"), *argv]
    started = time.perf_counter()
    code = subprocess.run(command, capture_output=True, check=False).returncode
    return Rerun(code, time.perf_counter() - started, before, mlflow_writes())


@contextlib.contextmanager
def fresh_data_folder(prefix: str, drops: Sequence[Path]) -> Iterator[Path]:
    """A temporary SENTIMENT_DATA_DIR with copies of `drops` in its landing folder, its own
    DAGSTER_HOME and the default SQLite MLflow store under it, set in the environment for the
    block: the benchmark never touches the project's data or a configured tracking server."""
    with tempfile.TemporaryDirectory(prefix=prefix) as tmp:
        root = Path(tmp)
        (root / "landing").mkdir()
        for path in drops:
            shutil.copyfile(path, root / "landing" / path.name)
        environment = {
            "SENTIMENT_DATA_DIR": str(root),
            "DAGSTER_HOME": str(root / "dagster_home"),
            "MLFLOW_TRACKING_URI": None,
        }
        # sentiment-run sets DAGSTER_HOME itself, so restore every variable, not only ours.
        saved = {name: os.environ.get(name) for name in environment}
        try:
            _set_environment(environment)
            yield root
        finally:
            _set_environment(saved)


def _set_environment(values: dict[str, str | None]) -> None:
    """Set the variables; None unsets one."""
    for name, value in values.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


def _stored_value(instance: dg.DagsterInstance, asset: str, kind: type[V]) -> V | None:
    """The asset's latest value read back as `kind` through its IO manager (never by file path);
    None when it never materialized, as after a failed run."""
    import dagster as dg

    from sentiment_assets_tests.support import definitions

    key = dg.AssetKey(asset)
    if not instance.fetch_materializations(key, limit=1).records:
        return None
    return cast(V, definitions().load_asset_value(key, instance=instance, python_type=kind))


def _step_durations(
    instance: dg.DagsterInstance,
) -> tuple[StepDurations, list[tuple[str, float]]]:
    """Per step, (partition, seconds from STEP_START to STEP_SUCCESS) of every run; run durations."""
    import dagster as dg

    kinds = {dg.DagsterEventType.STEP_START, dg.DagsterEventType.STEP_SUCCESS}
    steps: StepDurations = defaultdict(list)
    runs = []
    for record in sorted(instance.get_run_records(), key=lambda r: r.create_timestamp):
        dagster_run = record.dagster_run
        started: dict[str, float] = {}
        for entry in instance.all_logs(dagster_run.run_id, of_type=kinds):
            step = entry.step_key
            if step is None or entry.dagster_event is None:
                continue
            if entry.dagster_event.event_type == dg.DagsterEventType.STEP_START:
                started.setdefault(step, entry.timestamp)  # a retry restarts, keep the first
            elif step in started:
                partition = dagster_run.tags.get("dagster/partition")
                steps[step].append((partition, entry.timestamp - started[step]))
        if record.start_time and record.end_time:
            runs.append((dagster_run.job_name, record.end_time - record.start_time))
    return steps, runs


def _step_order(step: str) -> int:
    return ASSET_STEPS.index(step) if step in ASSET_STEPS else len(ASSET_STEPS)


def _candidates_table(trained: TrainedModels) -> pd.DataFrame:
    import pandas as pd

    return pd.DataFrame(
        [
            {
                "candidate": c.name,
                "family": c.family,
                "val ROC AUC": round(c.validation.roc_auc, 4),
                "test ROC AUC": round(c.test.roc_auc, 4),
                "test accuracy": round(c.test.accuracy, 4),
                "not-rec precision": round(c.test.not_recommended_precision, 4),
                "not-rec recall": round(c.test.not_recommended_recall, 4),
                "not-rec F1": round(c.test.not_recommended_f1, 4),
                "threshold": c.threshold,
                "epochs": c.epochs_trained,
                "training s": round(c.training_seconds, 1),
            }
            for c in trained.candidates
        ]
    )
