"""Where the platform keeps its files and its MLflow store; every path derives from SENTIMENT_DATA_DIR.

Read when a run, a sensor or a command executes, never at import, so one code location serves any
data folder; only the executor (SENTIMENT_EXECUTOR) is chosen when the code location loads.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import unquote, urlsplit, urlunsplit

# Review texts and ages are personal data: what the platform writes is for its owner only.
PRIVATE_DIR_MODE = 0o700
PRIVATE_FILE_MODE = 0o600
# Where `sentiment-platform mlflow-ui` serves the MLflow UI unless told otherwise.
MLFLOW_UI_PORT = 5000
# Where `sentiment-platform dev` (make dev) serves the Dagster UI unless told another port.
DAGSTER_UI_PORT = 3000
# Where `sentiment-platform serve` (make serve) serves the production model unless told otherwise.
SERVE_PORT = 5001


def data_dir() -> Path:
    return Path(os.environ.get("SENTIMENT_DATA_DIR", "data")).resolve()


def private_dir(path: Path) -> Path:
    """Create `path` (and missing parents) readable by its owner only, and return it."""
    path.mkdir(mode=PRIVATE_DIR_MODE, parents=True, exist_ok=True)
    path.chmod(PRIVATE_DIR_MODE)  # mkdir's mode is masked by the umask, and skips existing ones
    return path


def landing_dir() -> Path:
    return data_dir() / "landing"


def quarantine_dir(landing: Path | None = None) -> Path:
    """Where drops whose content is bad go: beside the landing folder (default `landing_dir`)."""
    return (landing or landing_dir()).parent / "quarantine"


def reviews_dir() -> Path:
    """SENTIMENT_REVIEWS_DIR: the real review drops, for tests and benchmarks; default the shared
    data beside the repository."""
    default = Path(__file__).resolve().parents[3] / "shared" / "data" / "reviews"
    return Path(os.environ.get("SENTIMENT_REVIEWS_DIR") or default)


def storage_dir() -> Path:
    return data_dir() / "storage"


def storage_location() -> str:
    """SENTIMENT_STORAGE_URL (an s3://bucket/prefix every worker reaches, in the scale-out
    profile), else the local storage folder."""
    return os.environ.get("SENTIMENT_STORAGE_URL") or str(storage_dir())


def dagster_home() -> Path:
    """DAGSTER_HOME when set, else a folder beside the other local data."""
    return Path(os.environ.get("DAGSTER_HOME") or data_dir() / "dagster_home")


def tracking_uri() -> str:
    """MLFLOW_TRACKING_URI when set, else a SQLite store beside the other local data."""
    return (
        os.environ.get("MLFLOW_TRACKING_URI") or f"sqlite:///{data_dir() / 'mlflow' / 'mlflow.db'}"
    )


def mlflow_ui_url(tracking: str | None = None) -> str:
    """SENTIMENT_MLFLOW_UI_URL: the MLflow UI that links to runs and versions point at; default
    the tracking server itself when the store (`tracking`, default `tracking_uri()`) is one
    (without its credentials), else the UI `sentiment-platform mlflow-ui` serves."""
    if url := os.environ.get("SENTIMENT_MLFLOW_UI_URL"):
        return url.rstrip("/")
    parts = urlsplit(tracking or tracking_uri())
    if parts.scheme in ("http", "https"):
        host = parts.netloc.rsplit("@", 1)[-1]
        return urlunsplit((parts.scheme, host, parts.path.rstrip("/"), "", ""))
    return f"http://127.0.0.1:{MLFLOW_UI_PORT}"


def sqlite_path(uri: str) -> Path | None:
    """The database file of a `sqlite:///` URI (relative or absolute), None for other stores."""
    parts = urlsplit(uri)
    return Path(parts.path[1:]) if parts.scheme == "sqlite" else None


def artifacts_dir(uri: str) -> Path | None:
    """Where artifacts go beside a SQLite store (not the working directory); None otherwise."""
    db = sqlite_path(uri)
    return db.parent / "artifacts" if db else None


def redacted(uri: str) -> str:
    """The URI without a password or token, fit to print or log."""
    parts = urlsplit(uri)
    if "@" not in parts.netloc:
        return uri
    host = parts.netloc.rsplit("@", 1)[-1]
    return urlunsplit(parts._replace(netloc=f"{_masked_userinfo(uri)}@{host}"))


def without_credentials(text: str, uri: str) -> str:
    """`text` (an error message, say) with the credentials `uri` holds masked as `redacted` masks
    them: MLflow's errors name the URI, password included."""
    parts = urlsplit(uri)
    if "@" not in parts.netloc:
        return text
    userinfo = parts.netloc.rsplit("@", 1)[0]
    text = text.replace(f"{userinfo}@", f"{_masked_userinfo(uri)}@")
    secret = parts.password if parts.password is not None else parts.username
    for form in {secret, unquote(secret)} if secret else ():
        text = text.replace(form, "***")
    return text


def _masked_userinfo(uri: str) -> str:
    # user:password keeps the user; a lone user part is a token and goes whole.
    parts = urlsplit(uri)
    return f"{parts.username}:***" if parts.password is not None else "***"


EXECUTORS = ("multiprocess", "celery")


def executor() -> str:
    """SENTIMENT_EXECUTOR: `celery` runs steps on Celery workers (the scale-out profile);
    `multiprocess`, or unset, runs them in the run's own processes. Read when the code location
    loads: the executor is part of its definitions. Any other value is refused, so that a typo
    cannot quietly run a deployment's steps on the machine that launched them."""
    name = os.environ.get("SENTIMENT_EXECUTOR") or "multiprocess"
    if name not in EXECUTORS:
        raise ValueError(
            f"SENTIMENT_EXECUTOR is {name!r}: it takes multiprocess (the default) or celery"
        )
    return name


def alerts_path() -> Path:
    """In a folder of its own, which is owner-only: alerts quote drops (personal data)."""
    return data_dir() / "alerts" / "alerts.jsonl"


def alert_webhook() -> str | None:
    """SENTIMENT_ALERT_WEBHOOK: where run-failure alerts are also POSTed, when set."""
    return os.environ.get("SENTIMENT_ALERT_WEBHOOK") or None


def alert_webhook_timeout() -> float:
    """SENTIMENT_ALERT_WEBHOOK_TIMEOUT: seconds the webhook POSTs for one finished run may take in
    all, retries included."""
    return float(os.environ.get("SENTIMENT_ALERT_WEBHOOK_TIMEOUT") or 10)


def run_log_path() -> Path:
    """Where `sentiment-run` writes what libraries print (Dagster's event lines, TensorFlow's and
    MLflow's messages) unless run with -v; in a folder of its own, owner-only like the rest."""
    return data_dir() / "logs" / "sentiment-run.log"


def dagster_ui_url() -> str:
    """SENTIMENT_DAGSTER_UI_URL: the Dagster UI that `sentiment-run`'s links point at; default the
    one `sentiment-platform dev` serves."""
    if url := os.environ.get("SENTIMENT_DAGSTER_UI_URL"):
        return url.rstrip("/")
    return f"http://127.0.0.1:{DAGSTER_UI_PORT}"
