"""deploy/scaleout/celery.yaml checked by dagster-celery's own schema. dagster-celery comes with the
scale-out extra, so this runs with `make test-scaleout`."""

from __future__ import annotations

from pathlib import Path

import pytest

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"


def test_scaleout_celery_config_is_valid(monkeypatch: pytest.MonkeyPatch):
    from dagster_celery.cli import get_validated_config

    monkeypatch.setenv("SENTIMENT_CELERY_BROKER", "redis://redis:6379/0")
    monkeypatch.setenv("SENTIMENT_CELERY_BACKEND", "redis://redis:6379/1")
    config = get_validated_config(str(DEPLOY / "scaleout" / "celery.yaml"))
    assert config["broker"] == "redis://redis:6379/0"
