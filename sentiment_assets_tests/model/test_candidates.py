from importlib import metadata
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sentiment_assets.cli.sample_drops import write_sample_drops
from sentiment_assets.model.candidates import (
    DEFAULT_CANDIDATES,
    FAMILIES,
    load_candidate,
    make_candidate,
    pip_requirements,
    uses_tensorflow,
)
from sentiment_assets.model.candidates.seed_keras import KerasTraining, SeedKeras
from sentiment_assets.model.candidates.tfidf_logreg import TfidfLogReg
from sentiment_assets.model.dataset import build_dataset
from sentiment_assets.model.evaluation import classification_metrics, tune_threshold
from sentiment_assets.model.reviews import read_reviews
from sentiment_assets.model.stems import stem_reviews

# The least each family needs to be built.
SETTINGS = {
    "seed-keras": {"embedding_dim": 16, "batch_size": 32},
    "tfidf-logreg": {},
    "tfidf-nb": {},
    "ngram-mlp": {},
}
KERAS_FAMILIES = ("seed-keras", "ngram-mlp")
SKLEARN_FAMILIES = ("tfidf-logreg", "tfidf-nb")


@pytest.mark.parametrize("family", list(FAMILIES))
def test_a_family_pins_what_it_needs_to_score_and_nothing_heavier(family):
    pinned = dict(r.split("==") for r in pip_requirements(family))

    # Every pin is the version installed here, which is what trained the model.
    assert all(version == metadata.version(name) for name, version in pinned.items())
    assert {"mlflow", "numpy", "pandas"} <= set(pinned)
    # A TF-IDF model serves without TensorFlow; the Keras families cannot.
    assert ("tensorflow" in pinned) is (family not in SKLEARN_FAMILIES)
    assert ("scikit-learn" in pinned) is (family in SKLEARN_FAMILIES)


def test_default_candidates_keep_the_seed_three_and_add_one_of_each_challenger():
    seeds = [c for c in DEFAULT_CANDIDATES if c["family"] == "seed-keras"]
    others = [c for c in DEFAULT_CANDIDATES if c["family"] != "seed-keras"]

    assert seeds == [
        {"name": "embedding-32", "family": "seed-keras", "embedding_dim": 32, "batch_size": 32},
        {"name": "embedding-64", "family": "seed-keras", "embedding_dim": 64, "batch_size": 64},
        {"name": "embedding-128", "family": "seed-keras", "embedding_dim": 128, "batch_size": 128},
    ]
    assert sorted(c["family"] for c in others) == ["ngram-mlp", "tfidf-nb"]


def test_default_candidates_have_unique_names_and_all_build():
    # Results are collected by candidate name, so two candidates must never share one.
    names = [c["name"] for c in DEFAULT_CANDIDATES]
    assert len(set(names)) == len(names)

    built = [make_candidate(**spec) for spec in DEFAULT_CANDIDATES]

    assert [(c.name, c.family) for c in built] == [
        (s["name"], s["family"]) for s in DEFAULT_CANDIDATES
    ]


@pytest.mark.parametrize("family", KERAS_FAMILIES)
def test_make_candidate_gives_keras_families_the_training_settings(family):
    training = KerasTraining(max_epochs=7, patience=3, seed=11)

    candidate = make_candidate(family, "c", training, **SETTINGS[family])

    assert candidate.training is training
    assert candidate.params()["max_epochs"] == 7
    assert make_candidate(family, "c", **SETTINGS[family]).training == KerasTraining()


def test_make_candidate_does_not_pass_training_to_tfidf():
    candidate = make_candidate("tfidf-logreg", "t", KerasTraining(max_epochs=7), c=0.5)

    assert isinstance(candidate, TfidfLogReg)
    assert not hasattr(candidate, "training")
    assert (candidate.name, candidate.c) == ("t", 0.5)


def test_make_candidate_passes_the_settings_through():
    candidate = make_candidate("seed-keras", "s", embedding_dim=24, batch_size=48)

    assert isinstance(candidate, SeedKeras)
    assert (candidate.name, candidate.embedding_dim, candidate.batch_size) == ("s", 24, 48)


def test_make_candidate_rejects_an_unknown_family_naming_the_known_ones():
    with pytest.raises(ValueError, match="random-forest") as raised:
        make_candidate("random-forest", "rf")

    assert all(family in str(raised.value) for family in FAMILIES)


@pytest.mark.parametrize("family", list(FAMILIES))
def test_only_tfidf_runs_without_tensorflow(family):
    candidate = make_candidate(family, "c", **SETTINGS[family])

    assert uses_tensorflow(candidate) is (family not in SKLEARN_FAMILIES)


def test_load_candidate_dispatches_on_family(tmp_path: Path):
    drops = write_sample_drops(tmp_path / "drops", drops=1, rows_per_drop=300)
    dataset = build_dataset(
        pd.concat([stem_reviews(read_reviews(p)) for p in drops], ignore_index=True)
    )
    candidate = make_candidate("tfidf-logreg", "t")
    candidate.fit(dataset)
    (tmp_path / "model").mkdir()
    candidate.save(tmp_path / "model")
    reviews = dataset.split_reviews("test")
    texts, titles = reviews["text"].tolist(), reviews["title"].tolist()

    loaded = load_candidate("tfidf-logreg", tmp_path / "model")

    assert isinstance(loaded, TfidfLogReg)
    np.testing.assert_allclose(
        loaded.predict_proba(texts, titles), candidate.predict_proba(texts, titles), atol=1e-9
    )


# tune_threshold and classification_metrics(predicted=...)

# Three "not recommended" (0) reviews, seven recommended; probabilities are P(label 1).
LABELS = np.array([0, 0, 0, 1, 1, 1, 1, 1, 1, 1])
PROBABILITIES = np.array([0.1, 0.4, 0.7, 0.2, 0.3, 0.8, 0.9, 0.55, 0.65, 0.95])


def test_tune_threshold_maximises_not_recommended_f1():
    # Any cut-off in (0.7, 0.8] catches all three 0s with four false alarms: F1 = 0.6, the best.
    # Accuracy and the majority class's F1 would both pick a cut-off in (0.1, 0.2] instead.
    threshold = tune_threshold(LABELS, PROBABILITIES)

    assert threshold == 0.71
    at = classification_metrics(LABELS, PROBABILITIES, threshold)
    assert at.not_recommended_f1 == pytest.approx(0.6)
    assert at.not_recommended_f1 > classification_metrics(LABELS, PROBABILITIES).not_recommended_f1


def test_tune_threshold_searches_from_0_05_to_0_95():
    # Perfect only at a cut-off in (0.94, 0.95] or in (0.05, 0.06]: both ends of the grid are on it.
    assert tune_threshold([0, 0, 1], [0.93, 0.94, 0.951]) == 0.95
    assert tune_threshold([0, 1, 1], [0.049, 0.051, 0.07]) == 0.05


@pytest.mark.parametrize(
    ("probabilities", "expected"),
    [
        # Perfect for any cut-off in (0.3, 0.7]: 0.5 itself is among them.
        ([0.2, 0.3, 0.7, 0.8], 0.5),
        # Perfect in (0.15, 0.3]: the top of the plateau, 0.3 (a score equal to it counts as 1).
        ([0.1, 0.15, 0.3, 0.9], 0.3),
        # Perfect in (0.6, 0.85]: the bottom of the plateau.
        ([0.1, 0.6, 0.85, 0.9], 0.61),
    ],
)
def test_tune_threshold_prefers_the_cut_off_nearest_one_half_among_ties(probabilities, expected):
    assert tune_threshold(np.array([0, 0, 1, 1]), np.array(probabilities)) == expected


def test_tune_threshold_without_the_minority_class_stays_at_one_half():
    assert tune_threshold(np.ones(5, dtype=int), np.linspace(0.1, 0.9, 5)) == 0.5


def test_tune_threshold_returns_a_grid_value():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, 200)
    probabilities = np.clip(0.3 * labels + rng.uniform(0, 0.7, 200), 0, 1)

    threshold = tune_threshold(labels, probabilities)

    assert type(threshold) is float
    assert 0.05 <= threshold <= 0.95
    assert threshold == round(threshold, 2)


def test_classification_metrics_uses_given_labels_instead_of_thresholding():
    labels = np.array([0, 0, 1, 1])
    # Scores that rank every review the wrong way round, and labels that are all right.
    probabilities = np.array([0.9, 0.8, 0.2, 0.1])

    given = classification_metrics(labels, probabilities, predicted=np.array([0, 0, 1, 1]))
    thresholded = classification_metrics(labels, probabilities)

    assert given.accuracy == 1.0
    assert given.not_recommended_f1 == 1.0
    assert thresholded.accuracy == 0.0
    # The ranking metric still comes from the probabilities.
    assert given.roc_auc == thresholded.roc_auc == 0.0


@pytest.mark.parametrize("seed", range(5))
def test_tune_threshold_chooses_what_f1_score_at_each_cut_off_chooses(seed):
    # The reference: scikit-learn's f1_score at every cut-off of the grid, the nearest to 0.5 of
    # the best. Probabilities on a coarse grid make many cut-offs tie.
    from sklearn.metrics import f1_score

    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, 500)
    probabilities = np.round(np.clip(0.4 * labels + rng.uniform(0, 0.6, 500), 0, 1), 1)
    grid = np.round(np.arange(0.05, 0.96, 0.01), 2)
    scores = [
        f1_score(labels, (probabilities >= t).astype(int), pos_label=0, zero_division=0)
        for t in grid
    ]
    best = [t for t, s in zip(grid, scores, strict=True) if s == max(scores)]

    assert tune_threshold(labels, probabilities) == min(best, key=lambda t: abs(t - 0.5))
