"""The checks on parsed review columns: unique whole-number ids, 0/1 labels, Kaggle's numbers as
integers; and the check every stored drop passes (`validation_problems`)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from .review_schema import (
    EXAMPLES,
    LABEL,
    NUMERIC_COLUMNS,
    REQUIRED_COLUMNS,
    REVIEW_ID,
    TEXT,
    ReviewFileError,
    example,
    quoted,
    rows_text,
)

# pandas names a column with an empty header "Unnamed: <position>"; in the Kaggle export the
# first one is the original row index, which is what identifies a review.
_ID_COLUMNS = ("Unnamed: 0", REVIEW_ID)
MAX_NULL_TEXT_SHARE = 0.2


class UniqueIds:
    """The review ids read so far from one file and the lines they are on (16 bytes an id, sorted
    by id), to refuse a repeated one however far apart the two are, naming both lines."""

    def __init__(self) -> None:
        self._seen = np.empty(0, dtype=np.int64)
        self._lines = np.empty(0, dtype=np.int64)
        # The file's id column, chosen on its first chunk and held for the others (`_id_column`).
        self.column: str | None = None
        self.column_chosen = False

    def add(self, path: Path, ids: pd.Series, lines: list[int]) -> None:
        values = ids.to_numpy(dtype=np.int64)
        at = np.asarray(lines, dtype=np.int64)
        position = np.searchsorted(self._seen, values)
        earlier = position < len(self._seen)
        earlier[earlier] = self._seen[position[earlier]] == values[earlier]
        repeated = pd.unique(values[ids.duplicated(keep=False).to_numpy() | earlier])
        if len(repeated):
            more = f" and {len(repeated) - EXAMPLES} more" if len(repeated) > EXAMPLES else ""
            shown = ", ".join(self._where(value, values, at) for value in repeated[:EXAMPLES])
            raise ReviewFileError(path, f"duplicated {REVIEW_ID}(s): {shown}{more}")
        # Two sorted runs: the stable sort merges them in linear time.
        order = np.argsort(np.concatenate([self._seen, values]), kind="stable")
        self._seen = np.concatenate([self._seen, values])[order]
        self._lines = np.concatenate([self._lines, at])[order]

    def _where(self, value: int, values: np.ndarray, lines: np.ndarray) -> str:
        """`value` and every line it is on, earlier chunks' first."""
        start, end = np.searchsorted(self._seen, [value, value + 1])
        found = [*self._lines[start:end].tolist(), *lines[values == value].tolist()]
        return f"{value} (lines {', '.join(map(str, found))})"


def checked_columns(
    path: Path,
    frame: pd.DataFrame,
    lines: list[int],
    *,
    first_row: int,
    seen: UniqueIds,
    whole_file: bool,
) -> pd.DataFrame:
    """`frame` (text as read, rows starting on `lines`) with `review_id` first, the label as 0/1
    and Kaggle's numeric columns as nullable integers; `first_row` numbers rows without an id
    column, `seen` holds the ids of the file's earlier rows. Raises `ReviewFileError` naming the rows
    that break a rule."""
    frame.insert(0, REVIEW_ID, _review_ids(path, frame, lines, first_row, seen))
    scope = (
        f"{len(frame)} rows"
        if whole_file
        else (f"the {len(frame)} rows starting on lines {lines[0]}-{lines[-1]}")
    )
    if LABEL in frame.columns:
        bad = ~frame[LABEL].isin(["0", "1"])
        if bad.any():
            rule = f"{LABEL} must be 0 or 1"
            raise ReviewFileError(path, _unexpected(rule, frame, bad, LABEL, lines, scope))
        # Anything else would silently have become a third class or a NaN.
        frame[LABEL] = frame[LABEL].astype("int64")
    for column in NUMERIC_COLUMNS:
        if column in frame.columns:
            frame[column] = _whole_numbers(path, frame, column, lines, scope)
    return frame


def _review_ids(
    path: Path, frame: pd.DataFrame, lines: list[int], first_row: int, seen: UniqueIds
) -> pd.Series:
    """Take the id column out of `frame` (or number the rows) and check the ids are unique."""
    if not seen.column_chosen:
        seen.column, seen.column_chosen = _id_column(path, frame), True
    if (column := seen.column) is not None:
        where = "the first column" if column == frame.columns[0] else _unnamed(column)
        found = pd.to_numeric(frame.pop(column), errors="coerce")
        # From 2^53 on, ids read as floats lose digits (two become one) or wrap as int64.
        not_whole = found.isna() | (found % 1 != 0) | (found >= 2**53) | (found <= -(2**53))
        if not_whole.any():
            raise ReviewFileError(
                path,
                f"{where} holds the review ids, which must be whole numbers below 2^53; "
                f"it does not on {rows_text(not_whole, lines)}",
            )
        found = found.astype("int64")
    else:
        found = pd.Series(range(first_row, first_row + len(frame)), dtype="int64")
    if REVIEW_ID in frame.columns:
        raise ReviewFileError(
            path, f"a column named {REVIEW_ID!r} must be the first column, where the ids are"
        )
    seen.add(path, found, lines)
    return found


def _id_column(path: Path, frame: pd.DataFrame) -> str | None:
    """The column of review ids, chosen on the file's first chunk (`frame`) and held for the
    others: the first when it has no name (Kaggle's export) or is named `review_id`; else the one
    column without a name whose first row holds a whole number, wherever it stands (the export
    with its columns reordered: numbering the rows instead lost the retailer's ids). The first row
    alone decides, so a file read whole (a drop) and 2,000 rows at a time (`sentiment-predict`)
    decide alike; a column without a name that starts otherwise (empty: a trailing comma; a note)
    stays a column. None when there is no id column: the rows are numbered."""
    first = frame.columns[0]
    if first in _ID_COLUMNS:
        return first
    ids = [c for c in frame.columns if _UNNAMED.fullmatch(c) and _whole(frame[c].iloc[:1])]
    if len(ids) > 1:
        raise ReviewFileError(
            path,
            f"columns {_and([str(_position(c)) for c in ids])} have no name and start with a "
            "whole number: only one may, the review ids (the export's first column); name the "
            "others",
        )
    return ids[0] if ids else None


def _whole(values: pd.Series) -> bool:
    numbers = pd.to_numeric(values, errors="coerce")
    return bool(len(values)) and bool((numbers.notna() & (numbers % 1 == 0)).all())


def _unnamed(column: str) -> str:
    """A column pandas named for its empty header, as a person counts columns."""
    return f"column {_position(column)} (its header is empty)"


def _position(column: str) -> int:
    return int(column.split(": ")[1]) + 1


def _and(items: list[str]) -> str:
    return ", ".join(items[:-1]) + f" and {items[-1]}"


_UNNAMED = re.compile(r"Unnamed: \d+")


def _whole_numbers(
    path: Path, frame: pd.DataFrame, column: str, lines: list[int], scope: str
) -> pd.Series:
    """A numeric Kaggle column as nullable integers; any other text is an error naming the rows."""
    text = frame[column]
    numbers = pd.to_numeric(text.str.strip(), errors="coerce")
    bad = text.notna() & (numbers.isna() | (numbers % 1 != 0) | (numbers.abs() >= 2**53))
    if bad.any():
        rule = f"{column!r} must hold whole numbers"
        raise ReviewFileError(path, _unexpected(rule, frame, bad, column, lines, scope))
    return numbers.astype("Int64")


def _unexpected(
    rule: str, frame: pd.DataFrame, bad: pd.Series, column: str, lines: list[int], scope: str
) -> str:
    """`rule`, how many rows break it, the commonest few values (each cut short) and the first rows."""
    found = frame.loc[bad, column].map(example, na_action="ignore").fillna("empty").value_counts()
    values = ", ".join(f"{value} ({count}x)" for value, count in found.head(EXAMPLES).items())
    if len(found) > EXAMPLES:
        values = f"{len(found)} distinct values, the commonest {values}"
    return (
        f"{rule}: {int(bad.sum())} of {scope} hold something else ({values}): "
        f"{rows_text(bad, lines, frame[REVIEW_ID])}"
    )


def has_text(texts: pd.Series) -> pd.Series:
    """Which reviews have text: not missing, and not blank (a field of spaces is no review)."""
    return texts.notna() & (texts.astype("string").str.strip() != "")


def validation_problems(reviews: pd.DataFrame) -> list[str]:
    """What makes parsed reviews unfit for training; empty when they are fit.

    Required columns, labels 0 or 1, unique review ids, and at most 20 % of reviews without text,
    missing or blank (the real drops have 3.5-3.7 %; far more means a broken export). The reader
    already refuses most of this while reading; this is also the check run on every stored drop.
    """
    missing = [column for column in (REVIEW_ID, *REQUIRED_COLUMNS) if column not in reviews]
    if missing:
        return [f"missing column(s): {quoted(missing)}"]
    if reviews.empty:
        return ["no review rows"]
    problems = []
    not_binary = int((~reviews[LABEL].isin([0, 1])).sum())
    if not_binary:
        problems.append(f"{not_binary} {LABEL} value(s) other than 0 or 1")
    repeated = int(reviews[REVIEW_ID].duplicated().sum())
    if repeated:
        problems.append(f"{repeated} repeated {REVIEW_ID}(s)")
    share = float((~has_text(reviews[TEXT])).mean())
    if share > MAX_NULL_TEXT_SHARE:
        problems.append(
            f"{share:.0%} of reviews have no text (more than {MAX_NULL_TEXT_SHARE:.0%})"
        )
    return problems
