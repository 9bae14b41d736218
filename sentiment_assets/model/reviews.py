"""The review-file schema and the one strict reader every stage uses.

Review drops are CSV exports in the Kaggle "Women's Clothing E-Commerce Reviews" schema: an
unnamed first column holding the original row index, quoted reviews with line breaks inside them,
and the 0/1 label `Recommended IND`.
"""

import csv
import io
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd

TEXT = "Review Text"
TITLE = "Title"
LABEL = "Recommended IND"
REVIEW_ID = "review_id"
REQUIRED_COLUMNS: tuple[str, ...] = (TEXT, LABEL)
KAGGLE_COLUMNS: tuple[str, ...] = (
    "Clothing ID",
    "Age",
    TITLE,
    TEXT,
    "Rating",
    LABEL,
    "Positive Feedback Count",
    "Division Name",
    "Department Name",
    "Class Name",
)

# Kaggle's numeric columns: whole numbers or empty, stored as nullable integers. Every other
# column is read as text, so no value can give a column two types (which storage refuses).
NUMERIC_COLUMNS: tuple[str, ...] = ("Clothing ID", "Age", "Rating", "Positive Feedback Count")

# pandas names a column with an empty header "Unnamed: <position>"; in the Kaggle export the
# first one is the original row index, which is what identifies a review.
_ID_COLUMNS = ("Unnamed: 0", REVIEW_ID)
# Error messages stay short whatever the file holds: a few examples, each cut to a few words.
_EXAMPLES = 5
_EXAMPLE_CHARS = 40
_MAX_PROBLEM_CHARS = 1500


class ReviewFileError(ValueError):
    """A review file that cannot be used; the message names the file and the problem."""

    def __init__(self, path: Path | str, problem: str) -> None:
        self.path = Path(path)
        if len(problem) > _MAX_PROBLEM_CHARS:
            problem = problem[: _MAX_PROBLEM_CHARS - 20] + " ... (message cut)"
        self.problem = problem
        super().__init__(f"{self.path.name}: {problem}")


class IncompleteFileError(ReviewFileError):
    """A file that looks unfinished (still being written, or cut short): `reason` says why."""

    def __init__(self, path: Path | str, reason: str) -> None:
        self.reason = reason
        super().__init__(path, f"the file is incomplete: {reason} (still being written?)")


def unfinished_tail(tail: bytes) -> str | None:
    """Why a file whose last byte is `tail` (empty for an empty file) is unfinished, or None.

    Every complete export ends its last record with a newline; this is the check a caller can make
    cheaply on the last byte alone, before reading the file (`parse_reviews` makes it too).
    """
    if not tail:
        return "it is empty"
    if not tail.endswith(b"\n"):
        return "it does not end with a newline"
    return None


def read_reviews(path: Path | str, *, require_label: bool = True) -> pd.DataFrame:
    """Read one review file strictly (see `parse_reviews`)."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ReviewFileError(path, "file not found") from None
    except IsADirectoryError:
        raise ReviewFileError(path, "is a folder, not a file") from None
    return parse_reviews(data, path, require_label=require_label)


def parse_reviews(data: bytes, path: Path | str, *, require_label: bool = True) -> pd.DataFrame:
    """Parse the bytes of one review drop strictly, so a broken or half-written file fails loudly
    instead of feeding shifted, truncated or mislabelled rows to training; `path` names it in errors.

    Returns `review_id` (the unnamed first column, or a first column named `review_id`, else the
    0-based row number) followed by the file's other columns under their own names, in file order:
    the label as 0/1, Kaggle's numeric columns as nullable integers, every other column as text.
    Only an empty field is missing: "NA" or "None" in a review are words. To score unlabelled
    reviews pass `require_label=False`: then only `Review Text` is required (a label column that
    is there is still checked). A file that looks unfinished raises `IncompleteFileError`.
    """
    path = Path(path)
    text = _decode(path, data)
    lines = _record_lines(path, text)
    frame = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False, na_values=[""])
    required = REQUIRED_COLUMNS if require_label else (TEXT,)
    missing = [column for column in required if column not in frame.columns]
    if missing:
        raise ReviewFileError(
            path,
            f"missing required column(s): {_quoted(missing)} "
            f"(the header has: {_quoted(frame.columns, limit=len(required) + _EXAMPLES)})",
        )
    if frame.empty:
        raise ReviewFileError(path, "the file has a header but no review rows")
    frame.insert(0, REVIEW_ID, _review_ids(path, frame, lines))
    if LABEL in frame.columns:
        frame[LABEL] = _labels(path, frame, lines)
    for column in NUMERIC_COLUMNS:
        if column in frame.columns:
            frame[column] = _whole_numbers(path, frame, column, lines)
    return frame


def _decode(path: Path, data: bytes) -> str:
    """The file as text, refusing files that are empty, not UTF-8 or not finished."""
    unfinished = unfinished_tail(data[-1:])
    if unfinished:
        # A file cut anywhere but after a record (mid-field, mid-row) does not end with a newline,
        # and pandas would return its last row cut short.
        raise IncompleteFileError(path, unfinished)
    if not data.strip():
        raise ReviewFileError(path, "the file is empty")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        line = data.count(b"\n", 0, err.start) + 1
        raise ReviewFileError(
            path,
            f"the file is not UTF-8 text: byte 0x{data[err.start]:02x} at byte offset "
            f"{err.start} (line {line}) is invalid; export it as UTF-8",
        ) from None
    if "\0" in text:
        # pandas silently ends a field at a NUL byte; a file preallocated and filled out of order
        # holds NUL bytes where nothing was written yet.
        raise IncompleteFileError(
            path,
            f"it has NUL bytes from byte offset {data.index(0)} (space not written yet, "
            "or not a CSV file)",
        )
    return text


def _record_lines(path: Path, text: str) -> list[int]:
    """The line each data record starts on, after checking every record has as many fields as the
    header: pandas pads a short record with missing values, so a lost comma would shift fields."""
    records = csv.reader(io.StringIO(text, newline=""), strict=True)
    width = None
    starts = []
    line = 0  # the last line the reader has consumed
    try:
        for record in records:
            start, line = line + 1, records.line_num
            if not record:
                continue  # a blank line, which pandas skips too
            if width is None:
                width = len(record)
            elif len(record) != width:
                raise ReviewFileError(
                    path,
                    f"cannot be parsed as CSV: the record on line {start} has {len(record)} "
                    f"fields but the header has {width}",
                )
            else:
                starts.append(start)
    except csv.Error as err:
        if str(err) == "unexpected end of data":  # the text ends inside a quoted field
            raise IncompleteFileError(
                path, f"it ends inside a quoted field of the record starting on line {line + 1}"
            ) from None
        raise ReviewFileError(
            path, f"cannot be parsed as CSV: {err} in the record starting on line {line + 1}"
        ) from None
    return starts


def _review_ids(path: Path, frame: pd.DataFrame, lines: list[int]) -> pd.Series:
    """Take the id column out of `frame` (or number the rows) and check the ids are unique."""
    if frame.columns[0] in _ID_COLUMNS:
        ids = pd.to_numeric(frame.pop(frame.columns[0]), errors="coerce")
        not_whole = ids.isna() | (ids % 1 != 0)
        if not_whole.any():
            raise ReviewFileError(
                path,
                "the first column holds the review ids, which must be whole numbers; "
                f"it does not on {_rows(not_whole, lines)}",
            )
        ids = ids.astype("int64")
    else:
        ids = pd.Series(range(len(frame)), dtype="int64")
    if REVIEW_ID in frame.columns:
        raise ReviewFileError(
            path, f"a column named {REVIEW_ID!r} must be the first column, where the ids are"
        )
    repeated = ids[ids.duplicated()].unique()
    if len(repeated):
        more = f" and {len(repeated) - _EXAMPLES} more" if len(repeated) > _EXAMPLES else ""
        raise ReviewFileError(
            path, f"duplicated {REVIEW_ID}(s): {', '.join(map(str, repeated[:_EXAMPLES]))}{more}"
        )
    return ids


def _labels(path: Path, frame: pd.DataFrame, lines: list[int]) -> pd.Series:
    """The label as 0/1 integers; anything else would silently become a third class or a NaN."""
    labels = frame[LABEL]
    bad = ~labels.isin(["0", "1"])
    if bad.any():
        raise ReviewFileError(
            path, _unexpected(f"{LABEL} must be 0 or 1", frame, bad, LABEL, lines)
        )
    return labels.astype("int64")


def _whole_numbers(path: Path, frame: pd.DataFrame, column: str, lines: list[int]) -> pd.Series:
    """A numeric Kaggle column as nullable integers; any other text is an error naming the rows."""
    text = frame[column]
    numbers = pd.to_numeric(text.str.strip(), errors="coerce")
    bad = text.notna() & (numbers.isna() | (numbers % 1 != 0) | (numbers.abs() >= 2**53))
    if bad.any():
        raise ReviewFileError(
            path, _unexpected(f"{column!r} must hold whole numbers", frame, bad, column, lines)
        )
    return numbers.astype("Int64")


def _unexpected(
    rule: str, frame: pd.DataFrame, bad: pd.Series, column: str, lines: list[int]
) -> str:
    """`rule`, how many rows break it, the commonest few values (each cut short) and the first rows."""
    found = frame.loc[bad, column].map(_example, na_action="ignore").fillna("empty").value_counts()
    values = ", ".join(f"{value} ({count}x)" for value, count in found.head(_EXAMPLES).items())
    if len(found) > _EXAMPLES:
        values = f"{len(found)} distinct values, the commonest {values}"
    return (
        f"{rule}: {int(bad.sum())} of {len(frame)} rows hold something else ({values}): "
        f"{_rows(bad, lines, frame[REVIEW_ID])}"
    )


def _example(value: str) -> str:
    """A value as it appears in an error message: quoted, and cut short when long."""
    return repr(value if len(value) <= _EXAMPLE_CHARS else value[:_EXAMPLE_CHARS] + "...")


def _rows(bad: pd.Series | np.ndarray, lines: list[int], ids: pd.Series | None = None) -> str:
    """The first few offending rows, by review id when it is known and by the line they start on."""
    rows = np.flatnonzero(bad)
    shown = [
        f"line {lines[row]}" if ids is None else f"{REVIEW_ID} {ids.iloc[row]} (line {lines[row]})"
        for row in rows[:_EXAMPLES]
    ]
    more = f" and {len(rows) - _EXAMPLES} more" if len(rows) > _EXAMPLES else ""
    return ", ".join(shown) + more


def _quoted(names: Iterable[str], limit: int | None = None) -> str:
    """Names quoted and comma-separated; with `limit`, the first few (each cut short) and a count."""
    names = list(names)
    if limit is None or len(names) <= limit:
        return ", ".join(map(repr, names))
    return ", ".join(map(_example, names[:limit])) + f" and {len(names) - limit} more"


MAX_NULL_TEXT_SHARE = 0.2


def validation_problems(reviews: pd.DataFrame) -> list[str]:
    """What makes parsed reviews unfit for training; empty when they are fit.

    Required columns, labels 0 or 1, unique review ids, and at most 20 % of reviews without text
    (the real drops have 3.5-3.7 %; far more means a broken export). `parse_reviews` already
    refuses most of this while reading; this is also the check run on every stored drop.
    """
    missing = [column for column in (REVIEW_ID, *REQUIRED_COLUMNS) if column not in reviews]
    if missing:
        return [f"missing column(s): {_quoted(missing)}"]
    if reviews.empty:
        return ["no review rows"]
    problems = []
    not_binary = int((~reviews[LABEL].isin([0, 1])).sum())
    if not_binary:
        problems.append(f"{not_binary} {LABEL} value(s) other than 0 or 1")
    repeated = int(reviews[REVIEW_ID].duplicated().sum())
    if repeated:
        problems.append(f"{repeated} repeated {REVIEW_ID}(s)")
    share = float(reviews[TEXT].isna().mean())
    if share > MAX_NULL_TEXT_SHARE:
        problems.append(
            f"{share:.0%} of reviews have no text (more than {MAX_NULL_TEXT_SHARE:.0%})"
        )
    return problems
