"""The S3-compatible server of the scale-out profile (SeaweedFS, a real one) and PostgreSQL's
binaries: started on their own by the object-storage tests, and as part of the whole stack."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from sentiment_assets_tests.processes import free_port, start_group, stop_group, wait_until

VENV_BIN = Path(sys.executable).parent
STARTUP_SECONDS = 120
S3_KEY, S3_SECRET = "sentiment", "sentiment-secret"
BUCKETS = ("sentiment", "mlflow-artifacts")


def postgres_bin() -> Path:
    """Debian's PostgreSQL server binaries (the newest installed major version)."""
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/postgres"), key=lambda p: p.parts)
    if not versions:
        raise FileNotFoundError("PostgreSQL is not installed: apt-get install postgresql")
    return versions[-1].parent


def start_seaweedfs(folder: Path, port: int, logs: Path) -> subprocess.Popen:
    """One `weed server` (master, volume, filer and the S3 gateway on `port`) with the profile's
    buckets, the profile's credentials, every listener on a free loopback port."""
    folder.mkdir(parents=True)
    identities = {
        "identities": [
            {
                "name": S3_KEY,
                "credentials": [{"accessKey": S3_KEY, "secretKey": S3_SECRET}],
                "actions": ["Admin", "Read", "Write", "List", "Tagging"],
            }
        ]
    }
    (folder / "s3.json").write_text(json.dumps(identities))
    # Every listener on a free port: SeaweedFS would otherwise put gRPC at port + 10000.
    listeners = ("master", "volume", "filer")
    ports = {f"-{n}.port": free_port() for n in listeners}
    ports |= {f"-{n}.port.grpc": free_port() for n in (*listeners, "s3")}
    command = [str(VENV_BIN / "weed"), "server", "-ip=127.0.0.1", "-ip.bind=127.0.0.1"]
    command += [f"-dir={folder}", "-s3", f"-s3.port={port}"]
    command += [f"-s3.config={folder / 's3.json'}", *(f"{k}={v}" for k, v in ports.items())]
    # The catalogs SeaweedFS serves beside S3 (fixed ports) are not used here.
    command += ["-s3.port.iceberg=0", "-s3.port.lance=0", "-master.telemetry=false"]
    command += ["-master.volumeSizeLimitMB=64", "-volume.max=20"]
    process = start_group(command, logs / "s3.log")

    def buckets() -> bool | None:
        from botocore.exceptions import BotoCoreError, ClientError

        client = s3_client(f"http://127.0.0.1:{port}")
        try:
            existing = {b["Name"] for b in client.list_buckets().get("Buckets", [])}
            for bucket in set(BUCKETS) - existing:
                client.create_bucket(Bucket=bucket)
        except (BotoCoreError, ClientError):
            return None
        return True

    try:
        wait_until("the S3 gateway and its buckets", buckets, STARTUP_SECONDS, alive=[process])
    except BaseException:
        stop_group(process, grace=5)
        raise
    return process


def s3_client(endpoint: str) -> Any:
    import boto3

    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id=S3_KEY,
        aws_secret_access_key=S3_SECRET,
        region_name="us-east-1",
    )


def s3_environment(endpoint: str) -> dict[str, str]:
    """What a client of the profile's S3 store sets: the standard AWS variables."""
    return {
        "AWS_ACCESS_KEY_ID": S3_KEY,
        "AWS_SECRET_ACCESS_KEY": S3_SECRET,
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": endpoint,
        "MLFLOW_S3_ENDPOINT_URL": endpoint,
    }
