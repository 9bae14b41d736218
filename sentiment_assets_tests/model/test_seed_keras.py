import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from sentiment_assets.model.candidates.seed_keras import FitReport, KerasTraining, SeedKeras
from sentiment_assets.model.dataset import PaddedDataset

pytestmark = pytest.mark.slow  # trains Keras networks

TRAINING = KerasTraining(max_epochs=3, patience=1, seed=7)


def _seed_candidate() -> SeedKeras:
    return SeedKeras("small", embedding_dim=8, batch_size=64, training=TRAINING)


def _with_labels_flipped(sample_dataset: PaddedDataset, split: str) -> PaddedDataset:
    """A copy of the sample_dataset in which every label of one split is inverted."""
    reviews = sample_dataset.reviews.copy()
    rows = reviews["split"] == split
    reviews.loc[rows, "label"] = 1 - reviews.loc[rows, "label"]
    return replace(sample_dataset, reviews=reviews)


def _weights_equal(a: SeedKeras, b: SeedKeras) -> bool:
    return all(
        np.array_equal(x, y)
        for x, y in zip(a.model.get_weights(), b.model.get_weights(), strict=True)
    )


@pytest.fixture(scope="module")
def fitted(sample_dataset: PaddedDataset) -> tuple[SeedKeras, FitReport, list[tuple[int, dict]]]:
    """A small seed network fitted on the sample sample_dataset, with the epochs its hook saw."""
    candidate = _seed_candidate()
    epochs: list[tuple[int, dict]] = []
    report = candidate.fit(
        sample_dataset, on_epoch=lambda epoch, logs: epochs.append((epoch, dict(logs)))
    )
    return candidate, report, epochs


def test_build_gives_exactly_the_seed_architecture():
    import keras

    model = SeedKeras("s", embedding_dim=16, batch_size=32).build(
        vocabulary_size=50, sequence_length=7
    )

    assert [type(layer) for layer in model.layers] == [
        keras.layers.Embedding,
        keras.layers.GlobalAveragePooling1D,
        keras.layers.Dense,
        keras.layers.Dense,
    ]
    embedding, _, hidden, output = model.layers
    assert (embedding.input_dim, embedding.output_dim) == (50, 16)
    assert (hidden.units, hidden.activation.__name__) == (6, "relu")
    assert (output.units, output.activation.__name__) == (1, "sigmoid")
    assert tuple(model.input_shape) == (None, 7)
    assert tuple(model.output_shape) == (None, 1)
    assert model.count_params() == 50 * 16 + (16 * 6 + 6) + (6 + 1)


@pytest.mark.slow  # trains two networks
def test_fit_never_sees_the_test_split(sample_dataset, fitted):
    candidate, _, _ = fitted

    refitted = _seed_candidate()
    refitted.fit(_with_labels_flipped(sample_dataset, "test"))

    assert _weights_equal(candidate, refitted)


def test_fit_learns_from_the_training_split(sample_dataset, fitted):
    # The control for the test above: the same comparison does see a change in training labels.
    candidate, _, _ = fitted

    refitted = _seed_candidate()
    refitted.fit(_with_labels_flipped(sample_dataset, "train"))

    assert not _weights_equal(candidate, refitted)


def test_fit_reports_its_history(fitted):
    _, report, epochs = fitted

    assert {"loss", "accuracy", "val_loss", "val_accuracy"} <= report.history.keys()
    assert report.epochs_trained == len(report.history["val_loss"])
    assert 1 <= report.epochs_trained <= TRAINING.max_epochs
    assert {len(values) for values in report.history.values()} == {report.epochs_trained}
    assert report.best_epoch == int(np.argmin(report.history["val_loss"])) + 1
    # The hook saw every epoch, with the same validation loss the report holds.
    assert [epoch for epoch, _ in epochs] == list(range(report.epochs_trained))
    assert [logs["val_loss"] for _, logs in epochs] == pytest.approx(report.history["val_loss"])


def test_predict_proba_on_raw_text_matches_the_padded_dataset(sample_dataset, fitted, test_reviews):
    # Serving stems raw text itself; it must reproduce the sequences the model was trained on.
    candidate, _, _ = fitted
    x_test, _ = sample_dataset.split("test")

    from_raw = candidate.predict_proba(
        test_reviews["text"].tolist(), test_reviews["title"].tolist()
    )

    expected = candidate.model.predict(x_test, verbose=0).ravel()
    np.testing.assert_allclose(from_raw, expected, rtol=0, atol=1e-6)
    assert from_raw.dtype == np.float64
    assert ((from_raw >= 0) & (from_raw <= 1)).all()


def test_save_load_round_trip_predicts_identically(fitted, test_reviews, tmp_path: Path):
    candidate, _, _ = fitted
    texts, titles = test_reviews["text"].tolist(), test_reviews["title"].tolist()

    candidate.save(tmp_path)
    loaded = SeedKeras.load(tmp_path)

    assert (loaded.name, loaded.embedding_dim, loaded.batch_size) == ("small", 8, 64)
    assert loaded.vocabulary == candidate.vocabulary
    assert loaded.sequence_length == candidate.sequence_length
    np.testing.assert_allclose(
        loaded.predict_proba(texts, titles),
        candidate.predict_proba(texts, titles),
        rtol=0,
        atol=1e-9,
    )


def test_a_saved_network_loads_and_scores_without_the_optimizer_that_trained_it(
    fitted, tmp_path: Path
):
    """A process that only scores (a served version) never imports `FusedAdam`, whose name the
    file records; loading with Keras's defaults there would fail on it."""
    candidate, _, _ = fitted
    candidate.save(tmp_path)
    script = (
        "import sys\n"
        "from sentiment_assets.model.candidates.seed_keras import SeedKeras\n"
        f"loaded = SeedKeras.load(__import__('pathlib').Path({str(tmp_path)!r}))\n"
        "print(loaded.predict_proba(['Lovely dress, fits well'], [None])[0])\n"
        "assert 'sentiment_assets.model.candidates.fused_adam' not in sys.modules\n"
    )

    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=300
    )

    assert done.returncode == 0, done.stderr[-2000:]
    expected = candidate.predict_proba(["Lovely dress, fits well"], [None])[0]
    assert float(done.stdout.split()[-1]) == pytest.approx(expected, abs=1e-6)


def test_loaded_candidate_reports_the_params_it_was_trained_with(fitted, tmp_path: Path):
    candidate, _, _ = fitted

    candidate.save(tmp_path)

    assert SeedKeras.load(tmp_path).params() == candidate.params()


def test_params_record_the_seed_text_handling():
    params = _seed_candidate().params()

    assert params["text_input"] == "stems"
    assert params["keep_negations"] is False
    assert params["uses_title"] is False
    assert (params["embedding_dim"], params["batch_size"]) == (8, 64)
    assert (params["max_epochs"], params["patience"], params["seed"]) == (3, 1, 7)


def test_predictions_follow_the_recorded_params(fitted):
    # What params() claims is what the model does: the title and a "not" change nothing.
    candidate, _, _ = fitted

    by_title = candidate.predict_proba(["lovely soft dress"] * 2, ["Love it!", "Awful, returned"])
    by_negation = candidate.predict_proba(
        ["i would recommend this dress", "i would not recommend this dress"], [None, None]
    )

    assert by_title[0] == by_title[1]
    assert by_negation[0] == by_negation[1]
