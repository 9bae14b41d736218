"""The linear families score without scikit-learn's transform (`linear_scoring`): the same
probabilities and labels as the fitted vectorizers' own transform, on real reviews and odd ones."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scipy.sparse

from sentiment_assets.model.candidates.linear_scoring import LinearScorer, probability
from sentiment_assets.model.candidates.tfidf_logreg import (
    LinearTextModel,
    TfidfLogReg,
    text_columns,
)
from sentiment_assets.model.candidates.tfidf_nb import TfidfNb
from sentiment_assets.model.dataset import build_dataset
from sentiment_assets.model.predictions import Predictor
from sentiment_assets.model.reviews import TEXT, TITLE, read_reviews
from sentiment_assets.model.stems import normalized_inputs, readable, stem_reviews

pytestmark = pytest.mark.slow  # trains on real reviews

TRAINING_ROWS = 2000  # of the first real drop: a real vocabulary in a few seconds
THRESHOLD = 0.5
ODD_REVIEWS = [
    ("Fits well", ""),  # empty title
    ("Fits well", None),  # no title
    ("Été très jolie — naïve façon, 😀 ünïcödé ½ size", "Très belle robe"),
    ("zzqxv blorfing qwpmz flurbish", "xqzv"),  # no word of it was seen in training
    ("a", "b"),  # words shorter than the character n-grams
    ("not not never didn't don\u2019t no", "NOT bad!!!"),
    ("!!! ??? ...", "---"),  # nothing left once normalized
]


@pytest.fixture(scope="module")
def fitted(real_drops: list[Path], tmp_path_factory: pytest.TempPathFactory) -> TfidfNb:
    """Production's family with its default settings, fitted on real reviews, saved and loaded
    back as a model version serves it."""
    dataset = build_dataset(stem_reviews(read_reviews(real_drops[0]).head(TRAINING_ROWS)))
    candidate = TfidfNb("nb")
    candidate.fit(dataset)
    folder = tmp_path_factory.mktemp("tfidf_nb")
    candidate.save(folder)
    return TfidfNb.load(folder)


@pytest.fixture(scope="module")
def reviews(real_drops: list[Path]) -> tuple[list[str], list[str | None]]:
    """Real reviews the model never saw, the odd ones, and a very long one."""
    found = read_reviews(real_drops[1]).dropna(subset=[TEXT]).head(1500)
    texts = found[TEXT].tolist() + [text for text, _ in ODD_REVIEWS]
    titles = [t if isinstance(t, str) else None for t in found[TITLE]]
    titles += [title for _, title in ODD_REVIEWS]
    texts.append(" ".join(texts[:300]))  # tens of thousands of characters
    titles.append("Love it! " * 100)
    return texts, titles


def sklearn_probability(model: LinearTextModel, columns) -> np.ndarray:
    """What the model's features give through scikit-learn's transform: the source of truth."""
    features = [vectorizer.transform(columns[column]) for _, column, vectorizer in model.parts]
    return probability(scipy.sparse.hstack(features).tocsr() @ model.coef + model.intercept)


def assert_same(found: np.ndarray, expected: np.ndarray) -> None:
    np.testing.assert_allclose(found, expected, rtol=1e-12, atol=1e-14)
    assert ((found >= THRESHOLD) == (expected >= THRESHOLD)).all()


def test_tfidf_nb_scores_as_the_fitted_vectorizers_do(fitted, reviews):
    texts, titles = reviews
    columns = text_columns(*normalized_inputs(texts, titles), fitted.negation_scope)
    members = [sklearn_probability(m, columns) for m in (fitted.tfidf.model, fitted.nb)]

    assert_same(fitted.predict_proba(texts, titles), np.mean(members, axis=0))


def test_one_review_at_a_time_scores_exactly_as_in_a_batch(fitted, reviews):
    # A review alone takes its own path (`LinearScorer._document_logits`); the batch path is
    # checked against scikit-learn above. Equal to the last bit, so serving changes no score.
    texts, titles = reviews
    pairs = zip(texts, titles, strict=True)

    one_by_one = [fitted.predict_proba([text], [title])[0] for text, title in pairs]

    np.testing.assert_array_equal(np.array(one_by_one), fitted.predict_proba(texts, titles))


def test_a_review_alone_is_scored_without_numpy_calls_that_let_go_of_the_gil(
    fitted, reviews, monkeypatch
):
    # numpy's sorts, bincount, searchsorted and dot let go of the GIL from two values on, and its
    # element-wise operations from 500 values on: in a scoring server's threads each such call
    # waits for it to come back (`_document_logits`). The path uses numpy for single values only.
    from sentiment_assets.model.candidates import linear_scoring

    allowed = {"ndarray", "array", "float64", "log", "exp"}

    class OnlyTheseOfNumpy:
        def __getattr__(self, name: str):
            if name not in allowed:
                raise AssertionError(f"np.{name} on the one-review path")
            return getattr(np, name)

    texts, titles = reviews
    expected = fitted.predict_proba(texts, titles)
    monkeypatch.setattr(linear_scoring, "np", OnlyTheseOfNumpy())
    pairs = zip(texts, titles, strict=True)

    found = [fitted.predict_proba([text], [title])[0] for text, title in pairs]

    monkeypatch.undo()
    np.testing.assert_array_equal(np.array(found), expected)


def test_a_batch_counted_in_chunks_scores_exactly_as_counted_whole(fitted, reviews, monkeypatch):
    # Batches are counted CHUNK_ROWS documents at a time, to bound the memory of the character
    # n-grams' index arrays: the 1,508 reviews here make two chunks, seven of up to 250, or all
    # but one and then a last chunk of one review (scored by the one-review path).
    from sentiment_assets.model.candidates import linear_scoring

    texts, titles = reviews
    scored = {"default": fitted.predict_proba(texts, titles)}
    for rows in (250, len(texts) - 1, len(texts)):
        monkeypatch.setattr(linear_scoring, "CHUNK_ROWS", rows)
        scored[rows] = fitted.predict_proba(texts, titles)

    whole = scored.pop(len(texts))
    for chunked in scored.values():
        np.testing.assert_array_equal(chunked, whole)


def test_the_predictor_reads_the_columns_in_any_order_and_a_missing_title(fitted, reviews):
    # The reviews the predictor scores: it refuses one with no letter or digit ("!!! ??? ...").
    readable_ones = readable(*reviews)
    assert not readable_ones.all()
    texts = [text for text, ok in zip(reviews[0], readable_ones, strict=True) if ok]
    titles = [title for title, ok in zip(reviews[1], readable_ones, strict=True) if ok]
    predictor = Predictor(fitted, THRESHOLD)
    batch = fitted.predict_proba(texts, titles)
    untitled = fitted.predict_proba(texts[:3], [None] * 3)
    frames = [
        (pd.DataFrame({"title": titles, "extra": 1, "review_text": texts}), batch),
        (pd.DataFrame({"review_text": texts[:1], "title": [np.nan]}), untitled[:1]),
        (pd.DataFrame({"review_text": texts[:3]}), untitled),
    ]
    for frame, expected in frames:
        found = predictor.predict(frame)

        np.testing.assert_array_equal(found["probability"], expected)
        np.testing.assert_array_equal(found["label"], (expected >= THRESHOLD).astype(np.int64))


def test_each_member_alone_scores_as_the_fitted_vectorizers_do(fitted, reviews):
    texts, titles = reviews
    columns = text_columns(*normalized_inputs(texts, titles), fitted.negation_scope)
    for model in (fitted.tfidf.model, fitted.nb):
        assert_same(model.predict_proba(columns), sklearn_probability(model, columns))


def test_a_tfidf_logreg_just_fitted_scores_as_its_vectorizers_do(real_drops, reviews):
    # Without negation features and with word trigrams: the other linear family, never saved.
    dataset = build_dataset(stem_reviews(read_reviews(real_drops[0]).head(TRAINING_ROWS // 2)))
    candidate = TfidfLogReg("tfidf", word_ngrams=3)
    candidate.fit(dataset)
    texts, titles = reviews
    columns = text_columns(*normalized_inputs(texts, titles))

    found = candidate.predict_proba(texts, titles)

    assert_same(found, sklearn_probability(candidate.model, columns))


def test_the_members_shared_word_ngrams_are_counted_once(fitted):
    parts = [*fitted.tfidf.model.parts, *fitted.nb.parts]

    scorer = LinearScorer([fitted.tfidf.model, fitted.nb])

    # tfidf: title words, text words, characters, negated words; nb: title and negated words.
    assert len(parts) == 6
    assert sorted(c.column for c in scorer.counters) == ["both", "negated", "text", "title"]


def test_a_part_with_other_settings_than_the_scorer_knows_is_refused(fitted):
    name, column, vectorizer = fitted.nb.parts[0]
    vectorizer = vectorizer.__class__(**{**vectorizer.get_params(), "norm": "l1"})
    odd = LinearTextModel([(name, column, vectorizer)], fitted.nb.coef, fitted.nb.intercept)

    with pytest.raises(ValueError, match="l2 or no norm"):
        LinearScorer([odd])
