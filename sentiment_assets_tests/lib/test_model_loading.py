"""The production alias read straight from a SQLite registry is MLflow's answer, at once after the
alias moves, and MLflow answers whenever anything is unexpected; the model's pinned requirements
are checked against the installed versions."""

import logging
import re
import shutil
import sqlite3
import sys
from pathlib import Path

import pytest
from mlflow import MlflowClient

from sentiment_assets.lib import model_loading
from sentiment_assets.lib.model_loading import (
    KNOWN_SCHEMA_REVISIONS,
    alias_from_sqlite,
    requirement_mismatches,
)
from sentiment_assets.lib.tracking import MODEL_NAME, PRODUCTION_URI, MlflowStore, model_uri


def _mlflow_answer(store: MlflowStore) -> tuple[str, Path]:
    """The version behind the alias and its artifacts' folder, as MLflow's own client reads them."""
    client = MlflowClient(tracking_uri=store.uri, registry_uri=store.uri)
    version = client.get_model_version_by_alias(MODEL_NAME, "production").version
    return str(version), Path(client.get_model_version_download_uri(MODEL_NAME, version))


def test_the_alias_is_mlflows_answer_and_a_move_is_seen_at_once(tfidf_store) -> None:
    store, versions = tfidf_store["store"], tfidf_store["versions"]
    for version in (versions[1], versions[0], versions[1]):
        store.set_production(version)
        target = alias_from_sqlite(store.uri, PRODUCTION_URI)
        assert target is not None
        assert (target.version, target.path) == _mlflow_answer(store)
        assert target.version == version


def test_the_installed_mlflow_schema_is_one_the_query_was_checked_against() -> None:
    # Fails after an MLflow upgrade that migrates the schema: check _ALIAS_QUERY against the new
    # registry tables, then add the revision.
    from mlflow.store.db.utils import _get_latest_schema_revision

    assert _get_latest_schema_revision() in KNOWN_SCHEMA_REVISIONS


def _copy(tfidf_store, tmp_path: Path) -> MlflowStore:
    """A copy of the store's database (artifacts stay where the registry says they are)."""
    db = tmp_path / "mlflow.db"
    shutil.copy(tfidf_store["store"].uri.removeprefix("sqlite:///"), db)
    return MlflowStore(f"sqlite:///{db}")


def test_mlflow_answers_for_a_schema_revision_it_does_not_know(tfidf_store, tmp_path) -> None:
    store = _copy(tfidf_store, tmp_path)
    assert alias_from_sqlite(store.uri, PRODUCTION_URI) is not None
    with sqlite3.connect(tmp_path / "mlflow.db") as db:
        db.execute("UPDATE alembic_version SET version_num = 'from_the_future'")
    assert alias_from_sqlite(store.uri, PRODUCTION_URI) is None


def test_mlflow_answers_for_a_deleted_version_and_a_missing_alias(tfidf_store, tmp_path) -> None:
    store = _copy(tfidf_store, tmp_path)
    with sqlite3.connect(tmp_path / "mlflow.db") as db:
        db.execute("UPDATE model_versions SET current_stage = 'Deleted_Internal'")
    assert alias_from_sqlite(store.uri, PRODUCTION_URI) is None
    assert alias_from_sqlite(store.uri, model_uri(alias="staging")) is None


@pytest.mark.parametrize(
    "uri",
    [model_uri(alias="latest"), f"models:/{MODEL_NAME}/1", "models:/m-0123", "runs:/abc/model"],
)
def test_mlflow_answers_for_every_other_model_uri(tfidf_store, uri) -> None:
    assert alias_from_sqlite(tfidf_store["store"].uri, uri) is None


def test_mlflow_answers_for_other_stores_and_for_workspaces(tfidf_store, monkeypatch) -> None:
    assert alias_from_sqlite("http://127.0.0.1:5000", PRODUCTION_URI) is None
    monkeypatch.setenv("MLFLOW_ENABLE_WORKSPACES", "true")
    assert alias_from_sqlite(tfidf_store["store"].uri, PRODUCTION_URI) is None


def test_a_locked_store_is_an_error_not_a_second_wait(tfidf_store, tmp_path, monkeypatch) -> None:
    store = _copy(tfidf_store, tmp_path)
    monkeypatch.setattr(model_loading, "_BUSY_TIMEOUT_SECONDS", 0.1)
    writer = sqlite3.connect(tmp_path / "mlflow.db", isolation_level=None)
    writer.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(sqlite3.OperationalError, match="database is locked"):
            alias_from_sqlite(store.uri, PRODUCTION_URI)
    finally:
        writer.close()


def _local_copy(tfidf_store, tmp_path: Path) -> Path:
    store = tfidf_store["store"]
    store.set_production(tfidf_store["versions"][0])
    source = alias_from_sqlite(store.uri, PRODUCTION_URI).path
    return Path(shutil.copytree(source, tmp_path / "model"))


def test_requirements_met_give_no_mismatch(tfidf_store, tmp_path) -> None:
    folder = _local_copy(tfidf_store, tmp_path)
    model = tfidf_store["store"].load_model(str(folder))
    assert "scikit-learn==" in (folder / "requirements.txt").read_text()
    assert requirement_mismatches(folder, model) == []


def test_each_unmet_requirement_is_named_and_logged(tfidf_store, tmp_path, caplog) -> None:
    folder = _local_copy(tfidf_store, tmp_path)
    pins = (folder / "requirements.txt").read_text().splitlines()
    pins = [("scikit-learn==0.20.0" if p.startswith("scikit-learn==") else p) for p in pins]
    pins += [
        "surely-not-installed-anywhere==1.0",
        "-c constraints.txt",
        "numpy<1; python_version<'3'",
    ]
    (folder / "requirements.txt").write_text("\n".join(pins) + "\n")
    mlmodel = folder / "MLmodel"
    mlmodel.write_text(re.sub(r"python_version: .*", "python_version: 3.9.1", mlmodel.read_text()))

    with caplog.at_level(logging.WARNING):
        model = tfidf_store["store"].load_model(str(folder))
    from sklearn import __version__ as installed

    found = requirement_mismatches(folder, model)
    assert found == [
        f"Python 3.9.1 (running {sys.version.split()[0]})",
        f"scikit-learn==0.20.0 (installed: {installed})",
        "surely-not-installed-anywhere==1.0 (not installed)",
    ]
    assert f"{folder} was logged in another environment" in caplog.text
    assert all(mismatch in caplog.text for mismatch in found)
