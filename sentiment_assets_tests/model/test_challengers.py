import json
import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scipy.sparse

from sentiment_assets.model.candidates.base import FitReport, with_validation_in_train
from sentiment_assets.model.candidates.ngram_mlp import NgramMlp, ngram_tfidf, ngram_vocabulary
from sentiment_assets.model.candidates.seed_keras import KerasTraining
from sentiment_assets.model.candidates.tfidf_logreg import TfidfLogReg, text_columns
from sentiment_assets.model.candidates.tfidf_nb import TfidfNb, log_count_ratio
from sentiment_assets.model.dataset import PaddedDataset
from sentiment_assets.model.predictions import Predictor
from sentiment_assets.model.stems import normalize_text, normalized_inputs

# The Keras challenger trains a network: make test runs it, make test-fast does not.
CHALLENGERS = ("tfidf", "nb", pytest.param("mlp", marks=pytest.mark.slow))
Challenger = TfidfLogReg | TfidfNb | NgramMlp


def _tfidf() -> TfidfLogReg:
    return TfidfLogReg("tfidf")


def _nb() -> TfidfNb:
    # Not the defaults, to show what load keeps.
    return TfidfNb("nb", c=1.5, nb_c=0.7, negation_scope=2)


def _mlp() -> NgramMlp:
    # Smaller than the defaults, to train in a second; not the defaults, to show what load keeps.
    return NgramMlp(
        "mlp",
        text_tokens=2000,
        title_tokens=500,
        units=16,
        training=KerasTraining(max_epochs=3, patience=1, seed=7),
    )


FACTORIES = {"tfidf": _tfidf, "nb": _nb, "mlp": _mlp}


@pytest.fixture(scope="module")
def tfidf(sample_dataset: PaddedDataset) -> TfidfLogReg:
    candidate = _tfidf()
    candidate.fit(sample_dataset)
    return candidate


@pytest.fixture(scope="module")
def nb(sample_dataset: PaddedDataset) -> TfidfNb:
    candidate = _nb()
    candidate.fit(sample_dataset)
    return candidate


@pytest.fixture(scope="module")
def mlp(sample_dataset: PaddedDataset) -> NgramMlp:
    candidate = _mlp()
    candidate.fit(sample_dataset)
    return candidate


@pytest.fixture(params=CHALLENGERS)
def challenger(request: pytest.FixtureRequest) -> Challenger:
    return request.getfixturevalue(request.param)


def _scores(candidate: Challenger, reviews: pd.DataFrame) -> np.ndarray:
    return candidate.predict_proba(reviews["text"].tolist(), reviews["title"].tolist())


# normalize_text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Didn't FIT!!", "didn't fit"),
        (None, ""),
        (float("nan"), ""),
        ("", ""),
        ("  Size 10,\nso cute :-)  ", "size 10 so cute"),
        ("runs small...ordered an XS", "runs small ordered an xs"),
    ],
)
def test_normalize_text(text, expected):
    assert normalize_text(text) == expected


# ngram_vocabulary


def test_ngram_vocabulary_counts_documents_not_occurrences():
    docs = ["dress dress dress dress", "top", "top"]

    vocabulary, _ = ngram_vocabulary(docs, ngrams=1, max_tokens=10, min_df=1)

    # "dress" occurs four times but in one document; "top" is in two.
    assert vocabulary == ["top", "dress"]


def test_ngram_vocabulary_respects_min_df():
    docs = ["soft fabric", "soft fabric", "soft", "scratchy"]

    vocabulary, _ = ngram_vocabulary(docs, ngrams=2, max_tokens=10, min_df=2)

    assert vocabulary == ["soft", "fabric", "soft fabric"]


def test_ngram_vocabulary_has_bigrams_but_not_longer():
    docs = ["did not fit well"] * 2

    vocabulary, _ = ngram_vocabulary(docs, ngrams=2, max_tokens=100)

    assert {"did not", "not fit", "fit well"} <= set(vocabulary)
    assert {"did not fit", "not fit well"}.isdisjoint(vocabulary)
    assert ngram_vocabulary(docs, ngrams=1, max_tokens=100)[0] == ["did", "fit", "not", "well"]


def test_ngram_vocabulary_ranks_by_document_frequency_then_alphabetically():
    docs = ["zip b", "zip a", "zip c a", "b c"]

    vocabulary, _ = ngram_vocabulary(docs, ngrams=1, max_tokens=10, min_df=1)

    assert vocabulary == ["zip", "a", "b", "c"]


def test_ngram_vocabulary_leaves_one_token_for_out_of_vocabulary():
    docs = ["a b c d e f", "a b c d e f"]

    vocabulary, idf = ngram_vocabulary(docs, ngrams=1, max_tokens=4, min_df=1)

    assert vocabulary == ["a", "b", "c"]
    assert len(idf) == 3


def test_ngram_vocabulary_idf_formula():
    docs = ["good dress good", "good fit", "bad fit", "good dress", "runs small"]

    vocabulary, idf = ngram_vocabulary(docs, ngrams=2, max_tokens=100, min_df=1)

    by_token = dict(zip(vocabulary, idf, strict=True))
    assert by_token["good"] == math.log(1 + 5 / (1 + 3))
    assert by_token["fit"] == math.log(1 + 5 / (1 + 2))
    assert by_token["good dress"] == math.log(1 + 5 / (1 + 2))
    assert by_token["runs small"] == math.log(1 + 5 / (1 + 1))


@pytest.mark.slow  # Keras
def test_ngram_vocabulary_idf_matches_keras_adapt():
    # ngram_vocabulary stands in for TextVectorization.adapt; the IDF weights must agree.
    import keras

    docs = ["good dress good", "good fit", "bad fit", "good dress", "runs small", "good"]
    layer = keras.layers.TextVectorization(standardize=None, ngrams=2, output_mode="tf_idf")
    layer.adapt(docs)
    index = {token: i for i, token in enumerate(layer.get_vocabulary())}
    # A document holding a token once scores it with TF 1, i.e. with its IDF.
    keras_idf = {token: float(np.asarray(layer([token]))[0, i]) for token, i in index.items()}

    vocabulary, idf = ngram_vocabulary(docs, ngrams=2, max_tokens=100, min_df=1)

    assert set(vocabulary) == set(keras_idf) - {"[UNK]"}
    assert idf == pytest.approx([keras_idf[token] for token in vocabulary], rel=1e-6)


def test_ngram_tfidf_refuses_an_empty_vocabulary_as_the_layer_does():
    with pytest.raises(ValueError, match="no vocabulary"):
        ngram_tfidf(["good fit"], [], [], ngrams=2)


@pytest.mark.slow  # Keras
# A vocabulary of 3 n-grams (nearly all out of it) and one of up to 999, fitted on 400 reviews.
@pytest.mark.parametrize("max_tokens", [4, 1_000])
def test_ngram_tfidf_is_the_text_vectorization_layer_to_the_bit(sample_dataset, max_tokens):
    # The n-gram network trains on ngram_tfidf's features and serves through the layer.
    import keras

    docs = normalized_inputs(sample_dataset.reviews["text"], sample_dataset.reviews["title"])[1]
    vocabulary, idf = ngram_vocabulary(docs[:400], ngrams=2, max_tokens=max_tokens)
    odd = ["", "fit", "fit fit fit", "unseenword another unseen", "good " * 300]
    layer = keras.layers.TextVectorization(
        standardize=None, ngrams=2, output_mode="tf_idf", vocabulary=vocabulary, idf_weights=idf
    )
    inputs = np.asarray(docs + odd, dtype=object)

    features = ngram_tfidf(inputs.tolist(), vocabulary, idf, ngrams=2)

    assert isinstance(features, scipy.sparse.csr_matrix) and features.dtype == np.float32
    expected = np.asarray(layer(inputs))
    assert features.shape == expected.shape == (len(inputs), len(vocabulary) + 1)
    np.testing.assert_array_equal(features.toarray(), expected)
    assert features.nnz == np.count_nonzero(expected)  # no stored zeros


# Both challengers


@pytest.mark.parametrize("name", CHALLENGERS)
def test_fit_never_sees_the_test_split(name, sample_dataset, test_reviews, request):
    reviews = sample_dataset.reviews.copy()
    test_rows = reviews["split"] == "test"
    reviews.loc[test_rows, "label"] = 1 - reviews.loc[test_rows, "label"]

    refitted = FACTORIES[name]()
    refitted.fit(replace(sample_dataset, reviews=reviews))

    np.testing.assert_array_equal(
        _scores(refitted, test_reviews), _scores(request.getfixturevalue(name), test_reviews)
    )


def test_uses_the_title(challenger):
    text = "i wore it once"

    scores = challenger.predict_proba([text, text], ["Love it", "Awful, returned"])

    assert scores[0] != scores[1]


def test_keeps_negations(challenger):
    texts = ["i would recommend this dress", "i would not recommend this dress"]

    scores = challenger.predict_proba(texts, [None, None])

    assert scores[0] != scores[1]


def test_params_record_the_text_handling(challenger):
    params = challenger.params()

    assert params["text_input"] == "normalized words"
    assert params["keep_negations"] is True
    assert params["uses_title"] is True


def test_a_missing_title_scores_as_an_empty_one(challenger, sample_dataset):
    # Some training reviews have no title, so fit already handled them; scoring must too.
    assert sample_dataset.split_reviews("train")["title"].isna().any()
    texts = ["lovely soft dress", "too big and the zip broke"]

    without = challenger.predict_proba(texts, [None, None])

    assert without.shape == (2,)
    assert without.dtype == np.float64
    assert np.isfinite(without).all()
    np.testing.assert_allclose(without, challenger.predict_proba(texts, ["", ""]), atol=1e-9)


def test_scores_are_probabilities_that_separate_the_classes(challenger, test_reviews):
    scores = _scores(challenger, test_reviews)
    labels = test_reviews["label"].to_numpy()

    assert ((scores >= 0) & (scores <= 1)).all()
    assert scores[labels == 1].mean() > scores[labels == 0].mean()


# TfidfLogReg


def _saved(candidate, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp(candidate.family)
    candidate.save(folder)
    return folder


@pytest.fixture(scope="module")
def tfidf_folder(tfidf: TfidfLogReg, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _saved(tfidf, tmp_path_factory)


@pytest.fixture(scope="module")
def nb_folder(nb: TfidfNb, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _saved(nb, tmp_path_factory)


@pytest.fixture(scope="module")
def mlp_folder(mlp: NgramMlp, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _saved(mlp, tmp_path_factory)


@pytest.mark.parametrize(
    "name, cls",
    [
        ("tfidf", TfidfLogReg),
        ("nb", TfidfNb),
        pytest.param("mlp", NgramMlp, marks=pytest.mark.slow),
    ],
)
def test_round_trip_predicts_identically_with_the_same_settings(name, cls, test_reviews, request):
    trained, folder = request.getfixturevalue(name), request.getfixturevalue(f"{name}_folder")
    loaded = cls.load(folder)

    assert loaded.params() == trained.params()
    np.testing.assert_allclose(
        _scores(loaded, test_reviews), _scores(trained, test_reviews), rtol=0, atol=1e-9
    )


@pytest.mark.parametrize("name", ["tfidf", "nb"])
def test_linear_families_save_only_json_and_plain_arrays(name, request):
    files = [f for f in request.getfixturevalue(f"{name}_folder").rglob("*") if f.is_file()]

    assert files
    assert {f.suffix for f in files} <= {".json", ".npy"}
    for f in files:
        if f.suffix == ".npy":
            # Raises on object arrays, which would need pickle.
            assert np.load(f, allow_pickle=False).dtype != object
        else:
            json.loads(f.read_text())


# NgramMlp


@pytest.mark.slow
def test_mlp_keras_file_takes_strings(mlp, mlp_folder, test_reviews):
    import keras

    model = keras.saving.load_model(mlp_folder / "model.keras")
    titles = np.asarray([normalize_text(t) for t in test_reviews["title"]], dtype=object)
    texts = np.asarray([normalize_text(t) for t in test_reviews["text"]], dtype=object)

    scores = model.predict([titles, texts], verbose=0).ravel()

    np.testing.assert_allclose(scores, _scores(mlp, test_reviews), rtol=0, atol=1e-6)


# Refit


def _with_flipped_labels(dataset: PaddedDataset, split: str) -> PaddedDataset:
    reviews = dataset.reviews.copy()
    rows = reviews["split"] == split
    reviews.loc[rows, "label"] = 1 - reviews.loc[rows, "label"]
    return replace(dataset, reviews=reviews)


@pytest.mark.parametrize("name", CHALLENGERS)
def test_refit_learns_from_validation_and_never_sees_test(name, sample_dataset, test_reviews):
    def refitted(dataset: PaddedDataset) -> np.ndarray:
        candidate = FACTORIES[name]()
        candidate.refit(dataset, candidate.fit(dataset))
        return _scores(candidate, test_reviews)

    scores = refitted(sample_dataset)

    np.testing.assert_array_equal(refitted(_with_flipped_labels(sample_dataset, "test")), scores)
    assert not np.allclose(refitted(_with_flipped_labels(sample_dataset, "validation")), scores)


@pytest.mark.parametrize("name", ["tfidf", "nb"])
def test_a_linear_refit_starts_from_a_fit_of_the_same_candidate(name, sample_dataset):
    with pytest.raises(RuntimeError, match="starts from a fit"):
        FACTORIES[name]().refit(sample_dataset, FitReport())


def test_with_validation_in_train_moves_validation_and_keeps_test(sample_dataset):
    merged = with_validation_in_train(sample_dataset)

    assert merged.split_reviews("validation").empty
    assert len(merged.split_reviews("train")) == len(sample_dataset.split_reviews("train")) + len(
        sample_dataset.split_reviews("validation")
    )
    pd.testing.assert_frame_equal(
        merged.split_reviews("test"), sample_dataset.split_reviews("test")
    )
    np.testing.assert_array_equal(
        merged.split("train")[0].shape[1:], (sample_dataset.sequence_length,)
    )


# TfidfNb


def test_tfidf_nb_scores_raw_text_with_titles_through_the_predictor(nb, nb_folder):
    reviews = pd.DataFrame(
        {
            "review_text": ["I wore it once and it was fine", "I wore it once and it was fine"],
            "title": ["Love it!", "Disappointed, returned"],
        }
    )
    predictor = Predictor(TfidfNb.load(nb_folder), threshold=0.5)

    predicted = predictor.predict(reviews)

    expected = nb.predict_proba(reviews["review_text"].tolist(), reviews["title"].tolist())
    np.testing.assert_allclose(predicted["probability"], expected, rtol=0, atol=1e-9)
    assert predicted["probability"][0] > predicted["probability"][1]
    assert predicted["label"].tolist() == [int(p >= 0.5) for p in predicted["probability"]]


def test_tfidf_nb_averages_its_two_members(nb, test_reviews):
    texts, titles = test_reviews["text"].tolist(), test_reviews["title"].tolist()
    columns = text_columns(*normalized_inputs(texts, titles), nb.negation_scope)

    members = (nb.tfidf.model.predict_proba(columns), nb.nb.predict_proba(columns))

    np.testing.assert_allclose(nb.predict_proba(texts, titles), np.mean(members, axis=0))
    # Two different models, not one counted twice.
    assert not np.allclose(*members)


def test_a_tfidf_nb_refit_learns_both_members_again(sample_dataset, test_reviews):
    """Each member, not only the average: a refit that kept the naive-Bayes member of the first
    fit passed the test above on the TF-IDF member's change alone (a test audit)."""
    texts, titles = test_reviews["text"].tolist(), test_reviews["title"].tolist()

    def members(dataset: PaddedDataset) -> tuple[np.ndarray, np.ndarray]:
        nb = FACTORIES["nb"]()
        nb.refit(dataset, nb.fit(dataset))
        columns = text_columns(*normalized_inputs(texts, titles), nb.negation_scope)
        return nb.tfidf.model.predict_proba(columns), nb.nb.predict_proba(columns)

    tfidf, naive_bayes = members(sample_dataset)
    flipped_tfidf, flipped_nb = members(_with_flipped_labels(sample_dataset, "validation"))

    assert not np.allclose(tfidf, flipped_tfidf)
    assert not np.allclose(naive_bayes, flipped_nb)


def test_log_count_ratio_weighs_each_feature_by_its_lean():
    # Feature 0 is only in label-1 documents, feature 1 only in label-0 ones, feature 2 in both.
    counts = scipy.sparse.csr_matrix(np.array([[1, 0, 1], [1, 0, 1], [0, 1, 1]]))
    labels = np.array([1, 1, 0])

    ratio = log_count_ratio(counts, labels, alpha=1.0)

    # Smoothed label-1 counts 3, 1, 3 (of 7); label-0 counts 1, 2, 2 (of 5).
    np.testing.assert_allclose(
        ratio, np.log(np.array([3, 1, 3]) / 7) - np.log(np.array([1, 2, 2]) / 5)
    )
    assert ratio[0] > 0 > ratio[1]
