"""Sections 1, 2 and 4 of `benchmarks.serving`: `sentiment-predict`'s start-up against the imports
it cannot avoid, `--file` on growing files, and where one review's scoring time goes."""

from __future__ import annotations

import csv
import statistics
import subprocess
import sys
import time
from pathlib import Path

from benchmarks.report import Summary, print_table, verdict

BIN = Path(sys.executable).parent
STARTUP_TARGET = 1.3  # sentiment-predict's time over the baseline's


# Runs a command and reports its wall time and peak memory. A child's peak resident memory as the
# kernel counts it includes its parent's at the fork, so the command is started from this small
# process rather than from the benchmark, which holds the trained model.
_LAUNCHER = """
import os, sys, time
started = time.perf_counter()
pid = os.fork()
if pid == 0:
    os.execvp(sys.argv[2], sys.argv[2:])
_, status, usage = os.wait4(pid, 0)
with open(sys.argv[1], "w") as report:
    print(time.perf_counter() - started, usage.ru_maxrss * 1024, os.waitstatus_to_exitcode(status),
          file=report)
"""


def _run(command: list[str], env: dict[str, str], log: Path) -> tuple[float, int]:
    """Run to the end; wall seconds and peak resident memory in bytes (the kernel's account, not
    sampled)."""
    report = log.with_suffix(".measured")
    with log.open("wb") as output:
        launcher = [sys.executable, "-I", "-S", "-c", _LAUNCHER, str(report), *command]
        subprocess.run(launcher, env=env, stdout=output, stderr=subprocess.STDOUT, check=True)
    seconds, peak, code = report.read_text().split()
    if int(code):
        raise RuntimeError(f"{command[0]} failed ({code}): {log.read_text()[-2000:]}")
    return float(seconds), int(peak)


def startup(env: dict[str, str], folder: Path, rounds: int, summary: Summary) -> str:
    """Section 1: the three commands alternated, `rounds` times."""
    import pandas as pd

    mlflow_path = (
        "import mlflow.pyfunc, pandas as pd; m = mlflow.pyfunc.load_model("
        "'models:/customer-sentiment-analysis@production'); "
        "m.predict(pd.DataFrame({'review_text': ['one review']}))"
    )
    commands = {
        "python -c 'import mlflow.pyfunc, pandas, sklearn' (baseline)": [
            sys.executable,
            "-c",
            "import mlflow.pyfunc, pandas, sklearn",
        ],
        "sentiment-predict 'one review'": [str(BIN / "sentiment-predict"), "one review"],
        "mlflow.pyfunc.load_model(alias) and one prediction": [sys.executable, "-c", mlflow_path],
    }
    runs: dict[str, list[tuple[float, int]]] = {name: [] for name in commands}
    print(f"1. Start-up, {rounds} rounds ...", flush=True)
    for _ in range(rounds):
        for name, command in commands.items():
            runs[name].append(_run(command, env, folder / "startup.log"))
    baseline, predict = (runs[name] for name in list(commands)[:2])
    ratios = [p / b for (p, _), (b, _) in zip(predict, baseline, strict=True)]
    rows = [
        (
            name,
            f"{statistics.median(s for s, _ in found):.2f}",
            " ".join(f"{s:.2f}" for s, _ in found),
            f"{statistics.median(m for _, m in found) / 2**20:.0f}",
        )
        for name, found in runs.items()
    ]
    table = pd.DataFrame(rows, columns=["command", "median s", "every round (s)", "peak MiB"])
    modules = _imported_modules(commands["sentiment-predict 'one review'"], env)
    heavy = sorted(modules & {"tensorflow", "keras", "sqlalchemy", "alembic"}) or ["none of them"]
    ratio = statistics.median(ratios)
    text = (
        f"sentiment-predict / baseline, median of the {rounds} rounds' ratios: {ratio:.2f} "
        f"({' '.join(f'{r:.2f}' for r in ratios)}); of tensorflow, keras, sqlalchemy and "
        f"alembic it imports: {', '.join(heavy)}"
    )
    print_table("1. Start-up (fresh processes, alternated; the model: tfidf-nb)", table)
    print(text + "\n", flush=True)
    summary.append(
        (
            "sentiment-predict 'one review' / baseline imports",
            f"{ratio:.2f}x",
            verdict(ratio, STARTUP_TARGET, at_least=False, unit="x"),
        )
    )
    summary.append(
        (
            "sentiment-predict imports TensorFlow",
            "no" if "tensorflow" not in modules else "yes",
            "target: no",
        )
    )
    return f"{table.to_markdown(index=False)}\n\n{text}."


def _imported_modules(command: list[str], env: dict[str, str]) -> set[str]:
    """The top-level modules a command imports (Python's own import-time report)."""
    done = subprocess.run(
        command, env={**env, "PYTHONPROFILEIMPORTTIME": "1"}, capture_output=True, text=True
    )
    return {
        line.rsplit("|", 1)[1].strip().split(".")[0]
        for line in done.stderr.splitlines()
        if line.startswith("import time:") and "|" in line
    }


def _repeated_drops(drops: list[Path], factor: int, path: Path) -> None:
    """The drops' records `factor` times over, with fresh review ids, in the Kaggle layout."""
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out, lineterminator="\n")
        review_id = 0
        for drop in drops * factor:
            with drop.open(newline="", encoding="utf-8") as source:
                records = csv.reader(source)
                header = next(records)
                if review_id == 0:
                    writer.writerow(header)
                for record in records:
                    writer.writerow([str(review_id), *record[1:]])
                    review_id += 1


def file_throughput(
    env: dict[str, str], folder: Path, drops: list[Path], factors: list[int], summary: Summary
) -> str:
    """Section 2: `sentiment-predict --file` on growing files: wall time, reviews/s, peak memory."""
    import pandas as pd

    rows = []
    for factor in factors:
        source, target = folder / f"reviews_{factor}x.csv", folder / f"predictions_{factor}x.csv"
        _repeated_drops(drops, factor, source)
        print(f"2. sentiment-predict --file on the drops x{factor} ...", flush=True)
        command = [str(BIN / "sentiment-predict"), "--file", str(source), "--format", "csv"]
        seconds, peak = _run([*command, "--output", str(target)], env, folder / "file.log")
        with target.open() as scored:
            reviews = sum(1 for _ in scored) - 1
        rows.append(
            (
                f"x{factor}",
                f"{reviews:,}",
                f"{seconds:.1f}",
                f"{reviews / seconds:,.0f}",
                f"{peak / 2**20:.0f}",
            )
        )
    table = pd.DataFrame(
        rows,
        columns=["file", "reviews scored", "wall s", "reviews/s (start-up included)", "peak MiB"],
    )
    print_table("2. sentiment-predict --file (chunks of 2,000 reviews, CSV to --output)", table)
    summary.append(
        (
            f"sentiment-predict --file, peak memory at {' and '.join(r[0] for r in rows)}",
            " and ".join(f"{r[4]} MiB" for r in rows),
            "bounded: the same whatever the size",
        )
    )
    return table.to_markdown(index=False)


def one_review_cost(drop: Path, reviews: int = 300) -> str:
    """Section 4: where the time of scoring one review goes, in this process: MLflow's pyfunc
    (its input checks and schema enforcement), the model's `Predictor`, the family's scoring."""
    import mlflow.pyfunc
    import pandas as pd

    from sentiment_assets.lib.tracking import PRODUCTION_URI
    from sentiment_assets.model.reviews import TEXT, TITLE, read_reviews

    model = mlflow.pyfunc.load_model(PRODUCTION_URI)
    predictor = model.unwrap_python_model().predictor
    found = read_reviews(drop).dropna(subset=[TEXT]).head(reviews)
    singles = [
        (text, title if isinstance(title, str) else None)
        for text, title in zip(found[TEXT], found[TITLE], strict=True)
    ]

    def frame(text: str, title: str | None) -> pd.DataFrame:
        return pd.DataFrame({"review_text": [text], "title": [title]})

    stages = {
        "PyFuncModel.predict (MLflow's checks, then the model)": lambda t, h: model.predict(
            frame(t, h)
        ),
        "Predictor.predict (the model: refusals, threshold)": lambda t, h: predictor.predict(
            frame(t, h)
        ),
        "candidate.predict_proba (the family's scoring)": lambda t, h: (
            predictor.candidate.predict_proba([t], [h])
        ),
    }
    rows = []
    for name, stage in stages.items():
        timings = []
        for text, title in singles:
            started = time.perf_counter()
            stage(text, title)
            timings.append((time.perf_counter() - started) * 1000)
        rows.append((name, f"{statistics.median(timings):.2f}", f"{min(timings):.2f}"))
    table = pd.DataFrame(
        rows, columns=["stage (one real review, with its title)", "median ms", "min ms"]
    )
    print_table(f"4. One review's cost in-process ({len(singles)} reviews, one at a time)", table)
    return table.to_markdown(index=False)
