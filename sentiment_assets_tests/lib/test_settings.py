"""Settings that are built from others: the MLflow UI the links point at, the quarantine folder."""

from pathlib import Path

import pytest

from sentiment_assets.defs.platform.resources import MlflowTracking, ReviewLanding
from sentiment_assets.lib import settings
from sentiment_assets.lib.tracking import MlflowStore


@pytest.mark.parametrize(
    ("ui", "tracking", "expected"),
    [
        ("https://mlflow.example.com/", "", "https://mlflow.example.com"),
        ("", "https://user:token@mlflow.example.com:8443/", "https://mlflow.example.com:8443"),
        ("", "sqlite:///data/mlflow/mlflow.db", "http://127.0.0.1:5000"),
        ("", "", "http://127.0.0.1:5000"),
    ],
)
def test_links_point_at_the_ui_set_else_the_tracking_server_else_the_local_ui(
    monkeypatch: pytest.MonkeyPatch, ui: str, tracking: str, expected: str
) -> None:
    monkeypatch.setenv("SENTIMENT_MLFLOW_UI_URL", ui)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", tracking)
    assert settings.mlflow_ui_url() == expected
    store = MlflowTracking().store()
    assert store.run_url("1", "abc") == f"{expected}/#/experiments/1/runs/abc"


def test_links_follow_the_tracking_server_set_on_the_resource(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The resource's server, not $MLFLOW_TRACKING_URI's store (the links pointed at a local UI
    while the runs went to the server set in the launchpad, a review found)."""
    monkeypatch.delenv("SENTIMENT_MLFLOW_UI_URL", raising=False)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    store = MlflowTracking(tracking_uri="http://mlflow.internal:5000").store()
    assert store.ui_url == "http://mlflow.internal:5000"
    assert MlflowTracking(tracking_uri="sqlite:///x.db").store().ui_url == "http://127.0.0.1:5000"
    # A store made without the resource (the benchmarks, the CLI) links to its own server too.
    assert MlflowStore("https://mlflow.internal").ui_url == "https://mlflow.internal"


def test_run_links_point_at_the_dagster_ui_set_else_the_local_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("SENTIMENT_DAGSTER_UI_URL", raising=False)
    assert settings.dagster_ui_url() == "http://127.0.0.1:3000"
    monkeypatch.setenv("SENTIMENT_DAGSTER_UI_URL", "http://127.0.0.1:3100/")
    assert settings.dagster_ui_url() == "http://127.0.0.1:3100"


def test_the_quarantine_is_beside_the_landing_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SENTIMENT_DATA_DIR", str(tmp_path / "data"))
    assert ReviewLanding().quarantine == tmp_path / "data" / "quarantine"
    landing = ReviewLanding(folder=str(tmp_path / "share" / "incoming"))
    assert landing.quarantine == tmp_path / "share" / "quarantine"


def test_the_real_drops_are_where_the_setting_says(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SENTIMENT_REVIEWS_DIR", str(tmp_path))
    assert settings.reviews_dir() == tmp_path
    monkeypatch.delenv("SENTIMENT_REVIEWS_DIR")
    assert settings.reviews_dir() == Path(settings.__file__).parents[3] / "shared/data/reviews"


@pytest.mark.parametrize(("value", "expected"), [("", "multiprocess"), ("celery", "celery")])
def test_the_executor_is_multiprocess_unless_celery_is_asked_for(
    monkeypatch: pytest.MonkeyPatch, value: str, expected: str
) -> None:
    monkeypatch.setenv("SENTIMENT_EXECUTOR", value)
    assert settings.executor() == expected


def test_a_mistyped_executor_is_refused_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A deployment that meant Celery must not run every step locally without a word."""
    monkeypatch.setenv("SENTIMENT_EXECUTOR", "celry")
    with pytest.raises(ValueError, match="SENTIMENT_EXECUTOR is 'celry': it takes multiprocess"):
        settings.executor()


@pytest.mark.parametrize(
    "bad",
    [
        {"live_roc_auc_floor": 7},
        {"live_roc_auc_margin": -1},
        {"score_psi": -1},
        {"min_drift_reviews": -5},
    ],
)
def test_monitoring_thresholds_no_check_could_mean_are_refused(bad: dict) -> None:
    """Accepted, they made the gate and the drift checks alert on every drop (a Dagster review)."""
    from pydantic import ValidationError

    from sentiment_assets.defs.monitoring.resources import MonitoringThresholds

    with pytest.raises(ValidationError, match=next(iter(bad))):
        MonitoringThresholds(**bad)
