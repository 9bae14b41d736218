"""Deterministic sample review drops in the Kaggle schema, for the embedded default and fast tests.

The sample reviews are messy in the ways the real export is (missing texts and titles, line breaks
inside quoted reviews, mojibake, HTML entities, duplicate rows), and their label follows the
wording and the rating strongly but not perfectly, so a model has something real to learn.
"""

import argparse
import random
import sys
from dataclasses import dataclass
from itertools import accumulate
from pathlib import Path

import numpy as np
import pandas as pd

from sentiment_assets.cli.sample_phrases import (
    CLASSES,
    CLOTHING,
    PHRASEBOOKS,
    Phrasebook,
    ProductClass,
)
from sentiment_assets.model.reviews import (
    KAGGLE_COLUMNS,
    LABEL,
    NUMERIC_COLUMNS,
    REVIEW_ID,
    TEXT,
    TITLE,
)

_PRODUCTS = 400  # distinct Clothing IDs in the catalogue, out of the source's 0-1205

# Share of each Rating 1-5, and how often a review with that rating is recommended (real drops).
_RATING_SHARES = (3.5, 6.6, 12.3, 21.7, 56.0)
_RECOMMENDED_GIVEN_RATING = (0.02, 0.06, 0.41, 0.97, 0.995)
# How likely a non-neutral sentence is to be positive, by rating; the label then nudges it.
_WARMTH = (0.1, 0.25, 0.5, 0.8, 0.9)

# Accented words as the source garbled them (UTF-8 read as Latin-1, then lower-cased).
_MOJIBAKE = (
    "the ombrã© print is gorgeous.",
    "love the appliquã© details.",
    "it hits right at the derriã¨re.",
    "ã¼ber soft.",
    "i wore it to my fiancã©'s party.",
    "the dã©colletage is lovely.",
    "true to size.â\xa0",
)
_SIZES = ("xs", "s", "m", "l", "2", "4", "6", "8", "10", "12")
_OCCASIONS = ("for a wedding", "for work", "on a whim", "after reading the reviews", "for a trip")
_OPENERS = ("", "", "", "", "honestly, ", "overall, ", "ok, so ", "first of all, ", "wow. ")
# How often a review has 1, 2, ... 5 sentences (before a verdict or a garbled word is added).
_SENTENCE_WEIGHTS = (5, 20, 30, 25, 20)


@dataclass(frozen=True)
class Mix:
    """What a drop's reviews are like: the phrasebook, the share of each rating 1-5 (the label
    follows the rating, so this sets the share of "not recommended"), and the weights of 1-5
    sentences per review. The default is like the real drops."""

    phrases: Phrasebook = CLOTHING
    rating_shares: tuple[float, ...] = _RATING_SHARES
    sentence_weights: tuple[float, ...] = _SENTENCE_WEIGHTS

    def __post_init__(self) -> None:
        for name in ("rating_shares", "sentence_weights"):
            weights = getattr(self, name)
            if len(weights) != 5 or min(weights) < 0 or not sum(weights) > 0:
                raise ValueError(f"{name} must be five weights >= 0, not all 0: {weights}")


LIKE_REAL = Mix()
# A drop from another shop: home appliances, 43 % of them not recommended, shorter reviews.
SHIFTED = Mix(
    phrases=PHRASEBOOKS["home"],
    rating_shares=(20.0, 15.0, 15.0, 15.0, 35.0),
    sentence_weights=(45.0, 35.0, 15.0, 4.0, 1.0),
)


def sample_reviews(
    rows: int, seed: int = 0, first_id: int = 0, mix: Mix = LIKE_REAL
) -> pd.DataFrame:
    """Sample reviews shaped like `read_reviews` output: `review_id` (first_id, first_id + 1, ...)
    then the Kaggle columns; `write_sample_drops` writes `review_id` as the unnamed first column.

    The same (rows, seed, first_id) always gives the same reviews; the product catalogue depends
    on the seed alone, so consecutive drops share Clothing IDs.
    """
    catalogue = _catalogue(random.Random(f"catalogue:{seed}"))
    # A few best sellers collect many of the reviews, as in the source.
    popularity = list(accumulate(rank**-0.7 for rank in range(1, len(catalogue) + 1)))
    rng = random.Random(f"reviews:{seed}:{first_id}")
    records = [_review(rng, catalogue, popularity, mix) for _ in range(rows)]
    _mess_up(rng, records)
    frame = pd.DataFrame.from_records(records, columns=list(KAGGLE_COLUMNS))
    frame.insert(0, REVIEW_ID, range(first_id, first_id + rows))
    # Missing as NaN and numbers as nullable integers, the way read_reviews returns them.
    return frame.fillna(np.nan).astype(dict.fromkeys(NUMERIC_COLUMNS, "Int64"))


def write_sample_drops(
    folder: Path | str,
    drops: int = 3,
    rows_per_drop: int = 1500,
    seed: int = 0,
    *,
    mix: Mix = LIKE_REAL,
    name: str = "reviews_sample",
) -> list[Path]:
    """Write <name>-01.csv, -02.csv, ... into `folder` in the exact Kaggle CSV layout, review ids
    continuing from one drop to the next, and return their paths."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for number in range(1, drops + 1):
        reviews = sample_reviews(rows_per_drop, seed, (number - 1) * rows_per_drop, mix)
        path = folder / f"{name}-{number:02d}.csv"
        reviews.rename(columns={REVIEW_ID: ""}).to_csv(path, index=False, lineterminator="\n")
        paths.append(path)
    return paths


def main(argv: list[str] | None = None) -> int:
    """`sentiment-sample-drops FOLDER [--drops N] [--rows N] [--seed N] [--name NAME]
    [--vocabulary clothing|home] [--ratings W,W,W,W,W] [--sentences W,W,W,W,W]`."""
    parser = argparse.ArgumentParser(
        prog="sentiment-sample-drops",
        description="Write deterministic sample review drops in the Kaggle CSV schema.",
    )
    parser.add_argument("folder", type=Path, help="where to write <name>-NN.csv")
    parser.add_argument("--drops", type=int, default=3, help="how many files (default 3)")
    parser.add_argument("--rows", type=int, default=1500, help="reviews per file (default 1500)")
    parser.add_argument("--seed", type=int, default=0, help="same seed, same bytes (default 0)")
    parser.add_argument("--name", default="reviews_sample", help="file names' start")
    parser.add_argument(
        "--vocabulary",
        choices=sorted(PHRASEBOOKS),
        default="clothing",
        help="what the reviews are about (default clothing, like the real drops)",
    )
    parser.add_argument(
        "--ratings",
        type=_weights,
        default=_RATING_SHARES,
        help="weights of ratings 1-5; the label follows the rating "
        f"(default {','.join(map(str, _RATING_SHARES))}: about 18%% not recommended)",
    )
    parser.add_argument(
        "--sentences",
        type=_weights,
        default=_SENTENCE_WEIGHTS,
        help="weights of 1-5 sentences per review "
        f"(default {','.join(map(str, _SENTENCE_WEIGHTS))})",
    )
    args = parser.parse_args(argv)
    try:
        mix = Mix(PHRASEBOOKS[args.vocabulary], args.ratings, args.sentences)
    except ValueError as err:
        parser.error(str(err))
    for path in write_sample_drops(
        args.folder, args.drops, args.rows, args.seed, mix=mix, name=args.name
    ):
        print(path)
    return 0


def _weights(text: str) -> tuple[float, ...]:
    try:
        return tuple(float(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not comma-separated numbers: {text!r}") from None


def _catalogue(rng: random.Random) -> list[tuple[int, ProductClass]]:
    """Products as (Clothing ID, class), most popular first; an ID always has one class."""
    ids = rng.sample(range(1206), _PRODUCTS)
    classes = rng.choices(CLASSES, weights=[share for *_, share in CLASSES], k=_PRODUCTS)
    return list(zip(ids, classes, strict=True))


def _review(
    rng: random.Random, catalogue: list[tuple[int, ProductClass]], popularity: list[float], mix: Mix
) -> dict:
    clothing_id, product = rng.choices(catalogue, cum_weights=popularity)[0]
    division, department, class_name, clothing_item, _ = product
    item = mix.phrases.item(clothing_item, CLASSES.index(product))
    rating = rng.choices(range(1, 6), weights=mix.rating_shares)[0]
    recommended = int(rng.random() < _RECOMMENDED_GIVEN_RATING[rating - 1])
    warmth = _WARMTH[rating - 1] + (0.08 if recommended else -0.12)
    return {
        "Clothing ID": clothing_id,
        "Age": min(99, max(18, round(rng.gauss(43, 12)))),
        TITLE: None if rng.random() < 0.16 else _title(rng, warmth, item, mix.phrases),
        TEXT: None if rng.random() < 0.04 else _text(rng, warmth, recommended, item, mix),
        "Rating": rating,
        LABEL: recommended,
        "Positive Feedback Count": int(rng.lognormvariate(0.3, 1.3)),
        "Division Name": division,
        "Department Name": department,
        "Class Name": class_name,
    }


def _title(rng: random.Random, warmth: float, item: str, phrases: Phrasebook) -> str:
    mood = rng.random()
    if abs(mood - warmth) < 0.15:
        pool = phrases.mixed_titles
    elif mood < warmth:
        pool = phrases.positive_titles
    else:
        pool = phrases.negative_titles
    return rng.choice(pool).format(item=item).capitalize()


def _text(rng: random.Random, warmth: float, recommended: int, item: str, mix: Mix) -> str:
    """One to five sentences whose tone follows `warmth`, sometimes with a verdict that gives the
    label away (and is wrong now and then, as people are)."""
    phrases, sentences = mix.phrases, []
    for _ in range(rng.choices((1, 2, 3, 4, 5), weights=mix.sentence_weights)[0]):
        if rng.random() < 0.3:
            pool = phrases.neutral
        elif rng.random() < warmth:
            pool = phrases.positive
        else:
            pool = phrases.negative
        sentences.append(rng.choice(pool))
    if rng.random() < 0.25:
        keeps = recommended if rng.random() < 0.9 else 1 - recommended
        sentences.append(rng.choice(phrases.recommend if keeps else phrases.not_recommend))
    if rng.random() < 0.015:
        sentences.insert(rng.randrange(len(sentences) + 1), rng.choice(_MOJIBAKE))
    text = rng.choice(_OPENERS) + _join(rng, sentences).format(
        item=item,
        occasion=rng.choice(_OCCASIONS),
        size=rng.choice(_SIZES),
        inches=rng.randrange(0, 12),
        pounds=rng.randrange(100, 200, 5),
    )
    if rng.random() < 0.01:
        text = text.replace("'", "&#39;").replace('"', "&quot;")
    return text[0].upper() + text[1:]


def _join(rng: random.Random, sentences: list[str]) -> str:
    """Sentences joined by spaces, or as paragraphs with Windows or Unix line breaks."""
    draw = rng.random()
    if len(sentences) == 1 or draw >= 0.14:
        return " ".join(sentences)
    if draw < 0.06:
        return "\n".join(sentences)
    return (" \r\n\r\n" if draw < 0.08 else "\r\n").join(sentences)


def _mess_up(rng: random.Random, records: list[dict]) -> None:
    """Plant the source's rarer faults at fixed counts, so a drop of a few hundred rows or more
    has each of them."""
    rows = len(records)
    for row in rng.sample(range(rows), rows // 500):
        records[row].update(dict.fromkeys(("Division Name", "Department Name", "Class Name")))
    # Some texts are posted again under another product and title.
    for row in rng.sample(range(1, rows), rows // 300):
        source = records[rng.randrange(row)]
        if source[TEXT] is not None:
            records[row].update({key: source[key] for key in (TEXT, "Rating", LABEL)})
    # Exact duplicates are rows without title or text, repeated in every column but the index.
    for row in sorted(rng.sample(range(1, rows), rows // 400)):
        source = records[rng.randrange(row)]
        source[TITLE] = source[TEXT] = None
        records[row] = dict(source)


if __name__ == "__main__":
    sys.exit(main())
