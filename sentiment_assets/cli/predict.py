"""`sentiment-predict`: score reviews with the production model, as JSON lines or CSV.

Texts come from the command line or, with `--file`, from a CSV in the Kaggle schema, read and
scored chunk by chunk, so a file of any size is scored in bounded memory.
"""

from __future__ import annotations

import argparse
import csv
import json
import logging
import os
import sys
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from itertools import chain
from pathlib import Path
from typing import Any, TextIO

from sentiment_assets.lib import settings
from sentiment_assets.lib.store_faults import describe
from sentiment_assets.lib.tracking import NOT_FOUND_CODES, PRODUCTION_URI, MlflowStore

CHUNK_ROWS = 2_000
_SHOWN = 5  # review ids named in the line about reviews without text


class NoModel(Exception):
    """No model could be loaded; the reason has been printed, and `exit_code` says which kind."""

    def __init__(self, exit_code: int) -> None:
        self.exit_code = exit_code
        super().__init__(exit_code)


@dataclass
class Batch:
    """Reviews to score together: their texts, titles and, from a file, their review ids."""

    texts: list[str]
    titles: list[str | None]
    ids: list[int] | None = None


@dataclass
class Skipped:
    """Reviews of a file without text: how many, and the first few ids."""

    count: int = 0
    shown: list[int] = field(default_factory=list)

    def report(self) -> None:
        if self.count:
            more = ", ..." if self.count > len(self.shown) else ""
            print(
                f"sentiment-predict: {self.count} review(s) without text skipped "
                f"(review_id {', '.join(map(str, self.shown))}{more})",
                file=sys.stderr,
            )


def main(argv: list[str] | None = None) -> int:
    args = _arguments(argv)
    logging.basicConfig(format="sentiment-predict: %(message)s", level=logging.WARNING)
    from sentiment_assets.model.reviews import ReviewFileError

    skipped = Skipped()
    try:
        with ExitStack() as stack:
            if args.file:
                batches = _file_batches(args.file, args.chunk_size, skipped, stack)
            else:
                batches = iter([Batch(list(args.texts), [None] * len(args.texts))])
            # A file's header and first chunk are checked before the model is loaded.
            first = next(batches, None)
            model = _load_reporting(args.model_uri)
            with _destination(args.output) as out:
                write = _writer(out, args.format, from_file=bool(args.file))
                for batch in chain([first] if first else [], batches):
                    write(batch, _predict(model, batch))
    except ReviewFileError as err:
        print(f"sentiment-predict: {err}", file=sys.stderr)
        return 2
    except NoModel as refusal:
        return refusal.exit_code
    except BrokenPipeError:
        # The reader went away (`| head`): nothing more to say, and nobody to say it to.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    skipped.report()
    return 0


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="sentiment-predict",
        description="Predict whether reviews recommend the product, with the production model.",
    )
    parser.add_argument("texts", nargs="*", help="review texts")
    parser.add_argument("--file", help="a CSV with a 'Review Text' column (the Kaggle schema)")
    parser.add_argument(
        "--format",
        choices=("jsonl", "csv"),
        default="jsonl",
        help="JSON lines (default), or CSV: the review id (the text for texts given here), "
        "probability, label and sentiment",
    )
    parser.add_argument(
        "--output", help="write the predictions here, whole or not at all (default: stdout)"
    )
    parser.add_argument(
        "--chunk-size",
        type=int,
        default=CHUNK_ROWS,
        help=f"reviews of a file read and scored at a time (default {CHUNK_ROWS:,})",
    )
    parser.add_argument("--model-uri", default=PRODUCTION_URI)
    args = parser.parse_args(argv)
    if bool(args.texts) == bool(args.file):
        parser.error("give review texts or --file, not both")
    if args.chunk_size < 1:
        parser.error("--chunk-size must be at least 1")
    if args.output and not Path(args.output).resolve().parent.is_dir():
        parser.error(f"--output {args.output}: there is no such folder")
    blank = [i + 1 for i, text in enumerate(args.texts) if not text.strip()]
    if blank:
        parser.error(f"review {', '.join(map(str, blank))} is blank: there is nothing to score")
    return args


def _file_batches(path: str, rows: int, skipped: Skipped, stack: ExitStack) -> Iterator[Batch]:
    """The file's reviews with text, chunk by chunk (those without are counted in `skipped`),
    with a progress bar on a terminal."""
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    from sentiment_assets.model.reviews import REVIEW_ID, TEXT, TITLE, open_reviews, review_chunks

    stream = stack.enter_context(open_reviews(path))
    console = Console(stderr=True)
    progress = stack.enter_context(
        Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.percentage:>3.0f}%"),
            TimeRemainingColumn(),
            console=console,
            disable=not console.is_terminal,
        )
    )
    task = progress.add_task(
        f"{Path(path).name}: 0 reviews", total=os.fstat(stream.fileno()).st_size
    )
    read = 0
    for chunk in review_chunks(stream, path, rows=rows, require_label=False):
        read += len(chunk)
        progress.update(
            task, completed=stream.tell(), description=f"{Path(path).name}: {read:,} reviews"
        )
        blank = chunk[TEXT].isna() | (chunk[TEXT].str.strip() == "")
        if blank.any():
            skipped.count += int(blank.sum())
            skipped.shown += chunk.loc[blank, REVIEW_ID].head(_SHOWN - len(skipped.shown)).tolist()
            chunk = chunk[~blank]
        if len(chunk):
            titles = chunk[TITLE].tolist() if TITLE in chunk else [None] * len(chunk)
            yield Batch(
                texts=chunk[TEXT].tolist(),
                # The title is the strongest signal the challengers learned from: send it.
                titles=[t if isinstance(t, str) else None for t in titles],
                ids=chunk[REVIEW_ID].tolist(),
            )


def _predict(model: Any, batch: Batch) -> Any:
    import pandas as pd

    from sentiment_assets.model import predictions as p

    return model.predict(pd.DataFrame({p.TEXT_COLUMN: batch.texts, p.TITLE_COLUMN: batch.titles}))


def _writer(out: TextIO, form: str, *, from_file: bool) -> Any:
    """A function writing a batch's predictions to `out` as JSON lines or CSV rows."""
    from sentiment_assets.model import predictions as p

    key = "review_id" if from_file else "text"
    rows = csv.writer(out) if form == "csv" else None
    if rows is not None:
        rows.writerow([key, "probability", "label", "sentiment"])

    def write(batch: Batch, predictions: Any) -> None:
        keys = batch.ids if batch.ids is not None else batch.texts
        for key_value, text, probability, label in zip(
            keys,
            batch.texts,
            predictions[p.PROBABILITY_COLUMN].tolist(),
            predictions[p.LABEL_COLUMN].tolist(),
            strict=True,
        ):
            sentiment = "recommended" if label == 1 else "not recommended"
            probability = round(probability, 6)
            if rows is not None:
                rows.writerow([key_value, probability, label, sentiment])
                continue
            line = {
                "probability": probability,
                "label": label,
                "sentiment": sentiment,
                "text": text,
            }
            if batch.ids is not None:
                line = {"review_id": key_value, **line}
            out.write(json.dumps(line) + "\n")

    return write


@contextmanager
def _destination(output: str | None) -> Iterator[TextIO]:
    """Standard output, or a temporary file beside `output` renamed to it once everything is
    written and on disk: a failure or an interruption leaves `output` as it was."""
    if output is None:
        yield sys.stdout
        return
    target = Path(output)
    handle, temporary = tempfile.mkstemp(
        prefix=f".{target.name}.", suffix=".tmp", dir=target.parent
    )
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as out:
            yield out
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _load_reporting(model_uri: str) -> Any:
    """The model; else `NoModel` after saying on stderr why there is none: exit code 2 when the
    store has no such model, 1 when the store failed."""
    store = MlflowStore.default()
    where = settings.redacted(store.uri)
    try:
        model = _load(store, model_uri)
    except Exception as err:
        # One line, not a traceback: MLflow's messages name the tracking URI, credentials included.
        problem = settings.without_credentials(describe(err), store.uri)
        print(
            f"sentiment-predict: could not load {model_uri} from the MLflow store at "
            f"{where}: {problem}",
            file=sys.stderr,
        )
        raise NoModel(1) from err
    if model is None:
        print(
            f"sentiment-predict: no model at {model_uri} in {where}; "
            "materialize production_model first (make run)",
            file=sys.stderr,
        )
        raise NoModel(2)
    return model


def _load(store: MlflowStore, model_uri: str) -> Any:
    """The pyfunc at the URI, or None when the store or the model does not exist; any other
    failure raises."""
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
