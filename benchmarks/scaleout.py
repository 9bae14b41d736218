"""`python -m benchmarks.scaleout`: what the scale-out profile buys and what data size costs.

1. The whole graph (`sentiment-run`, embedded profile) at 1x, 3x and 10x the real drops (sample
   drops for the extra rows): wall time, and peak memory of the run and of each step.
2. Twelve drops landing at once on the scale-out stack: one Celery worker against two.
3. Logging and registering one candidate: the SQLite store against the tracking server.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import math
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.memory import gib, run_traced, step_intervals, step_peaks
from benchmarks.report import PROJECT_ROOT, Summary, Tee, machine_facts, print_table, record_section

STEPS = ("raw_reviews", "stemmed_corpus", "padded_dataset", "trained_models", "production_model")
PLOT = PROJECT_ROOT / "docs" / "benchmarks" / "scaleout.png"
REPEATS = 5


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--factors", type=int, nargs="+", default=[1, 3, 10])
    parser.add_argument("--record", action="store_true", help="write BENCHMARKS.md's section")
    args = parser.parse_args(argv)
    from sentiment_assets_tests.support import real_drops_dir

    drops = sorted(real_drops_dir().glob("*.csv"))
    if not drops:
        print(f"no review drops in {real_drops_dir()}", file=sys.stderr)
        return 2
    output, summary = io.StringIO(), []
    with contextlib.redirect_stdout(Tee(sys.stdout, output)):
        print_table("Machine", machine_facts())
        data_size(drops, args.factors, summary)
        with tempfile.TemporaryDirectory(prefix="sentiment-scaleout-") as tmp:
            ingestion(drops, Path(tmp), summary)
    if args.record:
        record_section("scaleout", "python -m benchmarks.scaleout --record", output.getvalue())
    return 0


def data_size(drops: list[Path], factors: list[int], summary: Summary) -> None:
    """Section 1: sentiment-run as a process of its own on the real drops plus sample drops."""
    import dagster as dg
    import pandas as pd

    from sentiment_assets.cli.sample_drops import write_sample_drops
    from sentiment_assets.model.reviews import read_reviews

    real_rows = sum(len(read_reviews(p)) for p in drops)
    rows = []
    for factor in factors:
        with tempfile.TemporaryDirectory(prefix=f"sentiment-size-{factor}x-") as tmp:
            root = Path(tmp)
            landing = root / "landing"
            landing.mkdir()
            for drop in drops:
                (landing / drop.name).write_bytes(drop.read_bytes())
            extra = (factor - 1) * real_rows
            if extra:
                write_sample_drops(
                    landing, drops=math.ceil(extra / 6000), rows_per_drop=6000, seed=factor
                )
            env = {
                **os.environ,
                "SENTIMENT_DATA_DIR": str(root),
                "DAGSTER_HOME": str(root / "home"),
            }
            env.pop("MLFLOW_TRACKING_URI", None)
            print(f"1. sentiment-run on {real_rows + extra:,} reviews ({factor}x) ...", flush=True)
            command = [str(Path(sys.executable).parent / "sentiment-run")]
            code, wall, trace = run_traced(command, env=env, cwd=root, log=root / "run.log")
            with dg.DagsterInstance.from_config(str(root / "home")) as instance:
                intervals = step_intervals(instance)
            peaks = step_peaks(trace, intervals)
            row = {"factor": f"{factor}x", "reviews": real_rows + extra, "exit": code}
            row |= {"wall s": round(wall, 1), "peak": gib(trace.peak)}
            for step in STEPS:
                spans = intervals.get(step, [])
                row[f"{step} s"] = round(sum(end - start for start, end in spans), 1)
                row[f"{step} peak"] = gib(peaks.get(step, 0))
            rows.append(row)
    table = pd.DataFrame(rows)
    print_table("1. The whole graph against data size (embedded profile, sentiment-run)", table)
    _plot(table)
    summary += [(f"whole graph, {r['factor']}", f"{r['wall s']} s, {r['peak']}", "") for r in rows]


def _plot(table: object) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (left, right) = plt.subplots(1, 2, figsize=(9, 3.4), dpi=90)
    reviews = table["reviews"]  # type: ignore[index]
    left.plot(reviews, table["wall s"], marker="o", label="whole graph")  # type: ignore[index]
    for step in ("stemmed_corpus", "padded_dataset", "trained_models"):
        left.plot(reviews, table[f"{step} s"], marker=".", label=step)  # type: ignore[index]
    left.set(xlabel="reviews", ylabel="seconds", title="Wall time")
    right.plot(
        reviews,
        [float(p.split()[0]) for p in table["peak"]],  # type: ignore[index]
        marker="o",
        label="whole run",
    )
    right.set(xlabel="reviews", ylabel="GiB", title="Peak resident memory")
    for axis in (left, right):
        axis.legend(fontsize=7)
        axis.grid(alpha=0.3)
    figure.tight_layout()
    PLOT.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(PLOT)
    plt.close(figure)
    print(f"Plot: {PLOT.relative_to(PROJECT_ROOT)}\n")


def ingestion(drops: list[Path], tmp: Path, summary: Summary) -> None:
    """Sections 2 and 3 on the scale-out stack: twelve drops on one worker, then on two (a fresh
    stack each); then the tracking overhead against the second stack's server."""
    import pandas as pd

    from sentiment_assets_tests.scaleout.stack import running_stack

    pieces = _twelve_drops(drops, tmp / "pieces")
    rows = []
    for workers in (1, 2):
        with running_stack(tmp / f"stack-{workers}", workers=workers) as stack:
            landed, runs = _land_and_wait(stack, pieces)
            span = max(r["endTime"] for r in runs) - min(r["startTime"] for r in runs)
            rows.append(
                {
                    "workers": workers,
                    "landing to last ingestion s": round(landed, 1),
                    "first run start to last run end s": round(span, 1),
                }
            )
            if workers == 2:
                overhead = tracking_overhead(stack.env["MLFLOW_TRACKING_URI"], tmp / "sqlite")
    table = pd.DataFrame(rows)
    ratio = (
        rows[0]["first run start to last run end s"] / rows[1]["first run start to last run end s"]
    )
    print_table("2. Twelve drops landing at once (scale-out stack)", table)
    print(f"one worker / two workers, run span: {ratio:.2f}x\n")
    print_table("3. Logging and registering one candidate (median of 5)", overhead)
    summary.append(("12 drops, 1 worker / 2 workers", f"{ratio:.2f}x", ""))


def _twelve_drops(drops: list[Path], folder: Path) -> list[Path]:
    """The three real drops, each cut into four drops of 1,500 reviews, in the Kaggle layout."""
    from sentiment_assets.model.reviews import REVIEW_ID, read_reviews

    folder.mkdir(parents=True)
    pieces = []
    for drop in drops:
        reviews = read_reviews(drop)
        for n, start in enumerate(range(0, len(reviews), math.ceil(len(reviews) / 4)), start=1):
            part = reviews.iloc[start : start + math.ceil(len(reviews) / 4)]
            path = folder / f"{drop.stem}-part{n}.csv"
            part.rename(columns={REVIEW_ID: ""}).to_csv(path, index=False, lineterminator="\n")
            pieces.append(path)
    return pieces


def _land_and_wait(stack: object, pieces: list[Path]) -> tuple[float, list[dict]]:
    """Land every piece at once (written hidden, then renamed); seconds until every ingestion run
    succeeded, and the runs."""
    from sentiment_assets_tests.processes import wait_until
    from sentiment_assets_tests.scaleout.runs import finished

    landing = stack.root / "data" / "landing"  # type: ignore[attr-defined]
    for piece in pieces:
        (landing / f".{piece.name}").write_bytes(piece.read_bytes())
    started = time.perf_counter()
    for piece in pieces:
        (landing / f".{piece.name}").rename(landing / piece.name)
    runs = wait_until(
        f"{len(pieces)} ingestion runs",
        lambda: finished(stack, "ingest_drop", len(pieces)),
        1200,
        alive=list(stack.processes.values()),  # type: ignore[attr-defined]
        interval=1,
    )
    return time.perf_counter() - started, runs


def tracking_overhead(server_uri: str, folder: Path) -> object:
    """Seconds to log one TF-IDF candidate and to register it, on each store."""
    import pandas as pd

    from benchmarks.future import stemmed_drops
    from sentiment_assets.cli.sample_drops import write_sample_drops
    from sentiment_assets.lib.tracking import MlflowStore
    from sentiment_assets.model.candidates import make_candidate
    from sentiment_assets.model.dataset import build_dataset
    from sentiment_assets.model.predictions import Predictor

    # MLflow writes a "View run ... at" link to stdout for each run on a tracking server: noise in
    # the record.
    os.environ["MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT"] = "true"
    paths = write_sample_drops(folder / "drops", drops=2, rows_per_drop=1500)
    dataset = build_dataset(stemmed_drops(paths))
    candidate = make_candidate("tfidf-logreg", "tfidf")
    candidate.fit(dataset)
    predictor = Predictor(candidate, 0.5)
    rows = []
    for name, uri in (
        ("SQLite store", f"sqlite:///{folder / 'mlflow.db'}"),
        ("tracking server", server_uri),
    ):
        store = MlflowStore(uri)
        logged, registered = [], []
        for _ in range(REPEATS):
            with store.start_run("overhead", {}) as run:
                started = time.perf_counter()
                info = store.log_model(predictor)
                logged.append(time.perf_counter() - started)
                started = time.perf_counter()
                store.register_version(info.model_uri, run.info.run_id)
                registered.append(time.perf_counter() - started)
        rows.append(
            {
                "store": name,
                "log_model s": round(statistics.median(logged), 3),
                "register s": round(statistics.median(registered), 3),
            }
        )
    return pd.DataFrame(rows)


if __name__ == "__main__":
    sys.exit(main())
