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
import sqlite3
import sys
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from enum import IntEnum
from itertools import chain
from pathlib import Path
from typing import Any, NoReturn, TextIO

from sentiment_assets.cli import finish
from sentiment_assets.lib import settings
from sentiment_assets.lib.store_faults import ModelNotFound, describe, is_mlflow_failure
from sentiment_assets.lib.tracking import PRODUCTION_URI, MlflowStore

CHUNK_ROWS = 2_000
_SHOWN = 5  # review ids named in the line about reviews without text


class Exit(IntEnum):
    """What the exit code tells a script; 1 is left to Python's own (an unforeseen error)."""

    OK = 0
    BAD_INPUT = 2  # argparse's own code for a usage error
    NO_MODEL = 3
    STORE_FAILED = 4  # worth a retry: the store was locked, full or unreachable
    INTERRUPTED = 130  # Ctrl-C, as shells report a process SIGINT stopped


EXIT_CODES = """exit codes: 0 scored; 2 bad input (arguments, a review, the file, the model URI);
3 no model at the URI; 4 the MLflow store failed (locked, full, unreachable, an error reply);
130 interrupted (Ctrl-C)"""


class WriteFailed(Exception):
    """Scoring stopped on an OS error (its cause): writing --output (no room, no permission),
    or reading the file mid-way."""


class NoModel(Exception):
    """No model could be loaded; the reason has been printed, and `exit_code` says which kind."""

    def __init__(self, exit_code: Exit) -> None:
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
                f"sentiment-predict: {self.count} review(s) without text (or with no letter a-z "
                "or digit in text and title) skipped "
                f"(review_id {', '.join(map(str, self.shown))}{more})",
                file=sys.stderr,
            )


def main(argv: list[str] | None = None) -> int:
    try:
        args = _arguments(argv)  # imports MLflow to check --model-uri: seconds for a Ctrl-C
    except KeyboardInterrupt:
        print("sentiment-predict: interrupted before anything was read or written", file=sys.stderr)
        return Exit.INTERRUPTED
    logging.basicConfig(format="sentiment-predict: %(message)s", level=logging.WARNING)
    # urllib3 warns at each of MLflow's retries of an unreachable tracking server (7 lines before
    # the one that says so); what failed is said once, at the end (`_load_reporting`).
    logging.getLogger("urllib3").setLevel(logging.ERROR)
    from sentiment_assets.model.reviews import ReviewFileError

    skipped = Skipped()
    # What a failure or Ctrl-C says of --output (`written_whole` leaves it as it was).
    kept = f"; --output {args.output} is as it was" if args.output else ""
    try:
        with ExitStack() as stack:
            if args.file:
                batches = _file_batches(args.file, args.chunk_size, skipped, stack)
            else:
                batches = iter([Batch(list(args.texts), [None] * len(args.texts))])
            # A file's header and first chunk are checked before the model is loaded.
            first = next(batches, None)
            model = _load_reporting(args.model_uri)
            try:
                with _destination(args.output) as out:
                    write = _writer(out, args.format, from_file=bool(args.file))
                    scored = 0
                    for batch in chain([first] if first else [], batches):
                        write(batch, _predict(model, batch))
                        scored += len(batch.texts)
                    if args.file and not scored and skipped.count:
                        raise ReviewFileError(
                            args.file,
                            f"none of its {skipped.count} review(s) has text the model reads; "
                            "nothing scored",
                        )
            except BrokenPipeError:
                raise
            except OSError as err:  # no room or no permission for --output, a failing read
                raise WriteFailed(err) from err
    except ReviewFileError as err:
        print(f"sentiment-predict: {err}", file=sys.stderr)
        return Exit.BAD_INPUT
    except NoModel as refusal:
        return refusal.exit_code
    except BrokenPipeError:
        # The reader went away (`| head`): nothing more to say, and nobody to say it to.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except WriteFailed as failed:
        err = failed.__cause__
        where = f"{err.filename}: " if err.filename else ""
        print(f"sentiment-predict: {where}{err.strerror or err}{kept}", file=sys.stderr)
        return Exit.BAD_INPUT
    except KeyboardInterrupt:
        print(f"sentiment-predict: interrupted{kept}", file=sys.stderr)
        return Exit.INTERRUPTED
    skipped.report()
    return Exit.OK


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="sentiment-predict",
        description="Predict whether reviews recommend the product, with the production model.",
        epilog=EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
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
    parser.add_argument(
        "--model-uri",
        default=PRODUCTION_URI,
        help=f"the MLflow model to score with (default {PRODUCTION_URI}: the production alias)",
    )
    args = parser.parse_args(argv)
    if args.texts and args.file:
        parser.error("give review texts or --file, not both")
    if not args.texts and not args.file:
        parser.error("give review texts or --file (the model scores what it is given)")
    if args.chunk_size < 1:
        parser.error("--chunk-size must be at least 1")
    if args.output:
        output = Path(args.output).resolve()
        if not output.parent.is_dir():
            parser.error(f"--output {args.output}: there is no such folder")
        if output.is_dir():
            parser.error(f"--output {args.output}: is a folder; name a file")
        if args.file and output == Path(args.file).resolve():
            parser.error(f"--output {args.output}: is the --file being read")
    blank = [i + 1 for i, text in enumerate(args.texts) if not text.strip()]
    if blank:
        parser.error(f"review {', '.join(map(str, blank))} is blank: there is nothing to score")
    if args.texts:
        from sentiment_assets.model.stems import readable

        read = readable(args.texts, [None] * len(args.texts))
        unread = [i + 1 for i, ok in enumerate(read) if not ok]
        if unread:
            parser.error(
                f"review {', '.join(map(str, unread))} holds no letter (a-z) or digit: the model "
                "reads none of it (another script, emoji or punctuation alone)"
            )
    if problem := _model_uri_problem(args.model_uri):
        parser.error(f"--model-uri {args.model_uri}: {problem}")
    return args


def _model_uri_problem(uri: str) -> str | None:
    """Why a `models:/` URI is malformed, in MLflow's words (MLflow reports it as an internal
    error, which would read as a failing store); None for a well-formed or another kind of URI."""
    if not uri.strip():
        return "is empty"
    if not uri.startswith("models:"):
        return None  # runs:/, a folder ...: only MLflow can tell, and says "not found"
    from mlflow.exceptions import MlflowException
    from mlflow.store.artifact.utils.models import _parse_model_uri

    try:
        _parse_model_uri(uri)
    except MlflowException as err:
        return err.message.split(". ", 1)[-1]
    return None


def _file_batches(path: str, rows: int, skipped: Skipped, stack: ExitStack) -> Iterator[Batch]:
    """The file's reviews with text the model reads, chunk by chunk (the others are counted in
    `skipped`), with a progress bar on a terminal."""
    import pandas as pd
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    from sentiment_assets.model.reviews import (
        REVIEW_ID,
        TEXT,
        TITLE,
        has_text,
        open_reviews,
        review_chunks,
    )
    from sentiment_assets.model.stems import readable

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
            # Left alone: rich would swap sys.stdout for its console (stderr) while the bar is
            # shown, and the predictions meant for stdout (`> file`, a pipe) would go there.
            redirect_stdout=False,
            redirect_stderr=False,
        )
    )
    task = progress.add_task(
        f"{Path(path).name}: 0 reviews", total=os.fstat(stream.fileno()).st_size
    )
    read = 0
    for chunk in review_chunks(stream, path, rows=rows, require_label=False, complete=True):
        read += len(chunk)
        progress.update(
            task, completed=stream.tell(), description=f"{Path(path).name}: {read:,} reviews"
        )
        titles = chunk[TITLE] if TITLE in chunk else pd.Series(None, index=chunk.index)
        blank = ~(has_text(chunk[TEXT]) & readable(chunk[TEXT], titles))
        if blank.any():
            skipped.count += int(blank.sum())
            skipped.shown += chunk.loc[blank, REVIEW_ID].head(_SHOWN - len(skipped.shown)).tolist()
            chunk = chunk[~blank]
        if len(chunk):
            titles = titles[~blank].tolist()
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
        rows.writerow([key, p.PROBABILITY_COLUMN, p.LABEL_COLUMN, p.SENTIMENT_COLUMN])

    def write(batch: Batch, predictions: Any) -> None:
        keys = batch.ids if batch.ids is not None else batch.texts
        for key_value, text, probability, label in zip(
            keys,
            batch.texts,
            predictions[p.PROBABILITY_COLUMN].tolist(),
            predictions[p.LABEL_COLUMN].tolist(),
            strict=True,
        ):
            sentiment = p.SENTIMENTS[label]
            probability = round(probability, 6)
            if rows is not None:
                rows.writerow([key_value, probability, label, sentiment])
                continue
            line = {
                p.PROBABILITY_COLUMN: probability,
                p.LABEL_COLUMN: label,
                p.SENTIMENT_COLUMN: sentiment,
                "text": text,
            }
            if batch.ids is not None:
                line = {"review_id": key_value, **line}
            out.write(json.dumps(line) + "\n")

    return write


@contextmanager
def _destination(output: str | None) -> Iterator[TextIO]:
    """Standard output, or `output` written whole (`written_whole`): a failure or an
    interruption leaves it as it was."""
    if output is None:
        yield sys.stdout
        return
    from sentiment_assets.lib.storage.files import written_whole

    with written_whole(Path(output)) as out:
        yield out


def _load_reporting(model_uri: str) -> Any:
    """The model; else `NoModel` after saying on stderr why there is none: the store holds no
    such model, or the store failed. Anything else (the model's own code failing) is raised."""
    store = MlflowStore.default()
    where = settings.redacted(store.uri)
    logging.getLogger("mlflow").setLevel(logging.WARNING)
    try:
        return store.load_model(model_uri)
    except ModelNotFound as err:
        problem = settings.without_credentials(str(err), store.uri)
        # Training makes a production model; no run makes a version or alias someone mistyped.
        hint = (
            store.no_production_hint()
            if model_uri == PRODUCTION_URI
            else "the MLflow UI (make mlflow-ui) lists the registered models' versions and aliases"
        )
        print(
            f"sentiment-predict: no model at {model_uri} in the MLflow store at {where} "
            f"({problem}); {hint}",
            file=sys.stderr,
        )
        raise NoModel(Exit.NO_MODEL) from err
    except Exception as err:
        # A locked SQLite store surfaces as sqlite3's own error when the alias is read directly.
        if not (is_mlflow_failure(err) or isinstance(err, sqlite3.Error)):
            raise
        # One line, not a traceback: MLflow's messages name the tracking URI, credentials included.
        problem = settings.without_credentials(describe(err), store.uri)
        print(
            f"sentiment-predict: could not load {model_uri}: the MLflow store at {where} "
            f"failed: {problem}",
            file=sys.stderr,
        )
        raise NoModel(Exit.STORE_FAILED) from err


def cli() -> NoReturn:
    """The `sentiment-predict` command."""
    finish(main())


if __name__ == "__main__":
    cli()
