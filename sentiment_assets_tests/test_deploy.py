"""The deployment files in deploy/, checked as far as this machine can: the compose file by
docker-compose itself, the instance, workspace and Celery configs by Dagster's own schemas, the
Helm values against the chart keys we claim (and by `helm template` where helm and the chart are
at hand). No image is built and nothing runs in Docker or Kubernetes here: deploy/README.md says
what that leaves unchecked."""

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
VALUES = DEPLOY / "helm" / "values.yaml"
CHART_VERSION = "1.13.27"

# The keys of dagster/dagster 1.13.27 that deploy/helm/values.yaml sets, transcribed by hand from
# the chart's schema models (helm/dagster/schema in the Dagster repository, the source of its
# values.schema.json) and templates, as stored in late 2026; the 1.13.27 release files themselves
# could not be fetched here. `[]` is an item of a list. Under an OPAQUE path the chart takes any content
# (a Kubernetes object, a map of variables, Dagster's own instance config) and checks none of it.
CHART_KEYS = {
    "telemetry.enabled",
    "generatePostgresqlPasswordSecret",
    "global.postgresqlSecretName",
    "postgresql.enabled",
    "postgresql.postgresqlHost",
    "postgresql.postgresqlUsername",
    "postgresql.postgresqlDatabase",
    "postgresql.postgresqlScheme",
    "postgresql.service.port",
    "dagster-user-deployments.enabled",
    "dagster-user-deployments.deployments[].name",
    "dagster-user-deployments.deployments[].image.repository",
    "dagster-user-deployments.deployments[].image.tag",
    "dagster-user-deployments.deployments[].image.pullPolicy",
    "dagster-user-deployments.deployments[].codeServerArgs",
    "dagster-user-deployments.deployments[].port",
    "dagster-user-deployments.deployments[].includeConfigInLaunchedRuns.enabled",
    "runLauncher.type",
    "runLauncher.config.k8sRunLauncher.imagePullPolicy",
    "runLauncher.config.k8sRunLauncher.loadInclusterConfig",
    "computeLogManager.type",
    "computeLogManager.config.s3ComputeLogManager.bucket",
    "computeLogManager.config.s3ComputeLogManager.prefix",
    "computeLogManager.config.s3ComputeLogManager.endpointUrl",
    "computeLogManager.config.s3ComputeLogManager.region",
    "dagsterDaemon.runCoordinator.enabled",
    "dagsterDaemon.runMonitoring.enabled",
    "dagsterDaemon.runMonitoring.startTimeoutSeconds",
    "dagsterDaemon.runMonitoring.pollIntervalSeconds",
    "dagsterDaemon.runMonitoring.maxResumeRunAttempts",
    "dagsterDaemon.sensors.useThreads",
    "dagsterDaemon.sensors.numWorkers",
}
OPAQUE = {
    "postgresql.postgresqlParams",
    "dagster-user-deployments.deployments[].env",
    "dagster-user-deployments.deployments[].envSecrets",
    "dagster-user-deployments.deployments[].volumes",
    "dagster-user-deployments.deployments[].volumeMounts",
    "dagster-user-deployments.deployments[].podSecurityContext",
    "dagster-user-deployments.deployments[].securityContext",
    "runLauncher.config.k8sRunLauncher.resources",
    "runLauncher.config.k8sRunLauncher.securityContext",
    "runLauncher.config.k8sRunLauncher.runK8sConfig.podSpecConfig",
    "dagsterWebserver.envSecrets",
    "additionalInstanceConfig",
}
PULL_POLICIES = {"Always", "IfNotPresent", "Never"}
CHART_ENUMS = {
    "runLauncher.type": {"CeleryK8sRunLauncher", "K8sRunLauncher", "CustomRunLauncher"},
    "computeLogManager.type": {
        "NoOpComputeLogManager",
        "AzureBlobComputeLogManager",
        "GCSComputeLogManager",
        "S3ComputeLogManager",
        "LocalComputeLogManager",
        "CustomComputeLogManager",
    },
    "dagster-user-deployments.deployments[].image.pullPolicy": PULL_POLICIES,
    "runLauncher.config.k8sRunLauncher.imagePullPolicy": PULL_POLICIES,
}


def load(path: Path) -> dict:
    return yaml.safe_load(path.read_text())


def leaves(tree: object, path: str = "") -> dict[str, object]:
    """Every value in `tree` by its dotted path, stopping at OPAQUE paths and at scalar lists."""
    if path in OPAQUE or not isinstance(tree, dict | list):
        return {path: tree}
    if isinstance(tree, list):
        if not all(isinstance(item, dict) for item in tree):
            return {path: tree}
        found: dict[str, object] = {}
        for item in tree:
            found |= leaves(item, f"{path}[]")
        return found
    found = {}
    for key, value in tree.items():
        found |= leaves(value, f"{path}.{key}" if path else key)
    return found


def test_helm_values_set_only_keys_of_the_chart():
    values = leaves(load(VALUES))
    unknown = sorted(set(values) - CHART_KEYS - OPAQUE)
    assert not unknown, f"{VALUES} sets keys not claimed for chart {CHART_VERSION}: {unknown}"
    wrong = {k: v for k, v in values.items() if k in CHART_ENUMS and v not in CHART_ENUMS[k]}
    assert not wrong, f"{VALUES} has values the chart does not accept: {wrong}"


def snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def chart_instance_config(values: dict) -> dict:
    """The parts of the chart's dagster.yaml these values decide: run monitoring and sensors
    (its templates rename each key to snake case) and additionalInstanceConfig (copied as is)."""
    daemon = values["dagsterDaemon"]
    return {
        "run_monitoring": {snake(k): v for k, v in daemon["runMonitoring"].items()},
        "sensors": {snake(k): v for k, v in daemon["sensors"].items()},
        **values["additionalInstanceConfig"],
    }


def test_helm_instance_config_is_valid_dagster_config(tmp_path: Path):
    from dagster._core.instance.config import dagster_instance_config

    config, _ = dagster_instance_config(
        str(tmp_path), overrides=chart_instance_config(load(VALUES))
    )
    assert config["concurrency"]["pools"]["granularity"] == "run"


def test_helm_and_compose_profiles_queue_runs_alike():
    """One run queue and pool policy on every platform: the chart's instance config repeats
    deploy/scaleout/dagster.yaml, so they must not drift apart."""
    compose = load(DEPLOY / "scaleout" / "dagster.yaml")
    helm = chart_instance_config(load(VALUES))
    for section in ("concurrency", "freshness", "sensors"):
        assert helm[section] == compose[section], section
    for key in ("enabled", "max_resume_run_attempts"):
        assert helm["run_monitoring"][key] == compose["run_monitoring"][key], key


def test_helm_runs_keep_the_default_executor():
    """Each run is a pod with its steps inside: the user code sets no SENTIMENT_EXECUTOR, which
    would send steps to a Celery broker that the chart deployment does not have."""
    for deployment in load(VALUES)["dagster-user-deployments"]["deployments"]:
        assert "SENTIMENT_EXECUTOR" not in deployment.get("env", {}), deployment["name"]


def test_helm_template_renders_with_the_chart(tmp_path: Path):
    """The real check where the chart is at hand (`helm pull dagster/dagster --version 1.13.27`):
    schema validation and the templates' own `fail` checks."""
    chart = os.environ.get("SENTIMENT_HELM_CHART")
    helm = shutil.which("helm")
    if not helm or not chart:
        pytest.skip(
            "needs the helm binary and SENTIMENT_HELM_CHART (the dagster chart "
            f"{CHART_VERSION}, pulled as a .tgz or folder); neither is reachable from this machine"
        )
    done = subprocess.run(
        [helm, "template", "sentiment", chart, "--namespace", "sentiment", "-f", str(VALUES)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    documents = [d for d in yaml.safe_load_all(done.stdout) if d]
    instance = next(d for d in documents if d["metadata"]["name"].endswith("-instance"))
    rendered = yaml.safe_load(instance["data"]["dagster.yaml"])
    assert rendered["run_launcher"]["class"] == "K8sRunLauncher"
    assert "run_coordinator" not in rendered
    assert rendered["concurrency"] == load(VALUES)["additionalInstanceConfig"]["concurrency"]


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


def test_scaleout_celery_config_is_valid(monkeypatch: pytest.MonkeyPatch):
    from dagster_celery.cli import get_validated_config

    monkeypatch.setenv("SENTIMENT_CELERY_BROKER", "redis://redis:6379/0")
    monkeypatch.setenv("SENTIMENT_CELERY_BACKEND", "redis://redis:6379/1")
    config = get_validated_config(str(DEPLOY / "scaleout" / "celery.yaml"))
    assert config["broker"] == "redis://redis:6379/0"


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
