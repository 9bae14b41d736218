"""From a trained candidate to predictions: raw review text (and an optional title) in, the
probability of "recommended" and a label out, with the decision threshold tuned for the candidate.

This is what a logged model runs (through `pyfunc_entry`), so `mlflow models serve`,
`sentiment-predict` and the production decision score reviews with the same code.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .candidates import Candidate, load_candidate
from .stems import readable

TEXT_COLUMN = "review_text"
TITLE_COLUMN = "title"
PROBABILITY_COLUMN = "probability"
LABEL_COLUMN = "label"
# The label in words, beside it where people read predictions (sentiment-predict, drop_predictions).
SENTIMENT_COLUMN = "sentiment"
SENTIMENTS = ("not recommended", "recommended")  # by label
SERVING_FILE = "serving.json"
_EXAMPLES = 5  # how many offending rows an error message names


class InvalidReviews(ValueError):
    """Reviews that cannot be scored: an empty, blank or non-text review has no sentiment to read,
    and neither has one with no letter (a-z) or digit in its text and title."""


@dataclass
class Predictor:
    """A candidate with its decision threshold: the whole of what a model version scores with."""

    candidate: Candidate
    threshold: float

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.candidate.save(folder)
        serving = {"family": self.candidate.family, "threshold": self.threshold}
        (folder / SERVING_FILE).write_text(json.dumps(serving))

    @classmethod
    def load(cls, folder: Path) -> Predictor:
        serving = json.loads((folder / SERVING_FILE).read_text())
        return cls(load_candidate(serving["family"], folder), float(serving["threshold"]))

    def predict(self, reviews: pd.DataFrame) -> pd.DataFrame:
        """`review_text` (required) and `title` (optional) in; `probability` and `label` out."""
        # The columns read as one array: a column taken as a Series costs tens of microseconds,
        # a good part of a review served alone.
        position = {name: i for i, name in enumerate(reviews.columns)}
        values = reviews.to_numpy(dtype=object)
        texts = values[:, position[TEXT_COLUMN]].tolist()
        refuse_unscorable(texts)
        if TITLE_COLUMN in position:
            titles = known_titles(values[:, position[TITLE_COLUMN]].tolist())
        else:
            titles = [None] * len(texts)
        refuse_unreadable(texts, titles)
        probabilities = self.candidate.predict_proba(texts, titles)
        labels = (probabilities >= self.threshold).astype(np.int64)
        return pd.DataFrame({PROBABILITY_COLUMN: probabilities, LABEL_COLUMN: labels}, copy=False)


def refuse_unscorable(texts: list[object]) -> None:
    """Raise `InvalidReviews` naming the rows whose review is not text or is blank."""
    bad = [i for i, text in enumerate(texts) if not isinstance(text, str) or not text.strip()]
    if bad:
        raise InvalidReviews(
            f"{TEXT_COLUMN} must be non-blank text; it is empty, blank or not text in row(s) "
            f"{_rows(bad)}"
        )


def refuse_unreadable(texts: list[str], titles: list[str | None]) -> None:
    """Raise `InvalidReviews` naming the rows whose text and title hold no letter (a-z) or digit:
    scored, they would all get an empty review's score (an emoji-only complaint "recommended")."""
    bad = np.flatnonzero(~readable(texts, titles)).tolist()
    if bad:
        raise InvalidReviews(
            f"{TEXT_COLUMN} and {TITLE_COLUMN} hold no letter (a-z) or digit the model reads in "
            f"row(s) {_rows(bad)}: written in another script, or emoji or punctuation alone"
        )


def known_titles(titles: list[object]) -> list[str | None]:
    """Each title as text, or None where it is missing (None, NaN); `InvalidReviews` naming the
    rows whose title is something else (a number, a list): read as no title, it would change the
    score without a word."""
    bad = [
        i
        for i, title in enumerate(titles)
        if not isinstance(title, str) and not (pd.api.types.is_scalar(title) and pd.isna(title))
    ]
    if bad:
        raise InvalidReviews(
            f"{TITLE_COLUMN} must be text or missing; it is not text in row(s) {_rows(bad)}"
        )
    return [title if isinstance(title, str) else None for title in titles]


def _rows(rows: list[int]) -> str:
    """Positions in the request, counted from 0 as pandas and JSON arrays count (the CLI, which
    numbers reviews from 1, names them itself: a README review read "row(s) 1" as the first)."""
    more = len(rows) - _EXAMPLES
    shown = ", ".join(map(str, rows[:_EXAMPLES])) + (f" and {more} more" if more > 0 else "")
    return f"{shown} (counted from 0)"


def copy_code(destination: Path) -> Path:
    """This package's source, to log beside a model: the code that model version scores with."""
    shutil.copytree(
        Path(__file__).parent, destination, ignore=shutil.ignore_patterns("__pycache__", "*.pyc")
    )
    return destination


ENTRY_POINT = Path(__file__).with_name("pyfunc_entry.py")


def input_example() -> pd.DataFrame:
    """Two reviews as every logged model takes them, one without a title."""
    return pd.DataFrame(
        {
            TEXT_COLUMN: ["Lovely fabric, fits well", "It ripped after one wash"],
            TITLE_COLUMN: ["Love it", None],
        }
    )


def signature() -> Any:
    """What every logged model takes and gives: review text and an optional title; a probability
    and a label."""
    from mlflow.models import ModelSignature
    from mlflow.types import ColSpec, Schema

    return ModelSignature(
        inputs=Schema(
            [ColSpec("string", TEXT_COLUMN), ColSpec("string", TITLE_COLUMN, required=False)]
        ),
        outputs=Schema([ColSpec("double", PROBABILITY_COLUMN), ColSpec("long", LABEL_COLUMN)]),
    )
