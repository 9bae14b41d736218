"""Section 3: how long the code location takes to load, and whether that pulls in TensorFlow."""

from __future__ import annotations

import subprocess
import sys

from benchmarks.report import PROJECT_ROOT, Summary, print_table, seconds_text, verdict

LOAD_TARGET_SECONDS = 2.0
LOAD_REPEATS = 3
# What a code server (`dagster dev`'s, the daemon's) does on load: import the module, build the
# definitions, which loads every module under defs/ (the import alone loads none of them), and
# build the repository's snapshot, which it sends the UI.
LOAD_SNIPPET = (
    "import time,sys; t=time.perf_counter(); import sentiment_assets.definitions as d; "
    "from dagster._core.remote_representation.external_data import RepositorySnap; "
    "RepositorySnap.from_def(d.defs().get_repository_def()); "
    "print(time.perf_counter()-t, 'tensorflow' in sys.modules)"
)


def benchmark_load(*, summary: Summary) -> bool:
    """Load the code location in fresh interpreters, as `dagster dev` and the daemon do."""
    import pandas as pd

    timings = []
    for _ in range(LOAD_REPEATS):
        done = subprocess.run(
            [sys.executable, "-c", LOAD_SNIPPET],
            capture_output=True,
            text=True,
            cwd=PROJECT_ROOT,
            check=False,
        )
        if done.returncode != 0:
            print(f"3. Loading the code location failed:\n{done.stderr}")
            return False
        seconds, tensorflow = done.stdout.split()[-2:]
        timings.append((float(seconds), tensorflow == "True"))
    best, _ = min(timings)
    tensorflow = any(tf for _, tf in timings)
    rows = [
        (
            "import sentiment_assets.definitions, defs(), repository snapshot",
            seconds_text(best),
            ", ".join(f"{s:.2f}" for s, _ in timings),
            verdict(best, LOAD_TARGET_SECONDS, at_least=False, unit=" s"),
        ),
        (
            "tensorflow imported",
            "yes" if tensorflow else "no",
            "",
            f"target: not imported: {'NOT met' if tensorflow else 'met'}",
        ),
    ]
    print_table(
        f"3. Code-location load time (fresh subprocess, best of {LOAD_REPEATS})",
        pd.DataFrame(rows, columns=["measure", "value", "all runs (s)", "target"]),
    )
    summary.append(
        (
            f"code-location load, best of {LOAD_REPEATS}",
            f"{best:.2f} s, TensorFlow {'imported' if tensorflow else 'not imported'}",
            verdict(best, LOAD_TARGET_SECONDS, at_least=False, unit=" s"),
        )
    )
    return True
