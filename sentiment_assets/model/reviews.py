"""The one strict reader of review files every stage uses, for a whole file or chunk by chunk.

Review drops are CSV exports in the Kaggle "Women's Clothing E-Commerce Reviews" schema
(`review_schema`): an unnamed first column holding the original row index, quoted reviews with
line breaks inside them, and the 0/1 label `Recommended IND`.
"""

from __future__ import annotations

import csv
import io
import os
import re
import stat
from collections.abc import Iterator
from itertools import islice
from pathlib import Path
from typing import BinaryIO

import pandas as pd

from .review_columns import (
    MAX_NULL_TEXT_SHARE,
    UniqueIds,
    checked_columns,
    has_text,
    validation_problems,
)
from .review_schema import (
    EXAMPLES,
    EXPORT_AS_UTF8,
    EXPORT_WITH_COMMAS,
    HEAD_BYTES,
    KAGGLE_COLUMNS,
    LABEL,
    NUMERIC_COLUMNS,
    REQUIRED_COLUMNS,
    REVIEW_ID,
    TEXT,
    TITLE,
    IncompleteFileError,
    ReviewFileError,
    example,
    quoted,
    unfinished_tail,
    wrong_encoding,
)

__all__ = [
    "KAGGLE_COLUMNS",
    "LABEL",
    "MAX_NULL_TEXT_SHARE",
    "NUMERIC_COLUMNS",
    "REQUIRED_COLUMNS",
    "REVIEW_ID",
    "TEXT",
    "TITLE",
    "IncompleteFileError",
    "ReviewFileError",
    "has_text",
    "open_reviews",
    "parse_reviews",
    "read_reviews",
    "review_chunks",
    "unfinished_tail",
    "validation_problems",
    "wrong_encoding",
]

# The csv module's field size limit while reading: reviews far longer than Kaggle's 500
# characters read, and a field is still bounded.
FIELD_LIMIT = 64 * 1024 * 1024
NOT_A_FILE = "is a pipe or a stream, not a file: save it to a file first"
# A lone carriage return ends a line too, as in Python's and pandas' universal newlines.
_LONE_CR = re.compile(r"(?<=\r)(?!\n)")


def read_reviews(path: Path | str, *, require_label: bool = True) -> pd.DataFrame:
    """Read one review file strictly (see `parse_reviews`)."""
    with open_reviews(path) as stream:
        data = stream.read()
    return parse_reviews(data, path, require_label=require_label)


def open_reviews(path: Path | str) -> BinaryIO:
    """The file opened for reading; a missing file, a folder, or a pipe or stream (read twice: the
    end, then the records) raises `ReviewFileError`. Opened without blocking, so a named pipe that
    nothing writes to is refused rather than waited on for good."""
    try:
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        except BlockingIOError:
            # A regular file another process holds a lease on (a Samba or NFS server's): opened
            # the usual way, which waits for the lease to be given back, as before.
            if not stat.S_ISREG(os.stat(path).st_mode):
                raise
            fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        raise ReviewFileError(path, "file not found") from None
    except OSError as err:  # no permission, an I/O error
        raise ReviewFileError(path, f"cannot be read: {err.strerror or err}") from None
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        if stat.S_ISDIR(mode):
            raise ReviewFileError(path, "is a folder, not a file")
        raise ReviewFileError(path, NOT_A_FILE)
    os.set_blocking(fd, True)
    return os.fdopen(fd, "rb")


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
    (reviews,) = review_chunks(io.BytesIO(data), path, require_label=require_label)
    return reviews


def review_chunks(
    stream: BinaryIO,
    path: Path | str,
    *,
    rows: int | None = None,
    require_label: bool = True,
    complete: bool = False,
) -> Iterator[pd.DataFrame]:
    """The reviews read from `stream` (a seekable binary file), `rows` at a time, or all at once
    when None, each chunk as `parse_reviews` returns a file; review ids are unique across chunks.
    Only one chunk is held at a time, so a problem raises when the chunk holding it is read,
    naming the file and the line. A file that does not end with a newline is taken for one still
    being written (`IncompleteFileError`), unless the caller knows it is `complete` (a file given
    to a command rather than a drop landing)."""
    path = Path(path)
    if not stream.seekable():
        raise ReviewFileError(path, NOT_A_FILE)
    stream.seek(0)
    start = stream.read(HEAD_BYTES)
    if problem := wrong_encoding(start):
        raise ReviewFileError(path, problem)
    stream.seek(max(stream.seek(0, os.SEEK_END) - 1, 0))
    unfinished = unfinished_tail(stream.read(1), start)
    if unfinished and not complete:
        # A file cut anywhere but after a record (mid-field, mid-row) does not end with a newline,
        # and pandas would return its last row cut short. (A complete one that is empty is told
        # so below, not asked whether it is still being written.)
        raise IncompleteFileError(path, unfinished)
    stream.seek(0)
    records = _records(path, stream)
    # The header is the first record with more than white space (blank lines before it are skipped).
    _, header_fields, header = next((r for r in records if r[2].strip()), (0, [], ""))
    if not header:
        raise ReviewFileError(path, "the file is empty")
    columns = _frame(header, []).columns
    # pandas renames a repeated name ("Review Text.1"), and only the first would be read.
    named = [name for name in header_fields if name]
    if repeated := sorted({name for name in named if named.count(name) > 1}):
        raise ReviewFileError(path, f"the header names column(s) {quoted(repeated)} twice or more")
    required = REQUIRED_COLUMNS if require_label else (TEXT,)
    missing = [column for column in required if column not in columns]
    if missing and (found := _other_separator(header, required)):
        separator, absent = found
        still = f"; even so it has no column(s) {quoted(absent)}" if absent else ""
        raise ReviewFileError(
            path,
            f"its fields are separated by {separator}, not commas (the header is "
            f"{example(header.rstrip(chr(13) + chr(10)))}){still}; {EXPORT_WITH_COMMAS}",
        )
    if missing:
        raise ReviewFileError(
            path,
            f"missing required column(s): {quoted(missing)} "
            f"(the header has: {quoted(columns, limit=len(required) + EXAMPLES)})",
        )
    body = _same_width(path, records, width=len(header_fields))
    seen, first_row = UniqueIds(), 0
    while batch := list(islice(body, rows)):
        lines = [line for line, _ in batch]
        frame = _frame(header, [text for _, text in batch])
        if len(frame) != len(batch):
            raise ReviewFileError(
                path,
                f"cannot be parsed as CSV: the {len(batch)} records starting on lines "
                f"{lines[0]}-{lines[-1]} give pandas {len(frame)} rows",
            )
        yield checked_columns(
            path, frame, lines, first_row=first_row, seen=seen, whole_file=rows is None
        )
        first_row += len(frame)
    if not first_row:
        raise ReviewFileError(path, "the file has a header but no review rows")


_OTHER_SEPARATORS = {";": "semicolons", "\t": "tabs"}


def _other_separator(header: str, required: tuple[str, ...]) -> tuple[str, list[str]] | None:
    """The separator (in words) that the header is written with, when it is not the comma (a
    required column is there once the header is split at it), and the required columns missing
    even then."""
    for separator, name in _OTHER_SEPARATORS.items():
        fields = {field.strip().strip('"') for field in header.split(separator)}
        if separator in header and any(column in fields for column in required):
            return name, [column for column in required if column not in fields]
    return None


def _frame(header: str, records: list[str]) -> pd.DataFrame:
    # Blank lines never reach here (`_same_width` drops them); pandas would also skip a line of
    # only white space, a blank review when the file has one column, and lose that row.
    return pd.read_csv(
        io.StringIO(header + "".join(records)),
        dtype=str,
        keep_default_na=False,
        na_values=[""],
        skip_blank_lines=False,
    )


def _same_width(
    path: Path, records: Iterator[tuple[int, list[str], str]], width: int
) -> Iterator[tuple[int, str]]:
    """(line, text) of each data record, after checking it has as many fields as the header:
    pandas pads a short record with missing values, so a lost comma would shift fields."""
    for line, fields, text in records:
        if not fields:
            continue  # a blank line, which pandas skips too
        if len(fields) != width:
            raise ReviewFileError(
                path,
                f"cannot be parsed as CSV: the record on line {line} has {len(fields)} "
                f"fields but the header has {width}",
            )
        yield line, text


def _records(path: Path, stream: BinaryIO) -> Iterator[tuple[int, list[str], str]]:
    """Each CSV record of the stream: the line it starts on, its fields and its text as written.
    Refuses bytes that are not UTF-8 or are NUL, and a quoted field the file never closes."""
    pieces: list[str] = []

    def lines() -> Iterator[str]:
        offset = 0
        for number, data in enumerate(stream, 1):
            if b"\0" in data:
                # pandas silently ends a field at a NUL byte; a file preallocated and filled out of
                # order holds NUL bytes where nothing was written yet.
                raise IncompleteFileError(
                    path,
                    f"it has NUL bytes from byte offset {offset + data.index(0)} (space not "
                    "written yet, or not a CSV file)",
                )
            try:
                text = data.decode("utf-8")
            except UnicodeDecodeError as err:
                raise ReviewFileError(
                    path,
                    f"the file is not UTF-8 text: byte 0x{data[err.start]:02x} at byte offset "
                    f"{offset + err.start} (line {number}) is invalid; {EXPORT_AS_UTF8}",
                ) from None
            offset += len(data)
            for piece in _LONE_CR.split(text) if "\r" in text else (text,):
                if piece:
                    pieces.append(piece)
                    yield piece

    # Python's default limit is 131,072 characters a field; a review is whatever its file holds.
    csv.field_size_limit(FIELD_LIMIT)
    reader = csv.reader(lines(), strict=True)
    line = 0  # the last line the reader has consumed
    try:
        for fields in reader:
            start, line = line + 1, reader.line_num
            text = "".join(pieces)
            pieces.clear()
            yield start, fields, text
    except csv.Error as err:
        if str(err) == "unexpected end of data":  # the text ends inside a quoted field
            raise IncompleteFileError(
                path, f"it ends inside a quoted field of the record starting on line {line + 1}"
            ) from None
        raise ReviewFileError(
            path, f"cannot be parsed as CSV: {err} in the record starting on line {line + 1}"
        ) from None
