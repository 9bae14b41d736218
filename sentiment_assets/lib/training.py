"""One candidate in one MLflow run: train, tune the threshold, evaluate, log (registering is the
production decision's: only the model it promotes becomes a registered version).

`CandidateResult` is what `trained_models` hands on: the production decision, its checks,
`sentiment-run`'s report and the benchmark all read this one type.
"""

from __future__ import annotations

import contextlib
import copy
import gc
import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np
from pydantic import BaseModel, ConfigDict

from sentiment_assets.lib.monitoring import scorable
from sentiment_assets.lib.plots import training_curves_png
from sentiment_assets.lib.tracking import CANDIDATE_TAG, DATASET_TAG
from sentiment_assets.model.evaluation import Metrics, classification_metrics, tune_threshold
from sentiment_assets.model.stems import Corpus

if TYPE_CHECKING:
    from sentiment_assets.lib.tracking import MlflowStore
    from sentiment_assets.model.candidates import Candidate, EpochHook, FitReport
    from sentiment_assets.model.dataset import PaddedDataset

# Progress for people (`sentiment-run` shows it): a line when a candidate starts, after each epoch
# (those records carry `epoch`) and when it is logged.
log = logging.getLogger(__name__)


class CandidateResult(BaseModel):
    """A trained candidate: its MLflow run and logged model, its threshold and how it scored."""

    model_config = ConfigDict(frozen=True, ser_json_inf_nan="constants")

    name: str
    family: str
    experiment_id: str
    run_id: str
    model_uri: str
    threshold: float
    validation: Metrics
    test: Metrics
    epochs_trained: int
    best_epoch: int
    training_seconds: float  # fit and refit together
    history: dict[str, list[float]]
    # Seconds of the refit on train+validation; None when the logged model is the one fitted on
    # the training split. `validation` is that model's either way (see `fit_candidate`).
    refit_seconds: float | None = None
    # The MLflow run of the training it was one candidate of (its run's parent); None when it was
    # trained alone, or stored before a training had a run of its own.
    training_run_id: str | None = None


class TrainedModels(BaseModel):
    """Every candidate of one training run, all trained on the dataset with this fingerprint."""

    model_config = ConfigDict(frozen=True, ser_json_inf_nan="constants")

    data_version: str
    candidates: list[CandidateResult]

    @property
    def training_run_id(self) -> str | None:
        """The MLflow run that holds the candidates' runs (`train_candidates`)."""
        return next((c.training_run_id for c in self.candidates), None)


class PlannedCandidate(NamedTuple):
    """A fresh candidate and whether its logged model is fitted again on train+validation."""

    candidate: Candidate
    refit: bool


def plan(candidate: Candidate, refit: bool | None = None) -> PlannedCandidate:
    """The candidate with `refit`, or its family's default when that is None."""
    return PlannedCandidate(candidate, candidate.refits if refit is None else refit)


@dataclass(frozen=True)
class FittedCandidate:
    """What fitting did, before anything is logged: the threshold and validation figures come
    from the model fitted on the training split, before any refit."""

    report: FitReport
    threshold: float
    validation: Metrics
    fit_seconds: float
    refit_seconds: float | None


def fit_candidate(
    dataset: PaddedDataset, planned: PlannedCandidate, on_epoch: EpochHook | None = None
) -> FittedCandidate:
    """Fit on the training split (Keras families stop early on validation), tune the threshold on
    validation and score it there; then, when planned, fit the same configuration again on
    train+validation, so the candidate is the model to log. The test split is never seen."""
    candidate = planned.candidate
    started = time.perf_counter()
    report = candidate.fit(dataset, on_epoch=on_epoch)
    fit_seconds = time.perf_counter() - started
    labels, probabilities = score_split(candidate, dataset, "validation")
    threshold = tune_threshold(labels, probabilities)
    validation = classification_metrics(labels, probabilities, threshold)
    refit_seconds = None
    if planned.refit:
        started = time.perf_counter()
        candidate.refit(dataset, report)
        refit_seconds = time.perf_counter() - started
    return FittedCandidate(report, threshold, validation, fit_seconds, refit_seconds)


def score_split(
    candidate: Candidate, dataset: PaddedDataset, split: str
) -> tuple[np.ndarray, np.ndarray]:
    """Labels and probabilities for a split's raw reviews, through the code that serves them:
    those a model scores (`monitoring.scorable`), as the promotion decision and serving do; the
    others (no letter a-z or digit) the logged model refuses."""
    reviews = dataset.split_reviews(split)
    reviews = reviews[scorable(reviews)]
    probabilities = candidate.predict_proba(
        reviews[Corpus.TEXT].tolist(), reviews[Corpus.TITLE].tolist()
    )
    return reviews[Corpus.LABEL].to_numpy(dtype=int), probabilities


def train_candidate(
    dataset: PaddedDataset,
    planned: PlannedCandidate,
    store: MlflowStore,
    *,
    tags: dict[str, str],
    dataset_uri: str | None = None,
) -> tuple[CandidateResult, bytes | None]:
    """Fit one candidate in its own MLflow run (`fit_candidate`), score test, log it all; the
    result, and the training curves as PNG for Keras candidates. The run is a child of the
    training's run when one is open (`train_candidates`). `dataset_uri`: where the dataset is
    stored, the source of the run's dataset input (without it, MLflow's "code")."""
    import mlflow
    from mlflow.utils.mlflow_tags import MLFLOW_PARENT_RUN_ID

    from sentiment_assets.model.predictions import Predictor

    candidate = planned.candidate

    def log_epoch(epoch: int, logs: dict[str, float] | None = None) -> None:
        metrics = {k: float(v) for k, v in (logs or {}).items()}
        # Keras counts epochs from 0; people, the fit report and its `best_epoch` from 1, and so
        # do the steps of the history in MLflow (its charts and `best_epoch` then agree).
        mlflow.log_metrics(metrics, step=epoch + 1)
        shown = ", ".join(f"{k} {v:.4f}" for k, v in metrics.items() if k.startswith("val_"))
        log.info(
            "%s: epoch %d, %s",
            candidate.name,
            epoch + 1,
            shown or "no validation figures",
            extra={"epoch": epoch + 1},
        )

    log.info(
        "%s: training (%s%s)",
        candidate.name,
        candidate.family,
        ", refit on train+validation" if planned.refit else "",
    )
    tags = {CANDIDATE_TAG: candidate.name, "algorithm": candidate.family, **tags}
    with store.start_run(candidate.name, tags, nested=True) as run:
        mlflow.log_params(
            {
                "candidate": candidate.name,
                "family": candidate.family,
                "refit": planned.refit,
                **candidate.params(),
            }
        )
        # The dataset as an MLflow input (the UI's Dataset column), under its fingerprint: the
        # padded_dataset data version Dagster shows.
        inputs = _mlflow_dataset(dataset, dataset_uri)
        mlflow.log_input(inputs, context="training")
        fitted = fit_candidate(dataset, planned, on_epoch=log_epoch)
        report, threshold = fitted.report, fitted.threshold
        if report.history and report.best_epoch < report.epochs_trained:
            # The weights kept are the best epoch's: its figures again one step after the last,
            # so that each history's latest value (what the runs table shows and sorts by) is the
            # kept model's, as MLflow's Keras autologging does after early stopping.
            best = report.best_epoch - 1
            mlflow.log_metrics(
                {key: values[best] for key, values in report.history.items() if len(values) > best},
                step=report.epochs_trained + 1,
            )
        seconds = fitted.fit_seconds + (fitted.refit_seconds or 0.0)
        scores = {
            "validation": fitted.validation,
            "test": classification_metrics(*score_split(candidate, dataset, "test"), threshold),
        }
        # Epoch counts only for families that train in epochs: a one-shot fit has none to show.
        epoch_counts = (
            {"epochs_trained": report.epochs_trained, "best_epoch": report.best_epoch}
            if report.history
            else {}
        )
        mlflow.log_metrics(
            {
                "threshold": threshold,
                **epoch_counts,
                "training_seconds": seconds,
                **({} if fitted.refit_seconds is None else {"refit_seconds": fitted.refit_seconds}),
            }
        )
        curves = None
        if report.history.get("val_loss"):
            curves = training_curves_png(report.history, f"{candidate.name}: training curves")
            mlflow.log_image(_image(curves), "training_curves.png")
        info = store.log_model(Predictor(candidate, threshold))
        for split, metrics in scores.items():
            # The logged model's, named by the dataset they were measured on (its page in the
            # MLflow UI shows the dataset beside each); the run's figures too.
            mlflow.log_metrics(
                {f"{split}_{k}": v for k, v in metrics.as_dict().items()},
                model_id=info.model_id,
                dataset=inputs,
            )
    result = CandidateResult(
        name=candidate.name,
        family=candidate.family,
        experiment_id=run.info.experiment_id,
        run_id=run.info.run_id,
        model_uri=info.model_uri,
        threshold=threshold,
        validation=scores["validation"],
        test=scores["test"],
        epochs_trained=report.epochs_trained,
        best_epoch=report.best_epoch,
        training_seconds=seconds,
        history=report.history,
        refit_seconds=fitted.refit_seconds,
        training_run_id=run.data.tags.get(MLFLOW_PARENT_RUN_ID),
    )
    epochs = (
        f"{report.epochs_trained} epochs (best {report.best_epoch}), " if report.history else ""
    )
    log.info(
        "%s: validation ROC AUC %.4f, test ROC AUC %.4f, %s%.1f s",
        result.name,
        result.validation.roc_auc,
        result.test.roc_auc,
        epochs,
        result.training_seconds,
    )
    return result, curves


def _mlflow_dataset(dataset: PaddedDataset, uri: str | None) -> Any:
    """The dataset's reviews (title, text, label, split, drop) as an MLflow dataset named
    padded_dataset, with the dataset's fingerprint as its digest and where it is stored (`uri`)
    as its source."""
    import warnings

    import mlflow.data

    from sentiment_assets.lib.tracking import dataset_source

    columns = [Corpus.TITLE, Corpus.TEXT, Corpus.LABEL, Corpus.SPLIT, Corpus.DROP]
    reviews = dataset.reviews[[c for c in columns if c in dataset.reviews]]
    with warnings.catch_warnings():
        # The label is an integer column: a hint about model signatures, not datasets. MLflow
        # infers the schema (and gives the hint) when first asked: asked here, where it is quiet.
        warnings.simplefilter("ignore", UserWarning)
        inputs = mlflow.data.from_pandas(
            reviews,
            source=dataset_source(uri) if uri else None,
            name="padded_dataset",
            digest=dataset.fingerprint,
            targets=Corpus.LABEL,
        )
        _ = inputs.schema
    return inputs


def duplicate_names(names: list[str]) -> str | None:
    """What is wrong with candidate names given twice (each names an MLflow run, a result and a
    metadata entry), or None."""
    twice = sorted({name for name in names if names.count(name) > 1})
    return (
        f"each candidate needs a name of its own; given twice: {', '.join(twice)}"
        if twice
        else None
    )


def train_candidates(
    dataset: PaddedDataset,
    candidates: list[PlannedCandidate],
    store: MlflowStore,
    *,
    tags: dict[str, str],
    on_trained: Callable[[CandidateResult], None] = lambda result: None,
    dataset_uri: str | None = None,
) -> tuple[TrainedModels, dict[str, bytes]]:
    """Train every candidate against one dataset (stored at `dataset_uri`), one after another,
    each in a child run of one MLflow run for the whole training (named by the dataset's
    fingerprint: one row per training in the MLflow UI, the candidates under it, and where the
    production decision is tagged; it logs no metric, so that runs sorted or compared by one are
    the candidates'); the results in the candidates' order, and the training curves
    (PNG) of the Keras ones by name.

    The scikit-learn candidates go first, before TensorFlow is imported: beside TensorFlow (0.5 GiB
    resident once imported) their n-gram matrices took a whole-graph run over its memory budget
    (README, "Benchmark"). One at a time, an interrupt (a terminated Dagster run) reaches the
    candidate in training, whose MLflow run then ends as KILLED.
    """
    import mlflow

    from sentiment_assets.model.candidates import uses_tensorflow

    names = [p.candidate.name for p in candidates]
    if problem := duplicate_names(names):
        raise ValueError(problem)
    curves: dict[str, bytes] = {}
    tags = {**tags, DATASET_TAG: dataset.fingerprint}
    by_name: dict[str, CandidateResult] = {}
    with (
        store.start_run(f"training {dataset.fingerprint[:12]}", tags),
        collections_skip_survivors() as freeze,
    ):
        mlflow.log_params({"candidates": ", ".join(names)})
        for planned in sorted(candidates, key=lambda p: uses_tensorflow(p.candidate)):
            # Fitted as a copy that lives only as long as its training: the caller's list keeps
            # the unfitted candidates, not five fitted models.
            fresh = planned._replace(candidate=copy.deepcopy(planned.candidate))
            result, png = train_candidate(dataset, fresh, store, tags=tags, dataset_uri=dataset_uri)
            del fresh
            if png is not None:
                curves[result.name] = png
            on_trained(result)
            by_name[result.name] = result
            release_memory(keras_session=uses_tensorflow(planned.candidate), freeze=freeze)
    results = [by_name[p.candidate.name] for p in candidates]
    return TrainedModels(data_version=dataset.fingerprint, candidates=results), curves


@contextlib.contextmanager
def collections_skip_survivors() -> Iterator[bool]:
    """Within, `release_memory(freeze=True)` moves every object alive after its collection out of
    the collector's sight (`gc.freeze`), so that the next full collection, its own or one Python
    starts, scans only what was allocated since; on leaving, all of it is the collector's again.

    With TensorFlow's ~2,400 modules in memory a full collection took 0.3-0.4 s, and training the
    five candidates ran nine (2.7 s); what is alive then is nearly all modules and their
    functions, which live as long as the process. The price: an object alive at a freeze that
    later becomes garbage in a reference cycle is freed only after leaving (refcounting still
    frees the rest at once), and the first full collection after leaving walks everything again.
    Yields False, and freezes nothing, when something in the process froze objects already:
    leaving thaws every frozen object, theirs too.
    """
    if gc.get_freeze_count():
        yield False
        return
    try:
        yield True
    finally:
        gc.unfreeze()


def release_memory(*, keras_session: bool, freeze: bool = False) -> None:
    """Give the memory a finished candidate freed back to the system, so the next one (and
    TensorFlow, imported after the scikit-learn candidates) starts from what is in use.

    Keras keeps every model built in its global state until the session is cleared (after a Keras
    candidate only: clearing collects nothing else); glibc keeps freed memory in its per-thread
    arenas, which `malloc_trim` returns (elsewhere only the collection runs). The collection runs
    once: `clear_session` would add one of its own, and a full collection took 0.6-1.1 s in the
    benchmark's process, which had run the whole graph before (cProfile, section 4). With
    `freeze`, what survives it is frozen (see `collections_skip_survivors`).
    """
    import ctypes
    import sys

    if keras_session and "keras" in sys.modules:
        sys.modules["keras"].backend.clear_session(free_memory=False)
    gc.collect()
    if freeze:
        gc.freeze()
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def _image(png: bytes) -> Any:
    """A PIL image, for `mlflow.log_image`."""
    from io import BytesIO

    from PIL import Image

    return Image.open(BytesIO(png))
