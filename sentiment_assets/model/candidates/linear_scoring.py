"""Scoring fitted linear text models without scikit-learn's `transform`: the same probabilities,
computed from the fitted vocabularies, weights and coefficients.

scikit-learn validates its input and builds sparse matrices on every `transform` call, about 0.5 ms
whatever the input's size; a review served alone paid that six times (4.5 ms in all). Here each
part's n-grams are looked up in its fitted vocabulary (with scikit-learn's own analyzer, so the
n-grams are the same), each distinct (column, analyzer, vocabulary) is counted once for all the
models scored together (tfidf-nb's two members read the same word n-grams), and a model's logit
is, per part, sum(tf * idf * coef) / ||tf * idf|| over the counted n-grams: what the l2-normalised
TF-IDF row times the coefficients adds up to.
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from .tfidf_logreg import LinearTextModel

# Column name -> one text per document (`text_columns`).
TextColumns = Mapping[str, Sequence[str]]
# A document's n-grams as vocabulary columns, one per occurrence.
Indices = Callable[[str], "list[int] | np.ndarray"]
# Settings of a TfidfVectorizer that weigh counts rather than find n-grams: parts that differ only
# in these count alike.
_WEIGHING = {"binary", "norm", "use_idf", "smooth_idf", "sublinear_tf", "dtype", "vocabulary"}
_WEIGHING |= {"min_df", "max_df", "max_features"}  # fitting only
# Documents counted at a time: a review has ~900 character n-grams, and counting all 5,778 of a
# drop at once held about 0.2 GB of index arrays at the peak.
CHUNK_ROWS = 1_000


@dataclass(frozen=True)
class _Counter:
    """Finds one kind of n-gram in one column: a document's vocabulary columns, one per occurrence."""

    column: str
    indices: Indices
    size: int  # the vocabulary's


@dataclass(frozen=True)
class _Term:
    """One part of one model: how its counts become a term of the model's logit."""

    counter: int  # into `LinearScorer.counters`
    idf: np.ndarray
    idf_coef: np.ndarray  # idf times the part's coefficients
    binary: bool
    sublinear: bool
    normalized: bool
    # `idf` and `idf_coef` as `array`s, which Python reads one value at a time (`logit`) faster
    # than numpy arrays; when built, the numpy arrays are views of them.
    idf_values: array = field(init=False, repr=False, compare=False)
    idf_coef_values: array = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        for name in ("idf", "idf_coef"):
            values = array("d", np.ascontiguousarray(getattr(self, name), np.float64).tobytes())
            object.__setattr__(self, f"{name}_values", values)
            object.__setattr__(self, name, np.frombuffer(values, dtype=np.float64))

    def logits(self, counts: tuple[np.ndarray, np.ndarray, np.ndarray], rows: int) -> np.ndarray:
        document, column, count = counts
        tf = self._tf(count)
        dot = np.bincount(document, weights=tf * self.idf_coef[column], minlength=rows)
        if not self.normalized:
            return dot
        weight = tf * self.idf[column]
        norm = np.sqrt(np.bincount(document, weights=weight * weight, minlength=rows))
        # A document without any of the part's n-grams has a zero row, as in scikit-learn.
        return np.divide(dot, norm, out=np.zeros(rows), where=norm > 0)

    def logit(self, occurrences: list[int]) -> float:
        """`logits` of a document alone, from its n-grams' columns, one per occurrence, ascending
        (see `LinearScorer._document_logits`), in plain Python: each run of one column is one
        n-gram and its count, and the products are added in the order `np.bincount` adds them
        (column after column), so the value is the same to the bit.

        One pass, counting and adding as it goes: a review has about 900 character n-grams, 580
        of them distinct, and counting them first (a `Counter`, sorted) took twice as long."""
        tfs, idf_coef, idf = self.tf_values, self.idf_coef_values, self.idf_values
        normalized = self.normalized
        dot = total = 0.0
        column, count = -1, 0
        for found in [*occurrences, -1]:  # -1, no column, ends the last run
            if found == column:
                count += 1
                continue
            if count:
                tf = tfs[count] if count < TF_TABLE else self._tf_one(count)
                dot += tf * idf_coef[column]
                if normalized:
                    weight = tf * idf[column]
                    total += weight * weight
            column, count = found, 1
        if not normalized:
            return dot
        norm = math.sqrt(total)
        return dot / norm if norm > 0 else 0.0

    @property
    def tf_values(self) -> list[float]:
        """The term frequency of each count below `TF_TABLE`, as `_tf` computes it."""
        if self.binary:
            return _BINARY_TF
        return _SUBLINEAR_TF if self.sublinear else _RAW_TF

    def _tf_one(self, count: int) -> float:
        """`_tf` of one count of at least `TF_TABLE` (a long or repetitive review): numpy's log,
        not the math module's, which may differ in the last bit."""
        if self.binary:
            return 1.0
        if self.sublinear:
            return float(np.log(np.array([count], dtype=np.float64))[0] + 1)
        return float(count)

    def _tf(self, count: np.ndarray) -> np.ndarray:
        if self.binary:
            return np.ones_like(count)
        return np.log(count) + 1 if self.sublinear else count


# The term frequencies of the counts a review's n-grams have (a count is never 0).
TF_TABLE = 256
_COUNTS = np.arange(TF_TABLE, dtype=np.float64)
_SUBLINEAR_TF = [math.nan, *(np.log(_COUNTS[1:]) + 1).tolist()]
_RAW_TF = _COUNTS.tolist()
_BINARY_TF = [1.0] * TF_TABLE


class LinearScorer:
    """The logits of one or more fitted `LinearTextModel`s, counting each distinct part once."""

    def __init__(self, models: Sequence[LinearTextModel]) -> None:
        self.counters: list[_Counter] = []
        keys: list[tuple[str, Any, Mapping[str, int]]] = []
        self.models: list[tuple[list[_Term], float]] = []
        for model in models:
            terms = []
            start = 0
            for name, column, vectorizer in model.parts:
                counter, vocabulary = self._counter(keys, column, vectorizer)
                coef = model.coef[start : start + len(vocabulary)]
                start += len(vocabulary)
                norm = getattr(vectorizer, "norm", "l2")
                if norm not in ("l2", None) or not getattr(vectorizer, "use_idf", True):
                    raise ValueError(f"{name}: only IDF-weighted parts with l2 or no norm score")
                idf = np.asarray(vectorizer.idf_, dtype=np.float64)
                binary = getattr(vectorizer, "binary", False)
                terms.append(
                    _Term(counter, idf, idf * coef, binary, vectorizer.sublinear_tf, norm == "l2")
                )
            if start != len(model.coef):
                raise ValueError(f"{len(model.coef)} coefficients for {start} features")
            self.models.append((terms, model.intercept))

    def _counter(
        self, keys: list[tuple[str, Any, Mapping[str, int]]], column: str, vectorizer: Any
    ) -> tuple[int, Mapping[str, int]]:
        """The index of the counter that finds the part's n-grams (an existing one if an earlier
        part finds the same ones), and the part's vocabulary."""
        if hasattr(vectorizer, "get_feature_names_out"):
            # A TfidfVectorizer given its vocabulary checks and keeps it (`vocabulary_`) on
            # first use; this is that use.
            vectorizer.get_feature_names_out()
            params = vectorizer.get_params()
            analysis = tuple(sorted((k, repr(v)) for k, v in params.items() if k not in _WEIGHING))
        else:
            analysis = (vectorizer.analyzer, tuple(vectorizer.ngram_range))
        vocabulary = vectorizer.vocabulary_
        for index, (known_column, known_analysis, known_vocabulary) in enumerate(keys):
            same = (known_column, known_analysis) == (column, analysis)
            if same and (known_vocabulary is vocabulary or known_vocabulary == vocabulary):
                return index, vocabulary
        keys.append((column, analysis, vocabulary))
        self.counters.append(_Counter(column, _indices(vectorizer), len(vocabulary)))
        return len(self.counters) - 1, vocabulary

    def logits(self, columns: TextColumns) -> list[np.ndarray]:
        """Per model, in the order given, the logit of every document."""
        rows = len(next(iter(columns.values())))
        if rows == 1:
            return [np.array([logit]) for logit in self._document_logits(columns)]
        if rows > CHUNK_ROWS:
            # A document's logit depends on its own n-grams only, so chunks give the same values.
            chunks = [
                self.logits(
                    {name: docs[start : start + CHUNK_ROWS] for name, docs in columns.items()}
                )
                for start in range(0, rows, CHUNK_ROWS)
            ]
            return [np.concatenate(parts) for parts in zip(*chunks, strict=True)]
        counted = [_count(c.indices, columns[c.column], c.size, rows) for c in self.counters]
        found = []
        for terms, intercept in self.models:
            logit = np.full(rows, intercept, dtype=np.float64)
            for term in terms:
                logit += term.logits(counted[term.counter], rows)
            found.append(logit)
        return found

    def _document_logits(self, columns: TextColumns) -> list[float]:
        """One document's logits (a review served alone) in plain Python: no numpy call that lets
        go of the GIL.

        numpy's sorts (so `np.unique`), `np.bincount`, `np.searchsorted` and `np.dot` let go of it
        for two values as for millions, and its element-wise operations (`np.cumsum`, `astype`,
        arithmetic) from 500 values on, as a review's character n-grams often are. A scoring
        server answers several requests at once in threads; while another thread runs Python,
        each such call waits for the GIL to come back, and the numpy path let go of it 17 times a
        review (README, "Serving"). This one never does.
        """
        counted = []
        for counter in self.counters:
            found = counter.indices(columns[counter.column][0])
            found = found.tolist() if isinstance(found, np.ndarray) else list(found)
            found.sort()
            counted.append(found)
        logits = []
        for terms, intercept in self.models:
            logit = intercept
            for term in terms:
                logit += term.logit(counted[term.counter])
            logits.append(logit)
        return logits


def probability(logit: np.ndarray) -> np.ndarray:
    """The logistic function, as the logistic regression applies it."""
    return (1 / (1 + np.exp(-logit))).astype(float)


def _indices(vectorizer: Any) -> Indices:
    if hasattr(vectorizer, "gram_indices"):  # `WordwiseCharTfidf`
        return vectorizer.gram_indices()
    analyzer = vectorizer.build_analyzer()
    vocabulary = vectorizer.vocabulary_
    return lambda document: [i for i in map(vocabulary.get, analyzer(document)) if i is not None]


def _count(
    indices: Indices, documents: Sequence[str], size: int, rows: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(document, vocabulary column, count) of every n-gram found, by document then column."""
    found = [indices(document) for document in documents]
    lengths = np.fromiter(map(len, found), dtype=np.int64, count=rows)
    columns = np.concatenate([np.zeros(0, np.int64), *(np.asarray(f, np.int64) for f in found)])
    keys = np.repeat(np.arange(rows, dtype=np.int64), lengths) * size + columns
    keys, counts = np.unique(keys, return_counts=True)
    return keys // size, keys % size, counts.astype(np.float64)
