"""`sentiment-predict`: score reviews with the production model, one JSON line per review."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from sentiment_assets.lib import settings
from sentiment_assets.lib.store_faults import describe
from sentiment_assets.lib.tracking import NOT_FOUND_CODES, PRODUCTION_URI, MlflowStore


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Predict whether reviews recommend the product, with the production model."
    )
    parser.add_argument("texts", nargs="*", help="review texts")
    parser.add_argument("--file", help="a CSV with a 'Review Text' column (the Kaggle schema)")
    parser.add_argument("--model-uri", default=PRODUCTION_URI)
    args = parser.parse_args(argv)
    if not args.texts and not args.file:
        parser.error("give review texts or --file")

    import pandas as pd

    from sentiment_assets.model import predictions as p
    from sentiment_assets.model.reviews import REVIEW_ID, TEXT, TITLE, ReviewFileError, read_reviews

    if args.file:
        try:
            reviews = read_reviews(args.file, require_label=False)
        except ReviewFileError as err:
            print(f"sentiment-predict: {err}", file=sys.stderr)
            return 2
        blank = reviews[TEXT].isna() | (reviews[TEXT].astype("string").str.strip() == "")
        if blank.any():
            shown = ", ".join(map(str, reviews.loc[blank, REVIEW_ID].head(5)))
            print(
                f"sentiment-predict: {int(blank.sum())} review(s) without text skipped "
                f"(review_id {shown}{', ...' if blank.sum() > 5 else ''})",
                file=sys.stderr,
            )
            reviews = reviews[~blank]
        texts = reviews[TEXT].astype(str).tolist()
        # The title is the strongest signal the challengers learned from: send it when there is one.
        titles = reviews[TITLE].tolist() if TITLE in reviews else [None] * len(texts)
        ids = reviews[REVIEW_ID].tolist()
    else:
        texts, titles, ids = list(args.texts), [None] * len(args.texts), [None] * len(args.texts)
        blank = [i + 1 for i, text in enumerate(texts) if not text.strip()]
        if blank:
            parser.error(f"review {', '.join(map(str, blank))} is blank: there is nothing to score")

    store = MlflowStore.default()
    where = settings.redacted(store.uri)
    try:
        model = _load(store, args.model_uri)
    except Exception as err:
        # One line, not a traceback: MLflow's messages name the tracking URI, credentials included.
        problem = settings.without_credentials(describe(err), store.uri)
        print(
            f"sentiment-predict: could not load {args.model_uri} from the MLflow store at "
            f"{where}: {problem}",
            file=sys.stderr,
        )
        return 1
    if model is None:
        print(
            f"sentiment-predict: no model at {args.model_uri} in {where}; "
            "materialize production_model first (make run)",
            file=sys.stderr,
        )
        return 2
    frame = pd.DataFrame(
        {
            p.TEXT_COLUMN: texts,
            p.TITLE_COLUMN: [t if isinstance(t, str) else None for t in titles],
        }
    )
    predictions = model.predict(frame)
    for review_id, text, probability, label in zip(
        ids, texts, predictions[p.PROBABILITY_COLUMN], predictions[p.LABEL_COLUMN], strict=True
    ):
        line = {
            "probability": round(float(probability), 6),
            "label": int(label),
            "sentiment": "recommended" if label == 1 else "not recommended",
            "text": text,
        }
        if review_id is not None:
            line = {"review_id": review_id, **line}
        print(json.dumps(line))
    return 0


def _load(store: MlflowStore, model_uri: str) -> Any:
    """The pyfunc at the URI, or None when the store or the model does not exist; any other
    failure raises."""
    import logging

    from mlflow.exceptions import MlflowException

    # A local store that was never created has no model; do not create an empty one to find out.
    db = settings.sqlite_path(store.uri)
    if db is not None and not db.exists():
        return None
    logging.getLogger("mlflow").setLevel(logging.WARNING)
    try:
        return store.load_model(model_uri)
    except MlflowException as err:
        if err.error_code in NOT_FOUND_CODES:
            return None
        raise


if __name__ == "__main__":
    sys.exit(main())
