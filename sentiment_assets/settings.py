"""Where the embedded default keeps its files; every path derives from SENTIMENT_DATA_DIR.

Read when a run or sensor executes, never at import, so one code location serves any data folder.
"""

from __future__ import annotations

import os
from pathlib import Path


def data_dir() -> Path:
    return Path(os.environ.get("SENTIMENT_DATA_DIR", "data")).resolve()


def landing_dir() -> Path:
    return data_dir() / "landing"


def quarantine_dir() -> Path:
    return data_dir() / "quarantine"


def storage_dir() -> Path:
    return data_dir() / "storage"


def mlflow_dir() -> Path:
    return data_dir() / "mlflow"


def tracking_uri() -> str:
    """MLFLOW_TRACKING_URI when set, else a SQLite store beside the other local data."""
    return os.environ.get("MLFLOW_TRACKING_URI") or f"sqlite:///{mlflow_dir() / 'mlflow.db'}"


def alerts_path() -> Path:
    return data_dir() / "alerts.jsonl"


def alert_webhook() -> str | None:
    """SENTIMENT_ALERT_WEBHOOK: where run-failure alerts are also POSTed, when set."""
    return os.environ.get("SENTIMENT_ALERT_WEBHOOK") or None
