"""The fitting part of lib/training: fit on train, threshold and validation from that model, then
the refit on train+validation that the logged model is."""

import gc
import logging
import os
import signal
import threading
from dataclasses import replace

import numpy as np
import pytest

from sentiment_assets.lib.training import (
    collections_skip_survivors,
    fit_candidate,
    plan,
    release_memory,
    score_split,
    train_candidates,
)
from sentiment_assets.model.candidates import make_candidate
from sentiment_assets.model.dataset import PaddedDataset
from sentiment_assets.model.evaluation import classification_metrics, tune_threshold


def _fitted(dataset: PaddedDataset, refit: bool):
    candidate = make_candidate("tfidf-logreg", "tfidf")
    return candidate, fit_candidate(dataset, plan(candidate, refit))


def _flipped(dataset: PaddedDataset, split: str) -> PaddedDataset:
    reviews = dataset.reviews.copy()
    rows = reviews["split"] == split
    reviews.loc[rows, "label"] = 1 - reviews.loc[rows, "label"]
    return replace(dataset, reviews=reviews)


@pytest.fixture(scope="module")
def train_only(sample_dataset):
    return _fitted(sample_dataset, refit=False)


@pytest.fixture(scope="module")
def refitted(sample_dataset):
    return _fitted(sample_dataset, refit=True)


def test_without_refit_the_candidate_is_the_model_fitted_on_train(train_only, sample_dataset):
    candidate, fitted = train_only
    alone = make_candidate("tfidf-logreg", "tfidf")
    alone.fit(sample_dataset)

    assert fitted.refit_seconds is None
    np.testing.assert_array_equal(
        score_split(candidate, sample_dataset, "test")[1],
        score_split(alone, sample_dataset, "test")[1],
    )


def test_the_threshold_and_validation_figures_come_from_validation_never_from_test(
    train_only, sample_dataset
):
    candidate, fitted = train_only
    labels, probabilities = score_split(candidate, sample_dataset, "validation")

    assert fitted.threshold == tune_threshold(labels, probabilities)
    assert fitted.validation == classification_metrics(labels, probabilities, fitted.threshold)
    # The test split's labels turned over change neither.
    _, no_test = _fitted(_flipped(sample_dataset, "test"), refit=False)
    assert (no_test.threshold, no_test.validation) == (fitted.threshold, fitted.validation)


def test_refit_keeps_the_threshold_and_validation_of_the_model_fitted_on_train(
    train_only, refitted, sample_dataset
):
    (before, unrefitted), (after, fitted) = train_only, refitted

    assert fitted.refit_seconds is not None and fitted.refit_seconds > 0
    assert fitted.threshold == unrefitted.threshold
    assert fitted.validation == unrefitted.validation
    # The candidate itself is the refitted model: it learnt from validation too.
    assert not np.allclose(
        score_split(after, sample_dataset, "test")[1],
        score_split(before, sample_dataset, "test")[1],
    )


def test_refit_learns_from_validation_and_never_from_test(refitted, sample_dataset):
    candidate, _ = refitted
    scores = score_split(candidate, sample_dataset, "test")[1]

    no_test, _ = _fitted(_flipped(sample_dataset, "test"), refit=True)
    other_validation, _ = _fitted(_flipped(sample_dataset, "validation"), refit=True)

    np.testing.assert_array_equal(score_split(no_test, sample_dataset, "test")[1], scores)
    assert not np.allclose(score_split(other_validation, sample_dataset, "test")[1], scores)


def test_a_split_is_scored_on_the_reviews_a_model_reads(train_only, sample_dataset):
    """A review with no letter a-z or digit (emoji alone) is refused by the logged model and left
    out of the promotion decision's test split: the candidate's own figures leave it out too."""
    candidate, _ = train_only
    reviews = sample_dataset.reviews.copy()
    tests = reviews.index[reviews["split"] == "test"]
    reviews.loc[tests[:2], ["text", "title"]] = ["😡😡😡", None]
    unreadable = replace(sample_dataset, reviews=reviews)

    labels, scores = score_split(candidate, unreadable, "test")
    all_labels, all_scores = score_split(candidate, sample_dataset, "test")
    assert len(labels) == len(tests) - 2
    np.testing.assert_array_equal(labels, all_labels[2:])
    np.testing.assert_array_equal(scores, all_scores[2:])


@pytest.mark.parametrize(
    ("family", "settings", "refits"),
    [
        ("seed-keras", {"embedding_dim": 8, "batch_size": 32}, False),
        ("tfidf-logreg", {}, True),
        ("tfidf-nb", {}, True),
        ("ngram-mlp", {}, False),
    ],
)
def test_plan_takes_the_family_default_unless_told(family, settings, refits):
    candidate = make_candidate(family, "c", **settings)

    assert plan(candidate).refit is refits
    assert plan(candidate, refit=not refits).refit is (not refits)
    assert plan(candidate).candidate is candidate


def test_two_candidates_of_one_name_are_refused_before_either_trains(sample_dataset) -> None:
    twins = [plan(make_candidate("tfidf-logreg", "twin")), plan(make_candidate("tfidf-nb", "twin"))]

    with pytest.raises(ValueError, match="given twice: twin"):
        train_candidates(sample_dataset, twins, store=None, tags={})  # the store is never reached


def test_after_early_stopping_each_epoch_figure_ends_on_the_kept_epoch(
    sample_dataset, tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The runs table shows (and sorts by) each metric's latest value: after early stopping
    restored the best epoch's weights, that is the best epoch's, logged one step after the last,
    as MLflow's Keras autologging does; the steps before are the epochs as they ran."""
    from sentiment_assets.lib import training
    from sentiment_assets.lib.tracking import MlflowStore
    from sentiment_assets.model.candidates import FitReport

    history = {"val_loss": [0.5, 0.3, 0.4, 0.45], "loss": [0.6, 0.4, 0.3, 0.2]}

    def early_stopped(dataset, planned, on_epoch=None):
        fitted = fit_candidate(dataset, planned)
        for epoch in range(4):
            on_epoch(epoch, {key: values[epoch] for key, values in history.items()})
        report = FitReport(history=history, epochs_trained=4, best_epoch=2)
        return replace(fitted, report=report)

    monkeypatch.setattr(training, "fit_candidate", early_stopped)
    store = MlflowStore(f"sqlite:///{tmp_path / 'mlflow.db'}")
    result, _ = training.train_candidate(
        sample_dataset, plan(make_candidate("tfidf-logreg", "stopped")), store, tags={}
    )

    client = store.client()
    for key, values in history.items():
        steps = [(m.step, m.value) for m in client.get_metric_history(result.run_id, key)]
        assert sorted(steps) == [*zip(range(1, 5), values, strict=True), (5, values[1])]
        assert client.get_run(result.run_id).data.metrics[key] == values[1]
    # The split figures name the dataset they were measured on, on the logged model's page too.
    model = client.get_logged_model(result.model_uri.removeprefix("models:/"))
    named = {m.key: (m.dataset_name, m.dataset_digest) for m in model.metrics}
    assert (
        named["test_roc_auc"]
        == named["validation_roc_auc"]
        == (
            "padded_dataset",
            sample_dataset.fingerprint,
        )
    )


@pytest.mark.slow  # trains a Keras network until its first epoch, then one candidate more
def test_an_interrupt_stops_training_and_ends_the_candidates_run_as_killed(
    sample_dataset, tmp_path
) -> None:
    """A terminated Dagster run interrupts the thread that trains (SIGTERM becomes SIGINT): the
    candidate in training stops, its MLflow run ends KILLED, no later candidate starts and no
    training thread is left running."""
    from sentiment_assets.lib.tracking import MlflowStore
    from sentiment_assets.lib.training import train_candidates
    from sentiment_assets.model.candidates import KerasTraining

    store = MlflowStore(f"sqlite:///{tmp_path / 'mlflow.db'}")
    # Uninterrupted, the network would train for its 300 epochs (about 20 s here).
    long = KerasTraining(max_epochs=300, patience=300)
    candidates = [
        plan(make_candidate("seed-keras", "interrupted", long, embedding_dim=8, batch_size=8)),
        plan(make_candidate("seed-keras", "never-started", long, embedding_dim=8, batch_size=8)),
        plan(make_candidate("tfidf-logreg", "trained")),
    ]
    before = set(threading.enumerate())
    training_log = logging.getLogger("sentiment_assets.lib.training")
    interrupter, level = _InterruptAtFirstEpoch("interrupted"), training_log.level
    training_log.addHandler(interrupter)
    training_log.setLevel(logging.INFO)
    # Dagster's run worker turns SIGTERM into an interrupt; pytest-xdist's workers ignore SIGINT.
    handler = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with pytest.raises(KeyboardInterrupt):
            train_candidates(sample_dataset, candidates, store, tags={})
    finally:
        signal.signal(signal.SIGINT, handler)
        training_log.removeHandler(interrupter)
        training_log.setLevel(level)
    runs = store.client().search_runs([store.experiment_id()])
    statuses = {run.info.run_name: run.info.status for run in runs}
    # scikit-learn first, then the Keras candidates in their order; each fitted as a copy. The
    # training's own run, their parent, is interrupted with them.
    training = f"training {sample_dataset.fingerprint[:12]}"
    assert statuses == {"trained": "FINISHED", "interrupted": "KILLED", training: "KILLED"}
    assert all(planned.candidate.model is None for planned in candidates)
    # Worker threads are not daemons (tqdm's progress monitor, which MLflow starts, is).
    started = set(threading.enumerate()) - before
    assert [t.name for t in started if not t.daemon] == []
    # What the finished candidate's collection froze is the collector's again.
    assert gc.get_freeze_count() == 0


class _InterruptAtFirstEpoch(logging.Handler):
    """SIGINT to this process when the candidate has logged its first epoch (to MLflow, then to
    the training's log): what Dagster does to a run it terminates, at a point known to be inside
    the training."""

    def __init__(self, candidate: str) -> None:
        super().__init__()
        self.candidate = candidate

    def emit(self, record: logging.LogRecord) -> None:
        if getattr(record, "epoch", None) == 1 and record.args and record.args[0] == self.candidate:
            os.kill(os.getpid(), signal.SIGINT)


class _Node:
    other: object = None


def _cycle() -> _Node:
    """Two objects that hold each other: only the cyclic collector frees them."""
    first, second = _Node(), _Node()
    first.other, second.other = second, first
    return first


def test_what_survives_a_training_collection_is_frozen_until_training_ends():
    import weakref

    assert gc.get_freeze_count() == 0
    with collections_skip_survivors() as freeze:
        assert freeze
        survivor = _cycle()
        survived = weakref.ref(survivor)
        release_memory(keras_session=False, freeze=True)
        assert gc.get_freeze_count() > 0
        del survivor
        young = weakref.ref(_cycle())  # garbage made after the freeze is collected as ever
        gc.collect()
        assert young() is None
        assert survived() is not None  # frozen: no collection looks at it
    assert gc.get_freeze_count() == 0
    gc.collect()
    assert survived() is None


def test_a_freeze_made_by_someone_else_is_left_as_it_was():
    import weakref

    theirs = weakref.ref(_cycle())  # garbage they froze: only a thaw lets the collector free it
    gc.freeze()
    try:
        with collections_skip_survivors() as freeze:
            assert not freeze
        # Not the freeze count: a frozen object freed by refcounting (another thread's, say)
        # leaves the permanent generation, so the count may drop while nothing was thawed.
        gc.collect()
        assert theirs() is not None
    finally:
        gc.unfreeze()
    gc.collect()
    assert theirs() is None
