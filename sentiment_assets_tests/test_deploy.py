"""The deployment files in deploy/, checked as far as this machine can: the compose file by
docker-compose itself, the instance and workspace configs by Dagster's own schemas, the Dockerfile
against the build context. The Celery config needs the scale-out extra: it is checked in
scaleout/test_celery_config.py. The Helm values are in test_deploy_helm.py. No image is built and
nothing runs in Docker or Kubernetes here: deploy/README.md says what that leaves unchecked."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from importlib import metadata
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
DEPLOY = REPO / "deploy"
COMPOSE = DEPLOY / "docker-compose.yaml"
ENV_EXAMPLE = DEPLOY / ".env.example"


def load(path: Path) -> dict:
    return yaml.safe_load(path.read_text())


@pytest.fixture(scope="module")
def resolved_compose() -> dict:
    """deploy/docker-compose.yaml as docker-compose resolves it with the example secrets."""
    tool = shutil.which("docker-compose")
    if tool is None:
        if os.environ.get("CI"):
            pytest.fail("docker-compose is missing: CI installs Debian's docker-compose package")
        pytest.skip("docker-compose is not installed (apt-get install docker-compose)")
    command = [tool, "-f", str(COMPOSE), "--env-file", str(ENV_EXAMPLE), "config"]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    assert done.returncode == 0, f"docker-compose rejects {COMPOSE}:\n{done.stderr}"
    return yaml.safe_load(done.stdout)


def test_compose_file_is_accepted_by_docker_compose(resolved_compose: dict):
    """Keys, types, depends_on conditions and the secrets it requires (`${VAR:?}`), as
    docker-compose 1.29 knows the Compose Specification."""
    assert {"code-server", "webserver", "daemon", "worker-1", "worker-2"} <= set(
        resolved_compose["services"]
    )


def test_compose_mounts_files_that_exist(resolved_compose: dict):
    for name, service in resolved_compose["services"].items():
        for volume in service.get("volumes", []):
            source = volume.split(":", 1)[0]
            if source.startswith("/"):
                assert Path(source).exists(), f"service {name} mounts missing {source}"


def test_compose_publishes_ports_on_loopback_only(resolved_compose: dict):
    """The UIs have no authentication and the Dagster webserver no CSRF protection."""
    published = {
        name: service["ports"]
        for name, service in resolved_compose["services"].items()
        if service.get("ports")
    }
    assert published, "no service publishes a port"
    for name, ports in published.items():
        for port in ports:
            host_ip = port["host_ip"] if isinstance(port, dict) else str(port).split(":")[0]
            assert host_ip == "127.0.0.1", f"service {name} publishes {port}"


def test_compose_example_env_holds_no_secret():
    secrets = {}
    for line in ENV_EXAMPLE.read_text().splitlines():
        name, _, value = line.partition("=")
        if re.search(r"PASSWORD|SECRET", name) and not line.startswith("#"):
            secrets[name] = value
    assert secrets, f"no secrets named in {ENV_EXAMPLE}"
    real = [name for name, value in secrets.items() if not value.startswith("CHANGE_ME")]
    assert not real, f"{ENV_EXAMPLE} must hold placeholders only: {real}"


def test_compose_workspace_points_at_the_code_server(resolved_compose: dict):
    from dagster._core.workspace.config_schema import ensure_workspace_config

    path = DEPLOY / "compose" / "workspace.yaml"
    (entry,) = ensure_workspace_config(load(path), str(path))["load_from"]
    server = entry["grpc_server"]
    command = resolved_compose["services"][server["host"]]["command"]
    assert f"--port={server['port']}" in command
    assert f"--location-name={server['location_name']}" in command


def test_scaleout_instance_config_is_valid(monkeypatch: pytest.MonkeyPatch):
    from dagster._core.instance.config import dagster_instance_config

    monkeypatch.setenv("DAGSTER_POSTGRES_URL", "postgresql+psycopg2://dagster:pw@postgres/dagster")
    config, _ = dagster_instance_config(str(DEPLOY / "scaleout"))
    assert "postgres" in config["storage"]


def test_image_copies_only_what_the_build_context_lets_through():
    """Each COPY source of deploy/Dockerfile exists and is let through its .dockerignore (which
    ignores everything else); the extra it installs exists, and the integrations it adds are the
    ones setup.py pins for this dagster."""
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    allowed = {
        line[1:].rstrip("/")
        for line in (DEPLOY / "Dockerfile.dockerignore").read_text().splitlines()
        if line.startswith("!")
    }
    copies = re.findall(r"^COPY (.+) \S+$", dockerfile, flags=re.MULTILINE)
    sources = [source for line in copies for source in line.split()]
    assert sources
    for source in sources:
        assert (REPO / source).exists(), f"COPY {source}: no such file"
        assert source.rstrip("/") in allowed, f"COPY {source}: excluded by the .dockerignore"
    extras = re.findall(r"sentiment-assets\[(\w+)\]", dockerfile)
    assert extras and set(extras) <= set(
        metadata.metadata("sentiment_assets").get_all("Provides-Extra")
    )
    (mlflow_pin,) = [
        r for r in metadata.requires("sentiment_assets") if r.startswith("dagster-mlflow")
    ]
    integration = mlflow_pin.split("==")[1]
    for package in re.findall(r'"(dagster-[a-z0-9]+)==([0-9.]+)"', dockerfile):
        assert package[1] == integration, f"{package[0]} is not the {integration} integration"
