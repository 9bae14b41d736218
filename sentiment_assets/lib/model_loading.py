"""Loading a logged model without MLflow's two slow steps, trusting no less.

`mlflow.pyfunc.load_model` on `models:/<name>@<alias>` spends most of `sentiment-predict`'s
start-up creating MLflow's SQLAlchemy stores (SQLAlchemy and alembic imported, the schema
checked) to read one alias, and mapping every installed distribution to its modules to warn about
requirement mismatches. Here the alias of a SQLite registry is read with one query in one
transaction (MLflow answers whenever anything is unexpected), and the model's pinned requirements
are compared with the installed versions by name.
"""

from __future__ import annotations

import logging
import re
import sqlite3
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sentiment_assets.lib import settings

if TYPE_CHECKING:
    from mlflow.entities.model_registry import ModelVersion

# The MLflow schema revisions whose registry tables `_ALIAS_QUERY` was checked against (MLflow
# 3.17's). A store at any other revision is read by MLflow itself; a test fails when the installed
# MLflow's own revision is not listed here, so an upgrade gets the query checked again.
KNOWN_SCHEMA_REVISIONS = frozenset({"dc11669786a5"})

# What MLflow's SQLAlchemy registry does for `get_model_version_by_alias` followed by
# `get_model_version_download_uri`: the alias's version in the default workspace, unless deleted,
# and its storage location, else its source.
_ALIAS_QUERY = """
SELECT v.version, COALESCE(v.storage_location, v.source)
FROM registered_model_aliases AS a
JOIN model_versions AS v
  ON v.workspace = a.workspace AND v.name = a.name AND v.version = a.version
WHERE a.workspace = ? AND a.name = ? AND a.alias = ? AND v.current_stage != ?
"""
_ALIAS_URI = re.compile(r"models:/(?P<name>[^/@]+)@(?P<alias>[^/@]+)")
_BUSY_TIMEOUT_SECONDS = 20  # MLflow's own for SQLite


@dataclass(frozen=True)
class AliasTarget:
    """The registered version an alias points at, and the local folder holding its artifacts."""

    version: str
    path: Path


def alias_from_sqlite(tracking_uri: str, model_uri: str) -> AliasTarget | None:
    """The version behind `models:/<name>@<alias>` in a SQLite registry, as it is now; None when
    MLflow must answer instead (another store or URI, workspaces on, a schema revision not in
    `KNOWN_SCHEMA_REVISIONS`, no such alias, artifacts not in a local folder). A locked or
    unreadable database raises `sqlite3.Error`, as MLflow would fail on it too."""
    from mlflow.entities.model_registry.model_version_stages import STAGE_DELETED_INTERNAL
    from mlflow.environment_variables import MLFLOW_ENABLE_WORKSPACES
    from mlflow.utils.file_utils import local_file_uri_to_path
    from mlflow.utils.workspace_utils import DEFAULT_WORKSPACE_NAME

    db = settings.sqlite_path(tracking_uri)
    wanted = _ALIAS_URI.fullmatch(model_uri)
    if db is None or wanted is None or MLFLOW_ENABLE_WORKSPACES.get():
        return None
    if wanted["alias"].lower() == "latest":
        return None  # MLflow resolves `@latest` itself
    uri = f"{db.resolve().as_uri()}?mode=ro"
    try:
        connection = sqlite3.connect(
            uri, uri=True, timeout=_BUSY_TIMEOUT_SECONDS, isolation_level=None
        )
        try:
            # One read transaction: the revision and the alias are seen at the same moment.
            connection.execute("BEGIN")
            revision = connection.execute("SELECT version_num FROM alembic_version").fetchone()
            if revision is None or revision[0] not in KNOWN_SCHEMA_REVISIONS:
                return None
            row = connection.execute(
                _ALIAS_QUERY,
                (DEFAULT_WORKSPACE_NAME, wanted["name"], wanted["alias"], STAGE_DELETED_INTERNAL),
            ).fetchone()
        finally:
            connection.close()
    except sqlite3.Error as err:
        if getattr(err, "sqlite_errorname", None) in ("SQLITE_BUSY", "SQLITE_LOCKED"):
            raise  # MLflow would wait out the same lock again before failing
        return None  # not a registry this query knows (no such table, say): MLflow's turn
    if row is None or row[1] is None:
        return None
    location = row[1]
    if "://" in location and not location.startswith("file:"):
        return None
    path = Path(local_file_uri_to_path(location))
    if not path.is_absolute() or not (path / "MLmodel").is_file():
        return None
    return AliasTarget(version=str(row[0]), path=path)


def load_pyfunc(tracking_uri: str, model_uri: str) -> Any:
    """The pyfunc at `model_uri` in the active store, its requirements checked (a mismatch is
    logged as a warning). Raises `ModelNotFound` when MLflow finds no model at the URI."""
    import mlflow.artifacts
    import mlflow.pyfunc
    from mlflow.exceptions import MlflowException

    from sentiment_assets.lib.store_faults import NOT_FOUND_CODES, ModelNotFound

    target = alias_from_sqlite(tracking_uri, model_uri)
    try:
        # Downloaded (or, from a local store, found) once, so the folder checked is the one loaded.
        folder = target.path if target else Path(mlflow.artifacts.download_artifacts(model_uri))
    except MlflowException as err:
        # Only resolving the URI can mean "not found"; a failure loading the files is not that.
        if err.error_code in NOT_FOUND_CODES:
            raise ModelNotFound(err.message) from err
        raise
    try:
        # MLflow's own check maps every installed distribution to its modules (about 1.3 s).
        model = mlflow.pyfunc.load_model(str(folder), suppress_warnings=True)
    except MlflowException as err:
        # A folder (or a run's path) without MLmodel holds no model at all: not a failing one.
        if not (folder / "MLmodel").exists() and err.error_code in NOT_FOUND_CODES:
            raise ModelNotFound(err.message) from err
        raise
    if mismatches := requirement_mismatches(folder, model):
        logging.getLogger(__name__).warning(
            "%s was logged in another environment; its predictions may differ: %s",
            model_uri,
            "; ".join(mismatches),
        )
    return model


def requirement_mismatches(model_dir: Path, model: Any) -> list[str]:
    """How this environment differs from what the model was logged with: each pinned requirement
    (`requirements.txt`) whose installed version does not satisfy it, and another Python minor
    version; empty when none does. Reads only the requirements' own metadata, not every
    installed distribution."""
    import sys

    from packaging.requirements import InvalidRequirement, Requirement

    mismatches = []
    logged_python = model.metadata.flavors.get("python_function", {}).get("python_version")
    running = f"{sys.version_info.major}.{sys.version_info.minor}"
    if logged_python and ".".join(logged_python.split(".")[:2]) != running:
        mismatches.append(f"Python {logged_python} (running {sys.version.split()[0]})")
    requirements = model_dir / "requirements.txt"
    lines = requirements.read_text().splitlines() if requirements.is_file() else []
    for line in lines:
        line = line.split("#", 1)[0].strip()
        if not line or line.startswith("-"):
            continue  # pip options (-r, -c, --index-url) pin nothing themselves
        try:
            requirement = Requirement(line)
        except InvalidRequirement:
            mismatches.append(f"{line} (not a requirement this check can read)")
            continue
        if requirement.marker is not None and not requirement.marker.evaluate():
            continue
        try:
            installed = metadata.version(requirement.name)
        except metadata.PackageNotFoundError:
            mismatches.append(f"{line} (not installed)")
            continue
        if not requirement.specifier.contains(installed, prereleases=True):
            mismatches.append(f"{line} (installed: {installed})")
    return mismatches


def logged_model_id(version: ModelVersion) -> str | None:
    """The logged model behind a registered version: MLflow 3.17 leaves `model_id` empty on a
    SQLite store, where the version's source is `models:/<model id>`."""
    if version.model_id:
        return version.model_id
    source = version.source or ""
    return source.removeprefix("models:/") if source.startswith("models:/m-") else None
