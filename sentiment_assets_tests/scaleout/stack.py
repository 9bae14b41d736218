"""The scale-out profile on one machine, for real: PostgreSQL, Redis, SeaweedFS (an S3 server), an
MLflow tracking server, a Dagster code server, daemon and webserver, and Celery workers.

Every server runs on a free loopback port in a process group of its own and is stopped by its
PID. The configuration is the profile's own (`deploy/scaleout/`); only hosts, ports and folders
are filled in here, through the same environment variables a real deployment sets.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from sentiment_assets_tests.processes import (
    free_port,
    graphql,
    start_group,
    stop_group,
    wait_until,
)
from sentiment_assets_tests.scaleout.services import (
    STARTUP_SECONDS,
    VENV_BIN,
    postgres_bin,
    s3_environment,
    start_seaweedfs,
)

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy" / "scaleout"


@dataclass
class Stack:
    """What is running, and the environment every component and client of the profile sees."""

    root: Path
    workers: int = 2
    ports: dict[str, int] = field(default_factory=dict)
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)
    scratch: list[Path] = field(default_factory=list)  # folders outside `root`, removed at the end
    started: float = field(default_factory=time.time)

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def env(self) -> dict[str, str]:
        pg = f"postgresql+psycopg2://sentiment:unused@127.0.0.1:{self.ports['postgres']}"
        redis = f"redis://127.0.0.1:{self.ports['redis']}"
        s3 = f"http://127.0.0.1:{self.ports['s3']}"
        return {
            **os.environ,
            "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}",
            "TF_CPP_MIN_LOG_LEVEL": "2",
            "DAGSTER_HOME": str(self.root / "dagster_home"),
            "DAGSTER_POSTGRES_URL": f"{pg}/dagster",
            "SENTIMENT_EXECUTOR": "celery",
            "SENTIMENT_CELERY_BROKER": f"{redis}/0",
            "SENTIMENT_CELERY_BACKEND": f"{redis}/1",
            "SENTIMENT_DATA_DIR": str(self.root / "data"),
            "SENTIMENT_STORAGE_URL": "s3://sentiment/storage",
            "MLFLOW_TRACKING_URI": f"http://127.0.0.1:{self.ports['mlflow']}",
            **s3_environment(s3),
        }

    @property
    def webserver(self) -> str:
        return f"http://127.0.0.1:{self.ports['webserver']}"

    def start(self, name: str, command: list[str], *, user: str | None = None) -> None:
        self.processes[name] = start_group(
            command, self.logs / f"{name}.log", env=self.env, cwd=REPO, user=user
        )

    def graphql(self, query: str, **variables: object) -> dict:
        return graphql(self.webserver, query, **variables)

    def log_tail(self, name: str, lines: int = 30) -> str:
        log = self.logs / f"{name}.log"
        text = log.read_text(errors="replace") if log.exists() else ""
        return "\n".join(text.splitlines()[-lines:])


@contextmanager
def running_stack(root: Path, workers: int = 2) -> Iterator[Stack]:
    """Start the whole profile under `root`; stop every process it started, by PID, on exit."""
    stack = Stack(root, workers)
    stack.logs.mkdir(parents=True, exist_ok=True)
    (root / "data" / "landing").mkdir(parents=True, exist_ok=True)
    names = ["postgres", "redis", "s3", "mlflow", "code_server", "webserver"]
    stack.ports = {name: free_port() for name in names}
    with ExitStack() as cleanup:
        cleanup.callback(_stop_all, stack)
        _start_postgres(stack)
        stack.start("redis", _redis_command(stack))
        _start_seaweedfs(stack)
        stack.start("mlflow", _mlflow_command(stack))
        _wait_http(stack, "mlflow", f"{stack.env['MLFLOW_TRACKING_URI']}/health")
        _start_dagster(stack)
        yield stack


def _stop_all(stack: Stack) -> None:
    # The data is thrown away: a server that takes more than a few seconds to shut down cleanly
    # (the S3 gateway, the MLflow server's workers) gets SIGKILL.
    for name, process in reversed(list(stack.processes.items())):
        stop_group(process, grace=5)
        del stack.processes[name]
    for folder in stack.scratch:
        shutil.rmtree(folder, ignore_errors=True)


def _run(stack: Stack, command: list[str], *, user: str | None = None) -> None:
    done = subprocess.run(
        command, env=stack.env, cwd=REPO, capture_output=True, text=True, user=user, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{done.stdout}\n{done.stderr}")


def _start_postgres(stack: Stack) -> None:
    """A cluster of its own, run as the `postgres` user (initdb refuses root), trust on loopback.

    Its folder is a fresh one under the system's temporary folder: the `postgres` user cannot
    enter pytest's owner-only temporary folders."""
    cluster = Path(tempfile.mkdtemp(prefix="sentiment-postgres-"))
    stack.scratch.append(cluster)
    data, sockets = cluster / "data", cluster / "sockets"
    for folder in (cluster, data, sockets):
        folder.mkdir(exist_ok=True)
        shutil.chown(folder, "postgres", "postgres")
    binaries = postgres_bin()
    _run(
        stack,
        [str(binaries / "initdb"), "-D", str(data), "-A", "trust", "-U", "sentiment"],
        user="postgres",
    )
    port = str(stack.ports["postgres"])
    stack.start(
        "postgres",
        [
            str(binaries / "postgres"),
            "-D",
            str(data),
            "-p",
            port,
            "-k",
            str(sockets),
            "-c",
            "listen_addresses=127.0.0.1",
            "-c",
            "fsync=off",
        ],
        user="postgres",
    )
    ready = [str(binaries / "pg_isready"), "-h", "127.0.0.1", "-p", port, "-U", "sentiment"]
    wait_until(
        "PostgreSQL accepting connections",
        lambda: subprocess.run(ready, capture_output=True, check=False).returncode == 0 or None,
        STARTUP_SECONDS,
        alive=[stack.processes["postgres"]],
    )
    psql = [
        str(binaries / "psql"),
        "-h",
        "127.0.0.1",
        "-p",
        port,
        "-U",
        "sentiment",
        "-d",
        "postgres",
    ]
    for database in ("dagster", "mlflow"):
        _run(stack, [*psql, "-c", f"CREATE DATABASE {database}"])


def _redis_command(stack: Stack) -> list[str]:
    port = str(stack.ports["redis"])
    return [
        "redis-server",
        "--port",
        port,
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--appendonly",
        "no",
    ]


def _start_seaweedfs(stack: Stack) -> None:
    stack.processes["s3"] = start_seaweedfs(stack.root / "seaweedfs", stack.ports["s3"], stack.logs)


def _mlflow_command(stack: Stack) -> list[str]:
    backend = f"postgresql+psycopg2://sentiment:unused@127.0.0.1:{stack.ports['postgres']}/mlflow"
    return [
        *(str(VENV_BIN / "mlflow"), "server", "--backend-store-uri", backend),
        *("--artifacts-destination", "s3://mlflow-artifacts", "--host", "127.0.0.1"),
        *("--port", str(stack.ports["mlflow"]), "--workers", "2"),
    ]


def _wait_http(stack: Stack, name: str, url: str) -> None:
    def answers() -> bool | None:
        try:
            with urllib.request.urlopen(url, timeout=5):
                return True
        except OSError:
            return None

    wait_until(
        f"{name} answering {url}",
        answers,
        STARTUP_SECONDS,
        alive=[stack.processes[name]],
        interval=1,
    )


def _start_dagster(stack: Stack) -> None:
    """The instance on PostgreSQL, a code server, the workers, the daemon and the webserver."""
    home = stack.root / "dagster_home"
    home.mkdir()
    shutil.copy(DEPLOY / "dagster.yaml", home / "dagster.yaml")
    _run(stack, [str(VENV_BIN / "dagster"), "instance", "migrate"])
    code_port = str(stack.ports["code_server"])
    stack.start(
        "code_server",
        [
            str(VENV_BIN / "dagster"),
            "code-server",
            "start",
            "-h",
            "127.0.0.1",
            "-p",
            code_port,
            "-m",
            "sentiment_assets.definitions",
            "-a",
            "defs",
            "--location-name",
            "sentiment_assets",
        ],
    )
    health = [str(VENV_BIN / "dagster"), "api", "grpc-health-check", "-p", code_port]
    wait_until(
        "the code server serving",
        lambda: subprocess.run(health, capture_output=True, check=False).returncode == 0 or None,
        STARTUP_SECONDS,
        alive=[stack.processes["code_server"]],
        interval=1,
    )
    workspace = stack.root / "workspace.yaml"
    workspace.write_text(
        "load_from:\n  - grpc_server:\n      host: 127.0.0.1\n"
        f"      port: {code_port}\n      location_name: sentiment_assets\n"
    )
    for number in range(1, stack.workers + 1):
        stack.start(
            f"worker{number}",
            [
                str(VENV_BIN / "dagster-celery"),
                "worker",
                "start",
                "-A",
                "dagster_celery.app",
                "-n",
                f"worker{number}",  # dagster-celery appends @<host>
                "-y",
                str(DEPLOY / "celery.yaml"),
                "--",
                "--concurrency=1",
            ],
        )
    for number in range(1, stack.workers + 1):
        name = f"worker{number}"
        wait_until(
            f"Celery {name} ready",
            lambda name=name: " ready." in stack.log_tail(name, 200) or None,
            STARTUP_SECONDS,
            alive=[stack.processes[name]],
        )
    stack.start("daemon", [str(VENV_BIN / "dagster-daemon"), "run", "-w", str(workspace)])
    stack.start(
        "webserver",
        [
            str(VENV_BIN / "dagster-webserver"),
            "-h",
            "127.0.0.1",
            "-p",
            str(stack.ports["webserver"]),
            "-w",
            str(workspace),
        ],
    )
    _wait_http(stack, "webserver", f"{stack.webserver}/server_info")
