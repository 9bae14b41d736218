"""One candidate in one MLflow run: train, tune the threshold, evaluate, log (registering is the
production decision's: only the model it promotes becomes a registered version).

`CandidateResult` is what `trained_models` hands on: the production decision, its checks,
`sentiment-run`'s report and the benchmark all read this one type.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

import numpy as np
from pydantic import BaseModel, ConfigDict

from sentiment_assets.lib.plots import training_curves_png
from sentiment_assets.model.evaluation import Metrics, classification_metrics, tune_threshold
from sentiment_assets.model.stems import Corpus

if TYPE_CHECKING:
    from sentiment_assets.lib.tracking import MlflowStore
    from sentiment_assets.model.candidates import Candidate
    from sentiment_assets.model.dataset import PaddedDataset


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
    training_seconds: float
    history: dict[str, list[float]]


class TrainedModels(BaseModel):
    """Every candidate of one training run, all trained on the dataset with this fingerprint."""

    model_config = ConfigDict(frozen=True, ser_json_inf_nan="constants")

    data_version: str
    candidates: list[CandidateResult]


def score_split(
    candidate: Candidate, dataset: PaddedDataset, split: str
) -> tuple[np.ndarray, np.ndarray]:
    """Labels and probabilities for a split's raw reviews, through the code that serves them."""
    reviews = dataset.split_reviews(split)
    probabilities = candidate.predict_proba(
        reviews[Corpus.TEXT].tolist(), reviews[Corpus.TITLE].tolist()
    )
    return reviews[Corpus.LABEL].to_numpy(dtype=int), probabilities


def train_candidate(
    dataset: PaddedDataset,
    candidate: Candidate,
    store: MlflowStore,
    *,
    tags: dict[str, str],
) -> tuple[CandidateResult, bytes | None]:
    """Fit one candidate in its own MLflow run, tune its threshold on validation, score validation
    and test, log it all; the result, and the training curves as PNG for Keras candidates."""
    import mlflow

    from sentiment_assets.model.predictions import Predictor

    def log_epoch(epoch: int, logs: dict[str, float] | None = None) -> None:
        mlflow.log_metrics({k: float(v) for k, v in (logs or {}).items()}, step=epoch)

    tags = {"candidate": candidate.name, "algorithm": candidate.family, **tags}
    with store.start_run(candidate.name, tags) as run:
        mlflow.log_params(
            {"candidate": candidate.name, "family": candidate.family, **candidate.params()}
        )
        started = time.perf_counter()
        report = candidate.fit(dataset, on_epoch=log_epoch)
        seconds = time.perf_counter() - started

        scored = {split: score_split(candidate, dataset, split) for split in ("validation", "test")}
        threshold = tune_threshold(*scored["validation"])
        scores = {split: classification_metrics(*scored[split], threshold) for split in scored}
        for split, metrics in scores.items():
            mlflow.log_metrics({f"{split}_{k}": v for k, v in metrics.as_dict().items()})
        mlflow.log_metrics(
            {
                "threshold": threshold,
                "epochs_trained": report.epochs_trained,
                "best_epoch": report.best_epoch,
                "training_seconds": seconds,
            }
        )
        curves = None
        if report.history.get("val_loss"):
            curves = training_curves_png(report.history, f"{candidate.name}: training curves")
            mlflow.log_image(_image(curves), "training_curves.png")
        info = store.log_model(Predictor(candidate, threshold))
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
    )
    return result, curves


def train_candidates(
    dataset: PaddedDataset,
    candidates: list[Candidate],
    store: MlflowStore,
    *,
    tags: dict[str, str],
    on_trained: Callable[[CandidateResult], None] = lambda result: None,
) -> tuple[TrainedModels, dict[str, bytes]]:
    """Train every candidate against one dataset; the results in the candidates' order, and the
    training curves (PNG) of the Keras ones by name.

    TensorFlow already uses both cores, so its candidates go one after another; the
    single-threaded scikit-learn fit runs beside them instead of after them (8 s faster over the
    whole graph, measured).
    """
    from sentiment_assets.model.candidates import uses_tensorflow

    curves: dict[str, bytes] = {}
    tags = {**tags, "data_version": dataset.fingerprint}

    def train(group: list[Candidate]) -> list[CandidateResult]:
        results = []
        for candidate in group:
            result, png = train_candidate(dataset, candidate, store, tags=tags)
            if png is not None:
                curves[result.name] = png
            on_trained(result)
            results.append(result)
        return results

    groups = [
        [c for c in candidates if uses_tensorflow(c)],
        [c for c in candidates if not uses_tensorflow(c)],
    ]
    with ThreadPoolExecutor(max_workers=2) as pool:
        by_name = {r.name: r for group in pool.map(train, groups) for r in group}
    results = [by_name[c.name] for c in candidates]
    return TrainedModels(data_version=dataset.fingerprint, candidates=results), curves


def _image(png: bytes) -> Any:
    """A PIL image, for `mlflow.log_image`."""
    from io import BytesIO

    from PIL import Image

    return Image.open(BytesIO(png))
