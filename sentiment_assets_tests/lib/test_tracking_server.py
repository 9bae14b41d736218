"""Against a real `mlflow server`: the experiment is created once however many create it, and an
alias look-up that fails is an error, never "no production model yet"."""

import json
import uuid
from pathlib import Path

import pytest

from sentiment_assets.lib.store_faults import MlflowStoreError
from sentiment_assets.lib.tracking import MlflowStore
from sentiment_assets_tests.lib.tracking_support import (
    experiment_ids_from_processes,
    experiment_ids_from_threads,
    log_constant,
)
from sentiment_assets_tests.servers import FaultyProxy, mlflow_server

pytestmark = pytest.mark.slow  # each module starts a tracking server (about 5 s)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory):
    with mlflow_server(tmp_path_factory.mktemp("mlflow_server")) as url:
        yield url


@pytest.fixture
def proxy(server: str):
    with FaultyProxy(server) as proxy:
        yield proxy


@pytest.fixture(autouse=True)
def _few_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    # MLflow retries a 5xx seven times with exponential backoff (minutes) by default.
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "1")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR", "0")


def _fresh(uri: str) -> MlflowStore:
    """A store with an experiment and registered model of its own on the shared server."""
    name = f"test-{uuid.uuid4().hex[:8]}"
    return MlflowStore(uri, experiment_name=name, model_name=name)


def test_many_threads_create_the_experiment_once(server: str) -> None:
    store = _fresh(server)
    (experiment_id,) = experiment_ids_from_threads(store, threads=8)
    assert store.client().get_experiment_by_name(store.experiment_name).experiment_id == (
        experiment_id
    )


def test_two_processes_create_the_experiment_once(server: str, tmp_path: Path) -> None:
    store = _fresh(server)
    (experiment_id,) = experiment_ids_from_processes(store, tmp_path)
    assert store.experiment_id() == experiment_id


def test_the_registry_says_when_there_is_no_production_model(server: str) -> None:
    store = _fresh(server)
    assert store.production_version() is None  # no registered model
    store.register_version(*log_constant(store, "unaliased"))
    assert store.production_version() is None  # a registered model without the alias
    store.set_production("1")
    assert str(store.production_version().version) == "1"


_ANSWERED = {
    500: "the tracking server answered HTTP 500 to every try (its own log says why: its "
    "database or artifact store out of reach, for example)",
    503: "the tracking server (or a proxy in front of it) answered HTTP 503 to every try",
}


@pytest.mark.parametrize("status", [500, 503])
def test_an_alias_look_up_that_fails_is_an_error_not_an_empty_registry(
    proxy: FaultyProxy, status: int
) -> None:
    store = _fresh(proxy.url)
    store.set_production(store.register_version(*log_constant(store, "aliased")))
    proxy.alias_reply = (status, b"injected fault")

    with pytest.raises(MlflowStoreError) as raised:
        store.production_version()
    assert str(raised.value) == (
        f"could not read the production alias from the MLflow registry at {proxy.url}: "
        + _ANSWERED[status]
    )
    assert proxy.alias_lookups >= 2  # MLflow's own retry came through the proxy too


@pytest.mark.parametrize("status", [500, 503])
def test_the_alias_look_up_fails_before_any_model_is_registered_too(
    proxy: FaultyProxy, status: int
) -> None:
    proxy.alias_reply = (status, b"injected fault")
    with pytest.raises(MlflowStoreError, match=f"answered HTTP {status}"):
        _fresh(proxy.url).production_version()


def test_a_not_found_reply_is_checked_against_the_registered_model(proxy: FaultyProxy) -> None:
    store = _fresh(proxy.url)
    store.set_production(store.register_version(*log_constant(store, "aliased")))
    # A reply that looks like MLflow's "no such alias" while the alias exists.
    not_found = {"error_code": "INVALID_PARAMETER_VALUE", "message": "alias production not found"}
    proxy.alias_reply = (400, json.dumps(not_found).encode())

    with pytest.raises(MlflowStoreError, match="alias production not found"):
        store.production_version()


def test_credentials_in_the_uri_never_reach_the_message(proxy: FaultyProxy) -> None:
    host = proxy.url.removeprefix("http://")
    store = _fresh(f"http://alice:s3cret@{host}")
    proxy.alias_reply = (500, b"injected fault")
    with pytest.raises(MlflowStoreError) as raised:
        store.production_version()
    assert "s3cret" not in str(raised.value)
    assert f"http://alice:***@{host}" in str(raised.value)
