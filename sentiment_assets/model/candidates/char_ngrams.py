"""TF-IDF of character n-grams inside words, counted once per distinct word.

It gives the same matrix as scikit-learn's `TfidfVectorizer(analyzer="char_wb", ...)`: that
analyzer takes the n-grams of each whitespace-separated word padded with a space on both sides,
so a document's counts are the sum of its words' counts. scikit-learn counts every n-gram of
every document in a Python loop (about 15 million on the real drops); here each distinct word's
n-grams are counted once and a sparse product (documents x words) @ (words x n-grams) adds them
up. On 12,000 real reviews: fit 1.1 s instead of 3.7 s, transform 0.27 s instead of 1.6 s.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np
import scipy.sparse
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.feature_extraction.text import CountVectorizer
from sklearn.preprocessing import normalize

# How many distinct words `gram_indices` remembers the n-grams of (a review has ~60 words).
WORD_CACHE = 2**16


def _words(document: str) -> list[str]:
    # The words char_wb takes n-grams of (it lowercases first by default).
    return document.lower().split()


class WordwiseCharTfidf(TransformerMixin, BaseEstimator):
    """`TfidfVectorizer(analyzer="char_wb", ngram_range, min_df, sublinear_tf)`, with the default
    smooth IDF and l2 norm; `min_df` is a count of documents (not a fraction), and there is no
    `max_features` cap."""

    analyzer = "char_wb"

    def __init__(
        self, ngram_range: tuple[int, int] = (2, 5), min_df: int = 1, sublinear_tf: bool = False
    ) -> None:
        if isinstance(min_df, bool) or not isinstance(min_df, int | np.integer):
            raise TypeError(f"min_df must be a count of documents, not {min_df!r}")
        self.ngram_range = ngram_range
        self.min_df = min_df
        self.sublinear_tf = sublinear_tf

    @classmethod
    def fitted(
        cls, vocabulary: Sequence[str], idf: np.ndarray, **settings: Any
    ) -> WordwiseCharTfidf:
        """Rebuilt from a saved vocabulary (in column order) and IDF weights."""
        vectorizer = cls(**settings)
        vectorizer.vocabulary_ = {gram: i for i, gram in enumerate(vocabulary)}
        vectorizer.idf_ = np.asarray(idf, dtype=np.float64)
        return vectorizer

    def _counts(
        self, documents: Iterable[str], grams: CountVectorizer, *, fit: bool
    ) -> scipy.sparse.csr_matrix:
        """Documents x n-grams counts, the n-grams counted (and with `fit`, found) by `grams`."""
        column: dict[str, int] = {}
        indices: list[int] = []
        starts = [0]
        for document in documents:
            indices.extend(column.setdefault(word, len(column)) for word in _words(document))
            starts.append(len(indices))
        per_document = scipy.sparse.csr_matrix(
            (np.ones(len(indices)), indices, starts), shape=(len(starts) - 1, len(column))
        )
        per_document.sum_duplicates()
        distinct = list(column)
        per_word = grams.fit_transform(distinct) if fit else grams.transform(distinct)
        return (per_document @ per_word).tocsr()

    def _gram_counter(self, vocabulary: dict[str, int] | None = None) -> CountVectorizer:
        return CountVectorizer(
            analyzer="char_wb",
            ngram_range=tuple(self.ngram_range),
            lowercase=False,
            vocabulary=vocabulary,
        )

    def fit(self, documents: Iterable[str], y: Any = None) -> WordwiseCharTfidf:
        self.fit_transform(documents)
        return self

    def fit_transform(self, documents: Iterable[str], y: Any = None) -> scipy.sparse.csr_matrix:
        grams = self._gram_counter()
        counts = self._counts(documents, grams, fit=True)
        frequency = np.bincount(counts.indices, minlength=counts.shape[1])
        kept = np.flatnonzero(frequency >= self.min_df)
        if not len(kept):
            raise ValueError(f"no character n-gram is in {self.min_df} or more documents")
        self.vocabulary_ = {gram: i for i, gram in enumerate(grams.get_feature_names_out()[kept])}
        rows = counts.shape[0]
        self.idf_ = np.log((1 + rows) / (1 + frequency[kept].astype(np.float64))) + 1
        return self._weigh(counts[:, kept])

    def transform(self, documents: Iterable[str]) -> scipy.sparse.csr_matrix:
        # One counter per fitted vocabulary, kept: scikit-learn checks a given vocabulary when it
        # is first used, which costs as much as the vocabulary is long (5 ms of a single review's
        # 8, measured here) and would be paid again by every call.
        counter = getattr(self, "_counter", None)
        if counter is None or counter.vocabulary is not self.vocabulary_:
            counter = self._counter = self._gram_counter(self.vocabulary_)
        return self._weigh(self._counts(documents, counter, fit=False))

    def gram_indices(self) -> Callable[[str], np.ndarray]:
        """A document's character n-grams as fitted vocabulary columns (int64), one per occurrence,
        as `transform` counts them; the last `WORD_CACHE` distinct words' n-grams are remembered,
        packed: a review's are then joined in one piece, not read back one Python int at a time."""
        grams = self._gram_counter().build_analyzer()
        vocabulary = self.vocabulary_

        @functools.lru_cache(maxsize=WORD_CACHE)
        def of_word(word: str) -> bytes:
            found = [i for i in map(vocabulary.get, grams(word)) if i is not None]
            return np.array(found, dtype=np.int64).tobytes()

        return lambda document: np.frombuffer(
            b"".join(map(of_word, _words(document))), dtype=np.int64
        )

    def _weigh(self, counts: scipy.sparse.csr_matrix) -> scipy.sparse.csr_matrix:
        weights = counts.astype(np.float64)
        if self.sublinear_tf:
            np.log(weights.data, out=weights.data)
            weights.data += 1
        # Each stored count times its column's IDF: no vocabulary-long diagonal per call.
        weights.data *= self.idf_[weights.indices]
        return normalize(weights, norm="l2", copy=False).tocsr()
