"""What the MLflow store tests share, locally and against a server: a tiny logged model, and the
experiment id as many threads or processes see it when they all ask at once."""

from __future__ import annotations

import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from sentiment_assets.lib.tracking import MlflowStore


def log_constant(store: MlflowStore, run_name: str) -> tuple[str, str]:
    """A tiny logged model in a run of its own: its URI and the run id."""
    import mlflow.pyfunc

    with store.start_run(run_name, {}) as run:
        info = mlflow.pyfunc.log_model(
            name="constant", python_model=_Constant(), pip_requirements=["mlflow"]
        )
    return info.model_uri, run.info.run_id


class _Constant(__import__("mlflow").pyfunc.PythonModel):
    """Answers its input: the least a logged model can do."""

    def predict(self, context, model_input, params=None):
        return model_input


def experiment_ids_from_threads(store: MlflowStore, threads: int = 8) -> set[str]:
    """The experiment id as many threads see it, all asking at the same moment."""
    start = threading.Barrier(threads)

    def create(_: int) -> str:
        start.wait()
        return store.experiment_id()

    with ThreadPoolExecutor(threads) as pool:
        return set(pool.map(create, range(threads)))


def experiment_ids_from_processes(store: MlflowStore, folder: Path, processes: int = 2) -> set[str]:
    """The experiment id as several processes see it, all asking at the same moment."""
    go = folder / "go"
    code = (
        "import sys, time, pathlib, mlflow\n"
        "from sentiment_assets.lib.tracking import MlflowStore\n"
        "store = MlflowStore(sys.argv[1], experiment_name=sys.argv[2])\n"
        "print('ready', flush=True)\n"
        "while not pathlib.Path(sys.argv[3]).exists(): time.sleep(0.005)\n"
        "print(store.experiment_id())\n"
    )
    command = [sys.executable, "-c", code, store.uri, store.experiment_name, str(go)]
    running = [
        subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(processes)
    ]
    assert [p.stdout.readline().strip() for p in running] == ["ready"] * processes
    go.touch()
    outputs = [process.communicate(timeout=120) for process in running]
    assert all(p.returncode == 0 for p in running), [err for _, err in outputs]
    return {out.strip() for out, _ in outputs}
