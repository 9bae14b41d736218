"""`sentiment-predict`: score reviews with the production model, one JSON line per review."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from sentiment_assets import registry, settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Predict whether reviews recommend the product, with the production model."
    )
    parser.add_argument("texts", nargs="*", help="review texts")
    parser.add_argument("--file", help="a CSV with a 'Review Text' column (the Kaggle schema)")
    parser.add_argument("--model-uri", default=registry.PRODUCTION_URI)
    args = parser.parse_args(argv)
    if not args.texts and not args.file:
        parser.error("give review texts or --file")

    import pandas as pd

    from sentiment_assets.reviews import REVIEW_ID, TEXT, TITLE, ReviewFileError, read_reviews

    if args.file:
        try:
            reviews = read_reviews(args.file, require_label=False)
        except ReviewFileError as err:
            print(f"sentiment-predict: {err}", file=sys.stderr)
            return 2
        texts = reviews[TEXT].fillna("").astype(str).tolist()
        # The title is the strongest signal the challengers learned from: send it when there is one.
        titles = reviews[TITLE].tolist() if TITLE in reviews else [None] * len(texts)
        ids = reviews[REVIEW_ID].tolist()
    else:
        texts, titles, ids = list(args.texts), [None] * len(args.texts), [None] * len(args.texts)

    model = _load(args.model_uri)
    if model is None:
        print(
            f"sentiment-predict: no model at {args.model_uri} in {settings.tracking_uri()}; "
            "materialize production_model first (make run)",
            file=sys.stderr,
        )
        return 2
    frame = pd.DataFrame(
        {"review_text": texts, "title": [t if isinstance(t, str) else None for t in titles]}
    )
    predictions = model.predict(frame)
    for review_id, text, p, label in zip(
        ids, texts, predictions["probability"], predictions["label"], strict=True
    ):
        line = {
            "probability": round(float(p), 6),
            "label": int(label),
            "sentiment": "recommended" if label == 1 else "not recommended",
            "text": text,
        }
        if review_id is not None:
            line = {"review_id": review_id, **line}
        print(json.dumps(line))
    return 0


def _load(model_uri: str) -> Any:
    """The pyfunc at the URI, or None when the store or the model does not exist."""
    import logging

    import mlflow.pyfunc
    from mlflow.exceptions import MlflowException

    uri = settings.tracking_uri()
    # A local store that was never created has no model; do not create an empty one to find out.
    if uri.startswith("sqlite:///") and not Path(uri.removeprefix("sqlite:///")).exists():
        return None
    logging.getLogger("mlflow").setLevel(logging.WARNING)
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    try:
        return mlflow.pyfunc.load_model(model_uri)
    except MlflowException:
        return None


if __name__ == "__main__":
    sys.exit(main())
