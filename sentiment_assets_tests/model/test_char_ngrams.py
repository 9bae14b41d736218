import numpy as np
import pytest
from sklearn.feature_extraction.text import TfidfVectorizer

from sentiment_assets.model.candidates.char_ngrams import WordwiseCharTfidf
from sentiment_assets.model.stems import normalize_text

SETTINGS = {"ngram_range": (2, 5), "min_df": 2, "sublinear_tf": True}


@pytest.fixture(scope="module")
def documents(sample_dataset) -> list[str]:
    reviews = sample_dataset.reviews
    return [
        f"{normalize_text(a)} . {normalize_text(b)}"
        for a, b in zip(reviews["title"], reviews["text"], strict=True)
    ]


# Unknown words, a repeated word, an empty review, a word shorter than the n-grams, upper case,
# runs of whitespace and non-ASCII letters.
UNSEEN = ["", "a", "Fabric FABRIC fabric", "zzqx blorp", "not  \t great\n at all", "très jolie"]


def _reference(documents: list[str]) -> TfidfVectorizer:
    return TfidfVectorizer(analyzer="char_wb", **SETTINGS).fit(documents)


def test_fits_the_same_vocabulary_and_idf_as_scikit_learn(documents):
    reference, wordwise = _reference(documents), WordwiseCharTfidf(**SETTINGS).fit(documents)

    assert wordwise.vocabulary_ == reference.vocabulary_
    np.testing.assert_allclose(wordwise.idf_, reference.idf_, rtol=0, atol=1e-12)


def test_gives_the_same_matrix_as_scikit_learn(documents):
    reference = _reference(documents)
    train = WordwiseCharTfidf(**SETTINGS).fit_transform(documents)
    unseen = WordwiseCharTfidf(**SETTINGS).fit(documents).transform(UNSEEN + documents[:50])

    assert abs(train - reference.transform(documents)).max() < 1e-12
    assert abs(unseen - reference.transform(UNSEEN + documents[:50])).max() < 1e-12


def test_min_df_counts_documents_not_occurrences():
    vectorizer = WordwiseCharTfidf(ngram_range=(2, 2), min_df=2).fit(["aaaa", "ab", "ab"])

    # "aa" occurs three times but in one document.
    assert sorted(vectorizer.vocabulary_) == [" a", "ab", "b "]


def test_a_review_without_known_n_grams_is_a_zero_row(documents):
    vectorizer = WordwiseCharTfidf(**SETTINGS).fit(documents)

    rows = vectorizer.transform(["", "ʬʬʬ"])

    assert rows.shape == (2, len(vectorizer.vocabulary_))
    assert rows.nnz == 0


def test_fitted_from_saved_arrays_transforms_identically(documents):
    trained = WordwiseCharTfidf(**SETTINGS).fit(documents)
    columns = sorted(trained.vocabulary_, key=trained.vocabulary_.__getitem__)

    loaded = WordwiseCharTfidf.fitted(columns, trained.idf_, ngram_range=(2, 5), sublinear_tf=True)

    assert abs(loaded.transform(UNSEEN) - trained.transform(UNSEEN)).max() == 0


def test_nothing_frequent_enough_is_a_clear_error():
    with pytest.raises(ValueError, match="3 or more documents"):
        WordwiseCharTfidf(min_df=3).fit(["one", "two"])


def test_min_df_must_be_a_count_not_a_fraction():
    # scikit-learn reads 0.5 as "half the documents"; silently reading it as a count would keep all.
    with pytest.raises(TypeError, match="count of documents"):
        WordwiseCharTfidf(min_df=0.5)
