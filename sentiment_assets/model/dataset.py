"""From stems to the dataset: a stable train/validation/test split, a vocabulary and padded sequences.

Stored as parquet, npy and JSON (no pickle), so any tool can read it and nothing executes on load.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .stems import Corpus
from .tables import read_parquet, write_parquet

SPLITS = ("train", "validation", "test")
# Cumulative upper bounds of each split on the unit interval of a review's hash.
_SPLIT_BOUNDS = ((0.70, "train"), (0.85, "validation"), (1.0, "test"))

PAD, OOV = 0, 1
VOCABULARY_SIZE = 3000
REVIEWS_FILE = "reviews.parquet"  # of a saved dataset


def split_of(text: str) -> str:
    """The split a review belongs to, from a hash of its text.

    Hashing the content keeps a review in its split however many drops arrive, and puts duplicate
    reviews (the data has some) in the same split, so no test review is also a training review. The
    hash is independent of the label, so every split gets the same label share up to sampling noise.
    """
    digest = hashlib.sha256(text.strip().encode("utf-8")).digest()
    position = int.from_bytes(digest[:8], "big") / 2**64
    return next(name for bound, name in _SPLIT_BOUNDS if position < bound)


@dataclass(frozen=True)
class Vocabulary:
    """Word indices for the most frequent training words: 0 pads, 1 stands for any other word."""

    words: tuple[str, ...]

    @classmethod
    def fit(cls, texts: Iterable[str], size: int = VOCABULARY_SIZE) -> Vocabulary:
        if size < 2:
            raise ValueError(f"vocabulary size {size} leaves no room for padding and unknown words")
        counts = Counter(word for text in texts for word in text.split())
        # Ties broken alphabetically so that the vocabulary does not depend on row order.
        ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
        return cls(tuple(word for word, _ in ranked[: size - 2]))

    @property
    def size(self) -> int:
        return len(self.words) + 2

    def encode(self, texts: Iterable[str]) -> list[list[int]]:
        index = {word: i for i, word in enumerate(self.words, start=2)}
        return [[index.get(word, OOV) for word in text.split()] for text in texts]

    def oov_rate(self, reviews: pd.DataFrame) -> float:
        """Share of the words of `reviews` (a stemmed corpus) unknown to the vocabulary: the stems
        outside it, and every word written in letters the stemmer drops (it keeps a-z alone), which
        leaves no stem to look up: a drop in another alphabet would otherwise count as all known."""
        known = set(self.words)
        stems = [word for text in reviews[Corpus.STEMS] for word in text.split()]
        foreign = sum(map(_foreign_words, reviews[Corpus.TEXT]))
        words = len(stems) + foreign
        return (sum(stem not in known for stem in stems) + foreign) / words if words else 0.0


_LETTER = re.compile(r"[^\W\d_]")
_LATIN_LETTER = re.compile(r"[a-zA-Z]")


def _foreign_words(text: object) -> int:
    """How many words of a review text are in letters, none of them a-z: Cyrillic, Greek, CJK."""
    text = str(text)
    if text.isascii():  # nearly every review: no letter beyond a-z at all (0.1 s a drop saved)
        return 0
    return sum(1 for w in text.split() if _LETTER.search(w) and not _LATIN_LETTER.search(w))


def pad(sequences: Sequence[Sequence[int]], length: int) -> np.ndarray:
    """Pad with zeros or cut at the end ('post'), as the seed's pad_sequences call did."""
    out = np.zeros((len(sequences), length), dtype=np.int32)
    for row, seq in enumerate(sequences):
        kept = seq[:length]
        out[row, : len(kept)] = kept
    return out


@dataclass(frozen=True)
class PaddedDataset:
    """Reviews with their split, encoded and padded; `reviews` keeps raw text for end-to-end scoring."""

    reviews: pd.DataFrame
    sequences: np.ndarray
    vocabulary: Vocabulary
    sequence_length: int

    def split(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        mask = (self.reviews[Corpus.SPLIT] == name).to_numpy()
        return self.sequences[mask], self.reviews.loc[mask, Corpus.LABEL].to_numpy(dtype=np.int32)

    def cut_reviews(self) -> pd.DataFrame:
        """The reviews longer than `MAX_SEQUENCE_LENGTH` stems, which no export holds: the Keras
        candidates read only their first stems."""
        stems = self.reviews[Corpus.STEMS].str.split().map(len)
        return self.reviews[stems > MAX_SEQUENCE_LENGTH]

    def split_reviews(self, name: str) -> pd.DataFrame:
        return self.reviews[self.reviews[Corpus.SPLIT] == name].reset_index(drop=True)

    @property
    def fingerprint(self) -> str:
        """A content hash, used as the Dagster data version and tagged on every MLflow run."""
        h = hashlib.sha256()
        h.update(self.sequences.tobytes())
        # Raw text and title too: the challengers read them, and stems hide some edits ("not").
        identity = (
            Corpus.DROP,
            Corpus.REVIEW_ID,
            Corpus.TITLE,
            Corpus.TEXT,
            Corpus.LABEL,
            Corpus.SPLIT,
        )
        columns = [c for c in identity if c in self.reviews]
        h.update(
            pd.util.hash_pandas_object(self.reviews[columns], index=False).to_numpy().tobytes()
        )
        h.update("\n".join(self.vocabulary.words).encode())
        return h.hexdigest()[:16]

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        write_parquet(self.reviews, folder / REVIEWS_FILE)
        np.save(folder / "sequences.npy", self.sequences, allow_pickle=False)
        meta = {"sequence_length": self.sequence_length, "words": list(self.vocabulary.words)}
        (folder / "vocabulary.json").write_text(json.dumps(meta))

    @classmethod
    def load(cls, folder: Path) -> PaddedDataset:
        meta = json.loads((folder / "vocabulary.json").read_text())
        return cls(
            reviews=read_parquet(folder / REVIEWS_FILE),
            sequences=np.load(folder / "sequences.npy", allow_pickle=False),
            vocabulary=Vocabulary(tuple(meta["words"])),
            sequence_length=meta["sequence_length"],
        )

    @staticmethod
    def saved_reviews(folder: Path, columns: list[str]) -> pd.DataFrame:
        """Columns of a saved dataset's reviews, read without the rest of it."""
        return read_parquet(folder / REVIEWS_FILE, columns=columns)

    @staticmethod
    def saved_drops(folder: Path) -> set[str]:
        """The drops a saved dataset holds reviews of, read without the rest of it."""
        return set(read_parquet(folder / REVIEWS_FILE, columns=[Corpus.DROP])[Corpus.DROP])


def corpus_of(stems_by_drop: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """The drops' stemmed reviews as one corpus, in the order of their keys, each row with its
    drop: what `build_dataset` splits."""
    if not stems_by_drop:
        raise ValueError("no drop to build a dataset from: every drop was removed, or none landed")
    return pd.concat(
        [frame.assign(**{Corpus.DROP: key}) for key, frame in sorted(stems_by_drop.items())],
        ignore_index=True,
    )


# The most stems a padded review keeps. The retailer's exports cut a review at 508 characters,
# 58 stems at the most on the three real drops, so none is cut; without a bound, one review that
# swallowed a sheet (a 13 MB cell) padded every review to its length: 53 GiB asked for at once.
MAX_SEQUENCE_LENGTH = 200


def build_dataset(
    corpus: pd.DataFrame,
    vocabulary_size: int = VOCABULARY_SIZE,
    sequence_length: int | None = None,
) -> PaddedDataset:
    """Split the stemmed corpus, fit the vocabulary on the training split only, encode and pad.

    Without a `sequence_length`, the longest training review sets it, so no training word is cut,
    up to `MAX_SEQUENCE_LENGTH`: a review longer than that keeps its first stems (`cut_reviews`
    counts them), as does a validation or test review longer than the longest training one.
    """
    reviews = corpus.drop_duplicates(subset=[Corpus.TITLE, Corpus.TEXT, Corpus.LABEL])
    reviews = reviews.reset_index(drop=True)
    reviews[Corpus.SPLIT] = [split_of(t) for t in reviews[Corpus.TEXT]]
    is_train = reviews[Corpus.SPLIT] == "train"
    vocabulary = Vocabulary.fit(reviews.loc[is_train, Corpus.STEMS], vocabulary_size)
    encoded = vocabulary.encode(reviews[Corpus.STEMS])
    if sequence_length is None:
        train_lengths = [len(s) for s, train in zip(encoded, is_train, strict=True) if train]
        sequence_length = min(max(train_lengths, default=1) or 1, MAX_SEQUENCE_LENGTH)
    return PaddedDataset(reviews, pad(encoded, sequence_length), vocabulary, sequence_length)


def split_leaks(dataset: PaddedDataset) -> tuple[int, int]:
    """What would let a test review be seen in training: texts found in two splits (as `split_of`
    reads a text), and review ids repeated within a drop."""
    reviews = dataset.reviews
    texts = reviews[Corpus.TEXT].str.strip()
    in_two_splits = int((reviews.groupby(texts)[Corpus.SPLIT].nunique() > 1).sum())
    return in_two_splits, int(reviews.duplicated([Corpus.DROP, Corpus.REVIEW_ID]).sum())


def trainability_problem(dataset: PaddedDataset) -> str | None:
    """Why the dataset cannot train and evaluate a model, if it cannot: every split needs both
    labels (threshold tuning, ROC AUC and early stopping all do)."""
    for name in SPLITS:
        labels = set(dataset.split_reviews(name)[Corpus.LABEL])
        if labels != {0, 1}:
            have = "no reviews" if not labels else f"only label {labels.pop()}"
            return (
                f"too few reviews to train on: the {name} split has {have} "
                f"({len(dataset.reviews)} reviews in all); land more drops"
            )
    return None
