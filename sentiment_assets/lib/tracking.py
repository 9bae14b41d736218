"""The MLflow tracking store and model registry: runs, logged models, the production alias.

Aliases, never the deprecated stages: production is `models:/customer-sentiment-analysis@production`.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sentiment_assets.lib import settings
from sentiment_assets.lib.storage.files import created_whole, locked
from sentiment_assets.lib.store_faults import (
    NOT_FOUND_CODES,
    MlflowStoreError,
    ModelNotFound,
    ProductionMoved,
    describe,
    is_mlflow_failure,
)
from sentiment_assets.model import predictions as p

if TYPE_CHECKING:
    from mlflow import MlflowClient
    from mlflow.entities import Run
    from mlflow.entities.model_registry import ModelVersion
    from mlflow.models.model import ModelInfo
    from mlflow.store.entities.paged_list import PagedList

    from sentiment_assets.lib.monitoring import LiveQuality
    from sentiment_assets.model.predictions import Predictor

EXPERIMENT_NAME = "customer-sentiment-analysis"
# Live quality is logged apart from the candidates, so that comparing candidates' runs by their
# validation and test metrics never meets a monitoring run (with other metrics) among them.
MONITORING_EXPERIMENT = "customer-sentiment-analysis-monitoring"
MODEL_NAME = "customer-sentiment-analysis"
PRODUCTION_ALIAS = "production"
DEVELOPER = "data-team"  # tagged on every run, as the seed did
# The registered model's description in MLflow: what its versions take and give.
MODEL_DESCRIPTION = (
    "Whether a customer recommends the product, from the text of an e-commerce review. In: "
    f"{p.TEXT_COLUMN} (text, required) and {p.TITLE_COLUMN} (text, optional). Out: "
    f"{p.PROBABILITY_COLUMN}, the probability of 'recommended', and {p.LABEL_COLUMN}, 1 for "
    "'recommended' and 0 for 'not recommended' (probability at or above the version's threshold, "
    f"tuned on validation). The alias '{PRODUCTION_ALIAS}' names the version that serves; a "
    "version's description says why it took production, and its promotion.* tags hold the "
    "evidence."
)
# Tags the platform writes on runs and versions and reads back later: each spelled here only.
CANDIDATE_TAG = "candidate"  # on a candidate's run: its name
DAGSTER_RUN_TAG = "dagster_run_id"  # the Dagster run that logged the run or registered the version
DAGSTER_ASSET_TAG = "dagster_asset_key"
DAGSTER_CODE_VERSION_TAG = "dagster_code_version"  # of that asset
DROP_TAG = "drop"  # on a live record's run: the drop it scored
DATASET_TAG = "data_version"  # on a candidate's run: the fingerprint of the dataset it trained on
# On a version registered for a promotion until the alias has moved to it: one that keeps it after
# its Dagster run ended never held production (the run failed or was killed in between).
PROMOTION_PENDING_TAG = "promotion_pending"


def model_uri(name: str = MODEL_NAME, alias: str = PRODUCTION_ALIAS) -> str:
    return f"models:/{name}@{alias}"


PRODUCTION_URI = model_uri()
UNREADABLE_ALIAS = "could not read the production alias from the MLflow registry"


@dataclass(frozen=True)
class MlflowStore:
    """One tracking store and registry, its experiment and registered model, and the UI to link to."""

    uri: str
    experiment_name: str = EXPERIMENT_NAME
    model_name: str = MODEL_NAME
    ui_url: str = ""  # default: the store's own server, or the local UI (`settings.mlflow_ui_url`)
    developer: str = DEVELOPER

    def __post_init__(self) -> None:
        if not self.ui_url:
            object.__setattr__(self, "ui_url", settings.mlflow_ui_url(self.uri))

    @classmethod
    def default(cls) -> MlflowStore:
        return cls(settings.tracking_uri())

    def client(self) -> MlflowClient:
        from mlflow import MlflowClient

        return MlflowClient(tracking_uri=self.uri, registry_uri=self.uri)

    def experiment_id(self) -> str:
        """The experiment, created on first use (artifacts beside a SQLite store, not in the
        working directory); safe from any number of threads and processes."""
        from mlflow.exceptions import MlflowException

        with self._store_lock():
            self._create_sqlite_store()
            client = self.client()
            experiment = client.get_experiment_by_name(self.experiment_name)
            if experiment is None:
                artifacts = settings.artifacts_dir(self.uri)
                try:
                    return client.create_experiment(
                        self.experiment_name,
                        artifact_location=str(artifacts) if artifacts else None,
                    )
                except MlflowException as err:
                    # Another thread or process created it in between (the file lock covers only
                    # SQLite; a tracking server answers this).
                    if err.error_code != "RESOURCE_ALREADY_EXISTS":
                        raise
                experiment = client.get_experiment_by_name(self.experiment_name)
        if experiment.lifecycle_stage == "deleted":
            raise MlflowStoreError(
                f"the MLflow experiment {self.experiment_name!r} in {settings.redacted(self.uri)} "
                "is deleted: restore it in the MLflow UI (or delete it for good) to train again"
            )
        return experiment.experiment_id

    def create_if_missing(self) -> None:
        """`_create_sqlite_store` under the store's lock, before any MLflow client touches it
        (`sentiment-platform prepare`: a step's first query, say, would create it otherwise)."""
        if settings.artifacts_dir(self.uri) is not None and self._never_created():
            with self._store_lock():
                self._create_sqlite_store()

    def _create_sqlite_store(self) -> None:
        """A SQLite store that does not exist yet, created with MLflow's Default experiment (0)
        beside the others' artifacts: created by a client, its artifacts would go to `mlruns/0` in
        whatever folder the first process ran in, where a notebook logging to this store without
        choosing an experiment would then write. A store that exists is left as it is."""
        artifacts = settings.artifacts_dir(self.uri)
        db = settings.sqlite_path(self.uri)
        if artifacts is None or db is None or not self._never_created():
            return
        import logging

        from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore

        # Quietly: MLflow says it creates and updates its tables on stderr, before sentiment-run
        # sends the libraries' output to its log.
        quiet = [logging.getLogger(name) for name in ("mlflow.store.db.utils", "alembic")]
        levels = [logger.level for logger in quiet]
        for logger in quiet:
            logger.setLevel(logging.WARNING)
        try:
            # Created aside and renamed into place: MLflow's migrations commit step by step, and
            # a process killed among them left a file no client could open again ("table
            # registered_models already exists"), or one whose next client made the Default
            # experiment in the working folder (a review killed the first run at 0.05-2 s).
            with created_whole(db) as creating:
                SqlAlchemyStore(f"sqlite:///{creating}", str(artifacts)).engine.dispose()
        finally:
            for logger, level in zip(quiet, levels, strict=True):
                logger.setLevel(level)

    @contextmanager
    def start_run(
        self, run_name: str, tags: dict[str, str], *, nested: bool = False
    ) -> Iterator[Run]:
        """An MLflow run for the block: FINISHED when it completes, FAILED when it raises an error,
        KILLED when it is interrupted (Ctrl-C, a terminated Dagster run). Tagged with the git
        commit of this code when it runs from a checkout, as MLflow tags a script's runs.
        `nested`: a child of the run this thread has open, if any (MLflow's parent run)."""
        import mlflow
        from mlflow.utils.mlflow_tags import MLFLOW_GIT_COMMIT

        self.activate()
        commit = source_commit()
        run = mlflow.start_run(
            experiment_id=self.experiment_id(),
            run_name=run_name,
            nested=nested,
            tags={
                "developer": self.developer,
                **({MLFLOW_GIT_COMMIT: commit} if commit else {}),
                **tags,
            },
        )
        try:
            yield run
        except Exception:
            mlflow.end_run(status="FAILED")
            raise
        except BaseException:
            mlflow.end_run(status="KILLED")
            raise
        mlflow.end_run(status="FINISHED")

    def log_model(self, predictor: Predictor) -> ModelInfo:
        """Log a candidate with its threshold into the active run, with the model package as its
        code and its family's requirements; a logged model of the run, not a registered version."""
        import mlflow.pyfunc

        from sentiment_assets.model.candidates import pip_requirements
        from sentiment_assets.model.predictions import (
            ENTRY_POINT,
            copy_code,
            input_example,
            signature,
        )

        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            predictor.save(folder / "candidate")
            return mlflow.pyfunc.log_model(
                name=predictor.candidate.name,
                python_model=str(ENTRY_POINT),
                artifacts={
                    "candidate": str(folder / "candidate"),
                    "code": str(copy_code(folder / "code")),
                },
                signature=signature(),
                # Shown in the MLflow UI and written as the request `mlflow models serve` takes
                # (serving_input_example.json); MLflow loads the logged model and scores it once,
                # which checks that it loads: 0.1-0.8 s a model.
                input_example=input_example(),
                # Pinned here: letting MLflow infer requirements costs 5-7 s per model.
                pip_requirements=pip_requirements(predictor.candidate.family),
            )

    def load_model(self, uri: str) -> Any:
        """The pyfunc behind a model URI: raw review text in, probability and label out. An alias
        is read when this is called, so the model is the one behind it at that moment. Raises
        `ModelNotFound` when the store holds no such model, an MLflow error when it fails."""
        from sentiment_assets.lib.model_loading import load_pyfunc

        if self._never_created():
            raise ModelNotFound("no store has been created there yet")
        self.activate()
        return load_pyfunc(self.uri, uri)

    def production_version(self) -> ModelVersion | None:
        """The version behind the production alias; None only when the registry says there is
        none (no registered model, or one without the alias). Any other failure to read it raises
        `MlflowStoreError`: a store that cannot be read is not an empty one."""
        from mlflow.exceptions import MlflowException

        if self._never_created():
            return None
        try:
            client = self.client()
            try:
                return client.get_model_version_by_alias(self.model_name, PRODUCTION_ALIAS)
            except MlflowException as err:
                if err.error_code not in NOT_FOUND_CODES:
                    raise
                lookup = err
            # Those codes mean other things too: the registered model must confirm the absence.
            try:
                registered = client.get_registered_model(self.model_name)
            except MlflowException as err:
                if err.error_code == "RESOURCE_DOES_NOT_EXIST":
                    return None
                raise
            if PRODUCTION_ALIAS not in registered.aliases:
                return None
            raise lookup
        except Exception as err:
            if not is_mlflow_failure(err):
                raise
            raise self._error(UNREADABLE_ALIAS, err) from err

    def candidate_name(self, run_id: str) -> str:
        """The candidate an MLflow run trained (its `candidate` tag)."""
        return self.run_tag(run_id, CANDIDATE_TAG) or run_id

    def run_tag(self, run_id: str, tag: str) -> str | None:
        return self.client().get_run(run_id).data.tags.get(tag)

    def monitoring(self) -> MlflowStore:
        """The same store, in the experiment of the live-quality records."""
        return replace(self, experiment_name=MONITORING_EXPERIMENT)

    def log_live_quality(
        self,
        quality: LiveQuality,
        version: ModelVersion,
        tags: dict[str, str],
        source_file: Path | None = None,
    ) -> tuple[str, str]:
        """A FINISHED run in the monitoring experiment with the drop's figures, tagged with the
        drop and the production version; a live record's `live_*` figures are also linked to that
        version's logged model (its page in the MLflow UI lists them beside its training
        metrics, which the other figures' names would collide with). The drop is the run's
        evaluation dataset (its file as the source, the file's sha256 as the digest), and the
        linked figures name it: a version that scored several drops has one `live_roc_auc` per
        drop on its model's page, each with its dataset. The experiment and run ids."""
        import mlflow

        from sentiment_assets.lib.model_loading import logged_model_id
        from sentiment_assets.lib.monitoring import live_figures

        monitoring = self.monitoring()
        run_tags = {
            DROP_TAG: quality.drop,
            "production_version": str(version.version),
            "registered_model": self.model_name,
            "production_run_id": version.run_id,
            "scored_at": quality.scored_at,
            "live": str(quality.live).lower(),
            **tags,
        }
        figures = live_figures(quality)
        linked = {k: v for k, v in figures.items() if quality.live and k.startswith("live_")}
        drop = drop_dataset(quality.drop, quality.content, source_file)
        with monitoring.start_run(f"live-{quality.drop}", run_tags) as run:
            if drop is not None:
                mlflow.log_input(drop, context="evaluation")
            mlflow.log_metrics({k: v for k, v in figures.items() if k not in linked})
            if linked:
                mlflow.log_metrics(linked, model_id=logged_model_id(version), dataset=drop)
            mlflow.log_dict(quality.model_dump(mode="json"), "live_quality.json")
        return run.info.experiment_id, run.info.run_id

    def register_version(
        self, logged_model_uri: str, run_id: str, tags: Mapping[str, str] | None = None
    ) -> str:
        """The registered version of a run's logged model, with `tags`: created on first call,
        found again (and tagged) on later ones, so a retried step registers nothing twice.

        MLflow's HTTP client sends a failed request again itself: a registration the server
        applied but whose reply was lost (or replaced by a gateway's 5xx) is then applied twice or
        more. The extra versions are deleted again, and all of them when the call fails: those
        of the same run registered for the same Dagster run (`DAGSTER_RUN_TAG` in `tags`) that
        the alias does not name, so a concurrent decision's version is never touched."""
        import mlflow

        client = self.client()
        existing = self._versions_of_run(run_id)
        if existing:
            version = str(existing[0].version)
            for key, value in (tags or {}).items():
                client.set_model_version_tag(self.model_name, version, key, value)
            return version
        self.activate()
        created = None
        try:
            created = str(
                mlflow.register_model(logged_model_uri, self.model_name, tags=tags).version
            )
        finally:
            # A cleanup the store refuses leaves the extra versions pending, to
            # `promotion.discard_abandoned` once their Dagster run has ended.
            with suppress(Exception):
                self._discard_duplicates(run_id, tags, keep=created)
        return created

    def _versions_of_run(self, run_id: str) -> list[ModelVersion]:
        """The registered versions of the run's model, oldest first."""
        found = self.client().search_model_versions(
            f"name = '{self.model_name}' and run_id = '{run_id}'"
        )
        return sorted(found, key=lambda v: int(v.version))

    def _discard_duplicates(
        self, run_id: str, tags: Mapping[str, str] | None, keep: str | None
    ) -> None:
        """Delete the run's versions registered by retries of one registration (see
        `register_version`), all but `keep`."""
        registered_by = (tags or {}).get(DAGSTER_RUN_TAG)
        if registered_by is None:
            return
        extra = [
            str(found.version)
            for found in self._versions_of_run(run_id)
            if str(found.version) != keep and found.tags.get(DAGSTER_RUN_TAG) == registered_by
        ]
        if not extra:
            return  # the usual case: no alias read
        held = self.production_version()
        for version in extra:
            if held is None or str(held.version) != version:
                self.discard_version(version)

    def describe_version(self, version: str, description: str) -> None:
        """Set a version's description; the registered model gets its own (`MODEL_DESCRIPTION`:
        what its versions take and give) while it has none."""
        client = self.client()
        client.update_model_version(self.model_name, version, description=description)
        if not client.get_registered_model(self.model_name).description:
            client.update_registered_model(self.model_name, description=MODEL_DESCRIPTION)

    def tag_run(self, run_id: str, tags: Mapping[str, str]) -> None:
        """Set `tags` on a finished run (a decision about the candidate it trained)."""
        client = self.client()
        for key, value in tags.items():
            client.set_tag(run_id, key, value)

    def version_uri(self, version: str) -> str:
        return f"models:/{self.model_name}/{version}"

    def set_production(self, version: str) -> None:
        self.client().set_registered_model_alias(self.model_name, PRODUCTION_ALIAS, version)

    def move_production(self, version: str) -> None:
        """Point the alias at `version`, which the caller registered for this move. When MLflow
        reports a failure the alias is read back: a move applied despite the error (a reply lost
        on its way back) stands; otherwise `version` is deleted from the registry again (its run
        and logged model stay: only promoted versions stay registered), and `MlflowStoreError`
        says where the alias is."""
        try:
            self.set_production(version)
            return
        except Exception as err:
            if not is_mlflow_failure(err):
                raise
            failure = err
        error = self._error(f"could not move the production alias to version {version}", failure)
        try:
            current = self.production_version()
        except MlflowStoreError:
            unknown = "reading the alias back failed too, so whether it moved is unknown"
            raise MlflowStoreError(f"{error}; {unknown}") from failure
        if current is not None and str(current.version) == version:
            return
        where = f"version {current.version}" if current is not None else "no version"
        left = "was deleted again" if self.discard_version(version) else "stays registered"
        raise MlflowStoreError(
            f"{error}; the alias names {where}, and version {version}, registered for the move, "
            f"{left}"
        ) from failure

    def end_abandoned_runs(self, run_ended: Callable[[str], bool]) -> list[str]:
        """End as KILLED each run of the experiment still RUNNING whose Dagster run
        (`DAGSTER_RUN_TAG`) has ended: its process was killed while it ran, so nothing ended it.
        The MLflow run ids."""
        client = self.client()
        experiment = client.get_experiment_by_name(self.experiment_name)
        if experiment is None:
            return []
        ended = []
        for run in client.search_runs(
            [experiment.experiment_id], filter_string="attributes.status = 'RUNNING'"
        ):
            dagster_run = run.data.tags.get(DAGSTER_RUN_TAG)
            if dagster_run and run_ended(dagster_run):
                client.set_terminated(run.info.run_id, status="KILLED")
                ended.append(run.info.run_id)
        return ended

    def production_version_number(self) -> str | None:
        """The version the production alias names, read as `sentiment-predict` reads it: one
        query on a SQLite registry (no SQLAlchemy store to set up: a second of an unchanged
        `sentiment-run`), MLflow whenever that query cannot answer."""
        import sqlite3

        from sentiment_assets.lib.model_loading import alias_from_sqlite

        try:
            found = alias_from_sqlite(self.uri, model_uri(self.model_name))
        except sqlite3.Error:
            found = None  # locked: MLflow waits, and says what went wrong if it must
        if found is not None:
            return found.version
        version = self.production_version()
        return None if version is None else str(version.version)

    def no_production_hint(self) -> str:
        """What to do when no version holds the production alias: train one, or, when versions
        are registered (the alias was removed since), set it again or decide again."""
        registered = False
        if not self._never_created():
            try:
                versions = self.client().search_model_versions(
                    f"name = '{self.model_name}'", max_results=1
                )
                registered = bool(versions)
            except Exception as err:
                # Only a hint: a store that cannot answer gets the first-time one.
                if not is_mlflow_failure(err):
                    raise
        if registered:
            return (
                "the registered model has versions but none holds the production alias (removed "
                "since): set it in the MLflow UI (make mlflow-ui), or materialize production_model "
                "in the Dagster UI (make dev) to decide again"
            )
        return "materialize production_model first (make run)"

    def finished_runs_tagged(self, key: str, value: str) -> list[tuple[str, str | None]]:
        """The FINISHED runs of the experiment whose tag `key` is `value`, as (run id, the
        Dagster run that logged it or None)."""
        client = self.client()
        experiment = client.get_experiment_by_name(self.experiment_name)
        if experiment is None:
            return []
        finished = "attributes.status = 'FINISHED'"
        # MLflow's filter strings have no escapes: a value holding both quotes (a partition added
        # by hand) is matched here instead, page by page.
        quote = next((q for q in ("'", '"') if q not in value), None)
        wanted = f" and tags.`{key}` = {quote}{value}{quote}" if quote else ""
        runs: list[Any] = []
        page: PagedList | None = None
        while page is None or page.token:
            page = client.search_runs(
                [experiment.experiment_id],
                filter_string=finished + wanted,
                page_token=page.token if page is not None else None,
            )
            runs += [run for run in page if run.data.tags.get(key) == value]
        return [(run.info.run_id, run.data.tags.get(DAGSTER_RUN_TAG)) for run in runs]

    def end_as_killed(self, run_id: str) -> None:
        """Mark a run KILLED (a FINISHED one too): the status MLflow gives a run whose work did
        not reach its end."""
        self.client().set_terminated(run_id, status="KILLED")

    def pending_versions(self) -> list[Any]:
        """The versions still marked as registered for a promotion (`PROMOTION_PENDING_TAG`)."""
        return self.client().search_model_versions(
            f"name = '{self.model_name}' and tags.{PROMOTION_PENDING_TAG} = 'true'"
        )

    def clear_pending(self, version: str) -> None:
        """The alias has moved to `version`: it is no longer pending."""
        self.client().delete_model_version_tag(self.model_name, version, PROMOTION_PENDING_TAG)

    def discard_version(self, version: str) -> bool:
        """Delete a version registered for a promotion that did not happen (its run and logged
        model stay), so only promoted versions stay registered; False when the store refused."""
        try:
            self.client().delete_model_version(self.model_name, version)
        except Exception as err:
            if not is_mlflow_failure(err):
                raise
            # Applied though its reply was lost: MLflow's retry then finds nothing to delete.
            return self._gone(version)
        return True

    def _gone(self, version: str) -> bool:
        """Whether the registry says the version does not exist (a store that fails to say
        counts as "it may")."""
        try:
            self.client().get_model_version(self.model_name, version)
        except Exception as err:
            if not is_mlflow_failure(err):
                raise
            return getattr(err, "error_code", None) == "RESOURCE_DOES_NOT_EXIST"
        return False

    def expect_production(self, expected: str | None) -> None:
        """Raise `ProductionMoved` unless the alias still names `expected` (None: no alias)."""
        current = self.production_version()
        found = str(current.version) if current is not None else None
        if found != expected:
            raise ProductionMoved(expected, found)

    @contextmanager
    def failures_explained(self, step: str, outcome: str) -> Iterator[None]:
        """Re-raise a failure of the store met in the block (locked, disk full, an error reply) as
        `MlflowStoreError` naming the step, what went wrong and what that left as it was."""
        try:
            yield
        except Exception as err:
            if isinstance(err, MlflowStoreError):
                problem = str(err)
            elif is_mlflow_failure(err):
                problem = str(self._error("could not use the MLflow store", err))
            else:
                raise
            raise MlflowStoreError(f"{step} failed: {problem}; {outcome}") from err

    def _never_created(self) -> bool:
        """A local SQLite store whose file does not exist: it holds no model, and asking MLflow
        would create an empty store to find that out."""
        db = settings.sqlite_path(self.uri)
        return db is not None and not db.exists()

    def _error(self, what: str, err: BaseException) -> MlflowStoreError:
        problem = settings.without_credentials(describe(err), self.uri)
        return MlflowStoreError(f"{what} at {settings.redacted(self.uri)}: {problem}")

    def activate(self) -> None:
        """Point MLflow's process-wide fluent API at this store (tests use several)."""
        import mlflow

        mlflow.set_tracking_uri(self.uri)
        mlflow.set_registry_uri(self.uri)

    def run_url(self, experiment_id: str, run_id: str) -> str:
        return f"{self.ui_url}/#/experiments/{experiment_id}/runs/{run_id}"

    def model_version_url(self, version: str) -> str:
        return f"{self.ui_url}/#/models/{self.model_name}/versions/{version}"

    @contextmanager
    def _store_lock(self) -> Iterator[None]:
        # Two processes creating a fresh SQLite store at once crash in MLflow's migrations.
        db = settings.sqlite_path(self.uri)
        if db is None:
            yield
            return
        db.parent.mkdir(parents=True, exist_ok=True)
        with locked(db.with_suffix(".lock")):
            yield


# A dataset's digest in MLflow's store: at most 36 characters (PostgreSQL enforces it).
DIGEST_LENGTH = 16


def drop_dataset(drop: str, sha256: str | None, source_file: Path | None) -> Any:
    """A drop as an MLflow dataset of metadata only: named by its partition key, its digest the
    start of the sha256 of the file read (Dagster's data version of its raw_reviews), its source
    the file, as a `file://` URI (a name alone could read as another source: `s3:x.csv`); None
    when either is unknown (a record made before records named its content)."""
    if sha256 is None or source_file is None:
        return None
    from mlflow.data.meta_dataset import MetaDataset

    source = dataset_source(source_file.absolute().as_uri())
    if source is None:  # a name MLflow knows no source for: the record goes without
        return None
    return MetaDataset(source, name=drop, digest=sha256[:DIGEST_LENGTH])


def dataset_source(uri: str) -> Any:
    """An MLflow dataset source for a `file://`, `s3://` or `http(s)://` URI; None for a URI
    MLflow knows no source for."""
    import warnings

    from mlflow.data.dataset_source_registry import resolve_dataset_source
    from mlflow.exceptions import MlflowException

    with warnings.catch_warnings():
        # MLflow registers two local-file sources and says it picked one.
        warnings.simplefilter("ignore", UserWarning)
        try:
            return resolve_dataset_source(uri)
        except MlflowException:
            return None


@cache
def source_commit() -> str | None:
    """The git commit this package was loaded from, when it runs from a checkout (an editable
    install); None elsewhere, without importing GitPython (an image has no repository)."""
    here = Path(__file__).resolve()
    if not any((folder / ".git").exists() for folder in here.parents):
        return None
    from mlflow.utils.git_utils import get_git_commit

    return get_git_commit(str(here))
