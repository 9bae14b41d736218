"""The Helm values in deploy/helm/values.yaml, checked as far as this machine can: against the chart
keys we claim for dagster/dagster 1.13.27, through Dagster's and dagster-k8s's own config schemas,
and by `helm template` where helm and the chart are at hand (deploy/README.md says what is left)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

DEPLOY = Path(__file__).resolve().parents[1] / "deploy"
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
    "pythonLogs.managedPythonLoggers",  # subschema/python_logs.py
    "pythonLogs.pythonLogLevel",
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
    "pythonLogs.pythonLogLevel": {
        "CRITICAL",
        "FATAL",
        "ERROR",
        "WARN",
        "WARNING",
        "INFO",
        "DEBUG",
        "NOTSET",
    },
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
    """The parts of the chart's dagster.yaml these values decide: run monitoring, sensors and
    Python logs (its templates rename each key to snake case) and additionalInstanceConfig (copied
    as is)."""
    daemon = values["dagsterDaemon"]
    return {
        "run_monitoring": {snake(k): v for k, v in daemon["runMonitoring"].items()},
        "sensors": {snake(k): v for k, v in daemon["sensors"].items()},
        "python_logs": {snake(k): v for k, v in values["pythonLogs"].items()},
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
    for section in ("concurrency", "freshness", "sensors", "python_logs"):
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


def test_helm_kubernetes_objects_pass_dagster_k8s():
    """The Kubernetes objects in the values (security contexts, volumes, resources, pod spec) and
    the run launcher config the chart renders from them, through dagster-k8s's own parsing, which
    refuses unknown fields."""
    kubernetes = pytest.importorskip(
        "kubernetes", reason="dagster-k8s is in the image only, not in this .venv's extras"
    )
    from dagster._config import process_config
    from dagster_k8s.launcher import K8sRunLauncher
    from dagster_k8s.models import k8s_model_from_dict, k8s_snake_case_dict

    k8s = kubernetes.client
    values = load(VALUES)
    (deployment,) = values["dagster-user-deployments"]["deployments"]
    launcher = values["runLauncher"]["config"]["k8sRunLauncher"]
    objects = [
        (k8s.V1PodSecurityContext, deployment["podSecurityContext"]),
        (k8s.V1SecurityContext, deployment["securityContext"]),
        *((k8s.V1Volume, volume) for volume in deployment["volumes"]),
        *((k8s.V1VolumeMount, mount) for mount in deployment["volumeMounts"]),
        *((k8s.V1SecretEnvSource, secret) for secret in deployment["envSecrets"]),
        (k8s.V1ResourceRequirements, launcher["resources"]),
        (k8s.V1SecurityContext, launcher["securityContext"]),
        (k8s.V1PodSpec, {"containers": [], **launcher["runK8sConfig"]["podSpecConfig"]}),
    ]
    for model, data in objects:
        k8s_model_from_dict(model, k8s_snake_case_dict(model, data))
    rendered = {  # templates/helpers/instance/_run-launcher.tpl, with the release's names
        "load_incluster_config": launcher["loadInclusterConfig"],
        "job_namespace": "sentiment",
        "image_pull_policy": launcher["imagePullPolicy"],
        "service_account_name": "sentiment-dagster",
        "dagster_home": "/opt/dagster/dagster_home",
        "instance_config_map": "sentiment-dagster-instance",
        "postgres_password_secret": values["global"]["postgresqlSecretName"],
        "resources": launcher["resources"],
        "security_context": launcher["securityContext"],
        "run_k8s_config": {"pod_spec_config": launcher["runK8sConfig"]["podSpecConfig"]},
    }
    result = process_config(K8sRunLauncher.config_type(), rendered)
    assert result.success, result.errors
