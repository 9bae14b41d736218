"""From reviews to stems: the seed's cleaning (letters only, lowercase, NLTK stopwords, Porter
stems) and the challengers' lighter normalisation.

The same functions run inside the logged model, so training and serving cannot drift apart.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd

from .reviews import LABEL, REVIEW_ID, TEXT, TITLE, has_text

# The seed used `[^a-zA-z]`; the `A-z` range also keeps `[ \ ] ^ _` and the backtick.
NON_LETTERS = re.compile(r"[^a-zA-Z]")

# Words that flip a review's meaning; NLTK lists them as stopwords, which the seed removed.
NEGATIONS = frozenset(
    {
        "no",
        "nor",
        "not",
        "don't",
        "didn't",
        "doesn't",
        "isn't",
        "wasn't",
        "weren't",
        "aren't",
        "won't",
        "wouldn't",
        "couldn't",
        "shouldn't",
        "hasn't",
        "haven't",
        "hadn't",
        "mustn't",
        "needn't",
        "mightn't",
        "shan't",
        "don",
        "didn",
        "doesn",
        "isn",
        "wasn",
        "weren",
        "aren",
        "won",
        "wouldn",
        "couldn",
        "shouldn",
        "hasn",
        "haven",
        "hadn",
        "mustn",
        "needn",
        "mightn",
        "shan",
    }
)


# NLTK's 179-word English stopword list, shipped as package data (nltk.download needs a network).
# Read when the module is imported, not when first needed: a logged model imports this package
# from its own folder, once per process and content (`pyfunc_entry`), and MLflow validates a model
# it logs from a temporary folder that it deletes; a later model of the same code, imported no
# more, found no file there.
_ENGLISH_STOPWORDS = frozenset(
    Path(__file__).with_name("stopwords_english.txt").read_text("ascii").split()
)


def english_stopwords() -> frozenset[str]:
    """NLTK's English stopword list."""
    return _ENGLISH_STOPWORDS


@cache
def stem_word(word: str) -> str:
    """Porter stem of one lowercase word; memoised because review vocabularies repeat heavily."""
    return _porter().stem(word)


@cache
def _porter():
    from nltk.stem.porter import PorterStemmer

    return PorterStemmer()


def stem_text(text: str | None) -> str:
    """Clean one review the seed's way: letters only, lowercase, no stopwords (negations among
    them), Porter stems."""
    if not isinstance(text, str):
        return ""
    stop = english_stopwords()
    words = NON_LETTERS.sub(" ", text).lower().split()
    return " ".join(stem_word(w) for w in words if w not in stop)


def stem_corpus(texts: Iterable[str | None]) -> list[str]:
    """Stem every review of a corpus; missing texts become empty strings."""
    return [stem_text(t) for t in texts]


class Corpus:
    """Column names of the stemmed corpus (`stem_reviews`) and of the dataset built from it."""

    REVIEW_ID = REVIEW_ID
    LABEL = "label"
    TITLE = "title"
    TEXT = "text"
    STEMS = "stemmed"
    DROP = "drop"  # the dataset adds which drop a review came from ...
    SPLIT = "split"  # ... and which split it belongs to


def stem_reviews(reviews: pd.DataFrame) -> pd.DataFrame:
    """Turn validated reviews into the corpus: one row per review with text, its stems and its label.

    Reviews without text cannot teach the model anything and are dropped; the caller reports how
    many. Those with text but nothing the models read (`readable`) stay: the vocabulary-drift
    check counts their words, and scoring leaves them out.
    """
    with_text = reviews[has_text(reviews[TEXT])]
    title = with_text[TITLE] if TITLE in with_text else pd.Series(None, index=with_text.index)
    return pd.DataFrame(
        {
            Corpus.REVIEW_ID: with_text[REVIEW_ID].to_numpy(),
            Corpus.LABEL: with_text[LABEL].to_numpy(),
            Corpus.TITLE: title.astype("object").where(title.notna(), None).to_numpy(),
            Corpus.TEXT: with_text[TEXT].astype(str).to_numpy(),
            Corpus.STEMS: stem_corpus(with_text[TEXT]),
        }
    )


_NOT_WORD = re.compile(r"[^a-z0-9']+")
_READ = re.compile(r"[a-z0-9]")


def readable(texts: Iterable[object], titles: Iterable[object]) -> np.ndarray:
    """Whether each review holds something the models read: a letter a-z or a digit in its text or
    title. One written in another script, or of emoji or punctuation alone, holds none: every
    model would give it the one score of an empty review, whatever it says."""
    return np.array(
        [
            any(isinstance(part, str) and _READ.search(part.lower()) for part in (text, title))
            for text, title in zip(texts, titles, strict=True)
        ],
        dtype=bool,
    )


def normalize_text(text: str | None) -> str:
    """Lowercase words and digits for the challengers; apostrophes stay, so "didn't" survives."""
    if not isinstance(text, str):
        return ""
    return " ".join(_NOT_WORD.sub(" ", text.lower()).split())


# What starts a negation's scope in normalized text: NLTK's negations (the bare "didn" and "don"
# are what a typographic apostrophe leaves: "didn\u2019t" normalises to "didn t") and a few more.
NEGATION_CUES = NEGATIONS | {"never", "can't", "cannot", "hardly"}


def mark_negations(text: str, scope: int = 3) -> str:
    """Normalized text with the `scope` words after each negation cue prefixed `not_`, so "not
    flattering" and "flattering" become different features ("did not fit" -> "did not not_fit")."""
    marked = []
    left = 0
    for word in text.split():
        marked.append(f"not_{word}" if left else word)
        left = scope if word in NEGATION_CUES else max(left - 1, 0)
    return " ".join(marked)


def normalized_inputs(
    texts: Iterable[str | None], titles: Iterable[str | None]
) -> tuple[list[str], list[str]]:
    """Titles and texts the way the challengers read them: `normalize_text` of each."""
    return [normalize_text(t) for t in titles], [normalize_text(t) for t in texts]
