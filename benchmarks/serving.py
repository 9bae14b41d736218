"""`python -m benchmarks.serving [--record]`: how fast predictions are, from the shell and served.

On a TF-IDF production model (tfidf-nb, production's family) trained on the three real drops, in
a data folder of its own:

1. Start-up: `sentiment-predict "one review"` against `python -c "import mlflow.pyfunc, pandas,
   sklearn"` (the imports any such command pays) and against MLflow's own path (`load_model` on
   the alias, one prediction), alternated, round after round: medians and the ratio per round.
2. `--file`: reviews per second and peak memory on the real drops repeated 1x and 10x.
3. `mlflow models serve`: requests per second and latency percentiles under a bounded load from a
   second process (`benchmarks.http_load`), one review per request and batches of 100 and 1,000,
   for the model and for a trivial pyfunc (a constant) served the same way: the server's ceiling.
4. One review's cost in this process: MLflow's pyfunc, the model's `Predictor`, the family.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

from benchmarks.predict_cli import BIN, file_throughput, one_review_cost, startup
from benchmarks.report import (
    PROJECT_ROOT,
    Summary,
    Tee,
    machine_facts,
    missing_readme_blocks,
    print_table,
    record_readme_block,
    record_section,
    summary_table,
    verdict,
)

COMMAND = "python -m benchmarks.serving --record"
SERVING_SHARE_TARGET = 2 / 3  # one review per request, against the trivial pyfunc's requests/s
P99_TARGET_MS = 100
BATCHES = (1, 100, 1000)
MIN_ANSWERS = 20  # a load's window stays open until it has this many (a p99 of fewer is a max)
STAGGER = 0.05  # seconds between opening two connections (`benchmarks.http_load`)
# The README blocks it fills: start-up, --file, serving with one review's cost.
README_BLOCKS = ("serving-startup", "serving-file", "serving")
MODEL = "tfidf-nb"  # the family of the candidate a new drop retrains, hence production's
# Scores every review 0.5: what MLflow serves it at is the scoring server's own ceiling.
TRIVIAL_MODEL = Path(__file__).with_name("trivial_model.py")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--record", action="store_true", help="write BENCHMARKS.md and README")
    parser.add_argument("--rounds", type=int, default=7, help="start-up rounds")
    parser.add_argument("--file-factors", type=int, nargs="+", default=[1, 10])
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--serving-rounds", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=8.0, help="measured seconds per load")
    parser.add_argument("--connections", type=int, default=4)
    args = parser.parse_args(argv)
    from sentiment_assets_tests.support import real_drops_dir

    drops = sorted(real_drops_dir().glob("*.csv"))
    if not drops:
        print(f"no review drops in {real_drops_dir()}", file=sys.stderr)
        return 2
    if args.record and (missing := missing_readme_blocks(README_BLOCKS)):
        print(f"README.md has no <!-- bench:NAME:start/end --> for {missing}", file=sys.stderr)
        return 2  # found now, not after ten minutes of measuring
    output, summary, tables = io.StringIO(), [], {}
    with (
        contextlib.redirect_stdout(Tee(sys.stdout, output)),
        tempfile.TemporaryDirectory(prefix="sentiment-serving-") as tmp,
    ):
        print_table("Machine", machine_facts())
        folder = Path(tmp)
        env = _production_model(folder, drops)
        startup_block, file_block, serving_block = README_BLOCKS
        tables[startup_block] = startup(env, folder, args.rounds, summary)
        tables[file_block] = file_throughput(env, folder, drops, args.file_factors, summary)
        tables[serving_block] = "\n\n".join(
            [serving(env, folder, drops[0], args, summary), one_review_cost(drops[0])]
        )
        print_table("Summary", summary_table(summary))
    if args.record:
        record_section("serving", COMMAND, output.getvalue())
        when = time.strftime("%Y-%m-%d")
        for name, table in tables.items():
            record_readme_block(name, f"Measured by `{COMMAND}` on {when}.\n\n{table}")
    return 0


def _production_model(folder: Path, drops: list[Path]) -> dict[str, str]:
    """Train tfidf-nb (what a new drop retrains) on the drops into `folder`'s store, put it in
    production; the environment every command then runs in."""
    from benchmarks.future import stemmed_drops
    from sentiment_assets.lib.tracking import MlflowStore
    from sentiment_assets.lib.training import plan, train_candidate
    from sentiment_assets.model.candidates import make_candidate
    from sentiment_assets.model.dataset import build_dataset

    env = {**os.environ, "SENTIMENT_DATA_DIR": str(folder)}
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"  # the scoring server runs uvicorn
    env.pop("MLFLOW_TRACKING_URI", None)
    os.environ.update(env)
    os.environ.pop("MLFLOW_TRACKING_URI", None)
    print(f"Training {MODEL} on the real drops ...", flush=True)
    dataset = build_dataset(stemmed_drops(drops))
    store = MlflowStore.default()
    candidate = make_candidate(MODEL, MODEL)
    with contextlib.redirect_stderr(io.StringIO()):
        result, _ = train_candidate(dataset, plan(candidate), store, tags={})
        store.set_production(store.register_version(result.model_uri, result.run_id))
    env["MLFLOW_TRACKING_URI"] = store.uri
    return env


def serving(
    env: dict[str, str], folder: Path, drop: Path, args: argparse.Namespace, summary: Summary
) -> str:
    """Section 3: both models served side by side, loaded in turn, round after round."""
    import pandas as pd

    from sentiment_assets.lib.tracking import PRODUCTION_URI
    from sentiment_assets_tests.processes import stop_group

    models = {"trivial pyfunc": str(_trivial_model(folder)), MODEL: PRODUCTION_URI}
    bodies = _bodies(drop, folder)
    found: dict[tuple[int, int, str], list[dict]] = {}
    for workers in args.workers:
        print(f"3. mlflow models serve --workers {workers}, {len(models)} models ...", flush=True)
        servers = {name: _serve(uri, workers, env, folder, name) for name, uri in models.items()}
        try:
            for _ in range(args.serving_rounds):
                for batch in BATCHES:
                    for name, (process, port) in servers.items():
                        result = _load(port, bodies[batch], args, process.pid)
                        found.setdefault((workers, batch, name), []).append(result)
                        # Progress for the person watching, kept out of the record: the
                        # table below holds every round's answers.
                        print(
                            f"   {name}, {batch} per request: "
                            f"{result['requests'] / result['seconds']:.1f} requests/s",
                            file=sys.stderr,
                            flush=True,
                        )
        finally:
            for process, _ in servers.values():
                stop_group(process)
    rows = [_row(*key, results) for key, results in found.items()]
    table = pd.DataFrame(rows)
    print_table(
        f"3. mlflow models serve: {args.connections} keep-alive connections from a second process "
        f"(opened {STAGGER:g} s apart), "
        f"{args.seconds:g} s measured after 2 s of warm-up (longer until {MIN_ANSWERS} answers are "
        f"in), median of {args.serving_rounds} rounds (real reviews with their titles)",
        table,
    )
    for workers in args.workers:
        single = table[(table["workers"] == workers) & (table["reviews per request"] == 1)]
        rate = single.set_index("model")["requests/s"]
        # Each round serves both models one after the other, so a round's ratio compares them on
        # the same machine; the machine's pace drifts between rounds (README, "Benchmark").
        ratios = [
            (model["requests"] / model["seconds"]) / (trivial["requests"] / trivial["seconds"])
            for model, trivial in zip(
                found[(workers, 1, MODEL)], found[(workers, 1, "trivial pyfunc")], strict=True
            )
        ]
        share = statistics.median(ratios)
        p99 = float(single.set_index("model")["p99 ms"][MODEL])
        # An error answer is counted as an answer: say so beside the rate it inflates.
        errors = int(single["errors"].sum())
        caveat = f" ({errors} error answers among them)" if errors else ""
        summary.append(
            (
                f"one review per request, {workers} worker(s): {MODEL} / trivial pyfunc, "
                "median of the rounds' ratios",
                f"{share:.2f} ({' '.join(f'{r:.2f}' for r in ratios)}); medians "
                f"{rate[MODEL]:.0f} / {rate['trivial pyfunc']:.0f} req/s{caveat}",
                verdict(share, SERVING_SHARE_TARGET, at_least=True, unit=""),
            )
        )
        summary.append(
            (
                f"one review per request, {workers} worker(s): {MODEL} p99",
                f"{p99:.0f} ms",
                verdict(p99, P99_TARGET_MS, at_least=False, unit=" ms"),
            )
        )
    return table.to_markdown(index=False)


def _row(workers: int, batch: int, name: str, results: list[dict]) -> dict:
    """One table row: medians over the rounds; a load with no answer in its window (a request
    slower than the window) has no percentiles, and its row says so rather than guess."""
    answered = [r for r in results if r["requests"]]
    per_second = statistics.median(r["requests"] / r["seconds"] for r in results)

    def median_ms(key: str) -> float | None:
        return round(statistics.median(r[key] for r in answered), 1) if answered else None

    return {
        "workers": workers,
        "reviews per request": batch,
        "model": name,
        "requests/s": round(per_second, 1),
        "reviews/s": round(per_second * batch),
        "p50 ms": median_ms("p50_ms"),
        "p99 ms": median_ms("p99_ms"),
        "answers": "+".join(str(r["requests"]) for r in results),
        "errors": sum(r["errors"] for r in results),
        "load generator CPU %": round(
            100 * statistics.median(r["client_cpu_seconds"] / r["seconds"] for r in results)
        ),
        "server CPU by process %": " ".join(r["server_cpu_split"] for r in results),
    }


def _trivial_model(folder: Path) -> Path:
    """A pyfunc with the production model's signature that returns a constant."""
    import mlflow.pyfunc

    from sentiment_assets.model.predictions import signature

    path = folder / "trivial"
    with warnings.catch_warnings():  # MLflow's advice on type hints and input examples
        warnings.simplefilter("ignore")
        mlflow.pyfunc.save_model(
            str(path),
            python_model=str(TRIVIAL_MODEL),
            signature=signature(),
            pip_requirements=[f"mlflow=={mlflow.__version__}", "pandas"],
        )
    return path


def _bodies(drop: Path, folder: Path) -> dict[int, Path]:
    """For each batch size, files of request bodies holding the drop's reviews and titles, in
    turn (a different review in each single-review request)."""
    from sentiment_assets.model import predictions as p
    from sentiment_assets.model.reviews import TEXT, TITLE, read_reviews

    reviews = read_reviews(drop).dropna(subset=[TEXT])
    rows = [
        [text, title if isinstance(title, str) else None]
        for text, title in zip(reviews[TEXT], reviews[TITLE], strict=True)
    ]
    paths = {}
    for batch in BATCHES:
        bodies = [
            {
                "dataframe_split": {
                    "columns": [p.TEXT_COLUMN, p.TITLE_COLUMN],
                    "data": rows[i : i + batch],
                }
            }
            for i in range(0, len(rows) - batch + 1, batch)
        ][:500]
        paths[batch] = folder / f"bodies_{batch}.json"
        paths[batch].write_text(json.dumps(bodies))
    return paths


def _serve(uri: str, workers: int, env: dict[str, str], folder: Path, name: str):
    """`mlflow models serve` on a free loopback port, once it answers /ping: (process, port)."""
    import urllib.request

    from sentiment_assets_tests.processes import free_port, start_group, wait_until

    port = free_port()
    command = [sys.executable, "-m", "mlflow", "models", "serve", "-m", uri, "--env-manager"]
    command += ["local", "-h", "127.0.0.1", "-p", str(port), "--workers", str(workers)]
    log = folder / f"serve-{name.replace(' ', '-')}-{workers}.log"
    process = start_group(command, log, env=env)

    def ready() -> bool | None:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/ping", timeout=5) as answer:
                return answer.status == 200 or None
        except OSError:
            return None

    wait_until(f"mlflow models serve answering on {port} (see {log})", ready, 180, alive=[process])
    return process, port


def _load(port: int, bodies: Path, args: argparse.Namespace, server_group: int) -> dict:
    """One load (`benchmarks.http_load`) and how the server's processes shared the CPU it took
    (`cpu_split`: "52/48", two workers took the load evenly; "100", one took it all)."""
    command = [sys.executable, "-m", "benchmarks.http_load", "--port", str(port), "--bodies"]
    command += [str(bodies), "--connections", str(args.connections), "--seconds", str(args.seconds)]
    command += ["--min-answers", str(MIN_ANSWERS), "--stagger", str(STAGGER)]
    before = group_cpu(server_group)
    done = subprocess.run(command, cwd=PROJECT_ROOT, capture_output=True, text=True, check=True)
    return {
        **json.loads(done.stdout),
        "server_cpu_split": cpu_split(before, group_cpu(server_group)),
    }


def cpu_split(before: dict[int, float], after: dict[int, float]) -> str:
    """Each process's share of the CPU seconds the group used between two `group_cpu` readings,
    in %, largest first, those under 10 % left out: "52/48", or "100" for one process."""
    used = {pid: seconds - before.get(pid, 0.0) for pid, seconds in after.items()}
    total = sum(used.values())
    if total <= 0:
        return "idle"
    shares = sorted(
        (round(100 * s / total) for s in used.values() if s >= 0.1 * total), reverse=True
    )
    return "/".join(map(str, shares))


def group_cpu(group: int) -> dict[int, float]:
    """CPU seconds (user and system) of each live process in the process group, from /proc."""
    ticks = os.sysconf("SC_CLK_TCK")
    found = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, IndexError, ValueError):
            # After the command's closing parenthesis: state, ppid, pgrp, ..., utime (12th), stime.
            fields = stat.read_text().rpartition(")")[2].split()
            if int(fields[2]) == group:
                found[int(stat.parent.name)] = (int(fields[11]) + int(fields[12])) / ticks
    return found


if __name__ == "__main__":
    sys.exit(main())
