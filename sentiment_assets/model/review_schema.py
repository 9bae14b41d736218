"""The review-file schema (Kaggle "Women's Clothing E-Commerce Reviews"), the errors a review file
can raise, and how those errors quote what they found: short, whatever the file holds."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    # Annotations only: the landing folder's checks (`lib/drops.py`) read this module's advice
    # without loading pandas.
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

# Error messages stay short whatever the file holds: a few examples, each cut to a few words.
EXAMPLES = 5
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


def unfinished_tail(tail: bytes, head: bytes) -> str | None:
    """Why a file whose last byte is `tail` (empty for an empty file) and whose first bytes are
    `head` is unfinished, or None.

    Every complete export ends its last record with its line end: a newline, or a carriage
    return alone in a classic Mac export, whose first bytes hold no newline (a CRLF file stopped
    between its CR and LF is still being written). This is the check a caller can make cheaply
    on the file's two ends, before reading it (the readers make it too).
    """
    if not tail:
        return "it is empty"
    if tail.endswith(b"\n") or (tail.endswith(b"\r") and b"\n" not in head):
        return None
    return NO_FINAL_NEWLINE


NO_FINAL_NEWLINE = "it does not end with a newline"


# What `wrong_encoding` reads of a file's start.
HEAD_BYTES = 4096
# UTF-32's marks first: UTF-32 LE's begins with UTF-16 LE's.
_BYTE_ORDER_MARKS = (
    (b"\xff\xfe\x00\x00", "UTF-32"),
    (b"\x00\x00\xfe\xff", "UTF-32"),
    (b"\xff\xfe", "UTF-16"),
    (b"\xfe\xff", "UTF-16"),
)
# What to do with a workbook or a compressed export (also named by its suffix: `lib/drops.py`).
SAVE_AS_CSV = "save it as CSV UTF-8"
DECOMPRESS = "decompress it first (gunzip)"  # by content: a drop or a file to score alike
EXPORT_AS_UTF8 = "export it as UTF-8"  # text in another encoding
# Excel's regional "CSV" (semicolons where the comma is a decimal mark) and its tab-delimited text.
EXPORT_WITH_COMMAS = "export it as CSV UTF-8 (comma delimited)"
# Files that are not text at all, by their first bytes; each would end in a stray byte and wait
# as unfinished.
_CONTAINERS = (
    (b"PK\x03\x04", "a ZIP archive (an Excel .xlsx workbook is one)", SAVE_AS_CSV),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "an Excel .xls workbook", SAVE_AS_CSV),
    (b"\x1f\x8b", "gzip-compressed", DECOMPRESS),
)


def wrong_encoding(head: bytes) -> str | None:
    """Why a file whose first bytes are `head` is not UTF-8 text, when they show it at once: a
    workbook or compressed file, a UTF-16 or UTF-32 byte-order mark (Excel's "Unicode text"
    export), or UTF-16 without one (a NUL byte after or before each character of English text).
    None otherwise; any other stray byte is found where it is while reading (NUL bytes after text
    are a file still being filled).

    Checked before the end: such a file ends in a NUL, not a newline, and would look unfinished.
    """
    for magic, what, fix in _CONTAINERS:
        if head.startswith(magic):
            return f"it is {what}, not CSV text; {fix}"
    for mark, encoding in _BYTE_ORDER_MARKS:
        if head.startswith(mark):
            return (
                f"it is {encoding} text (it starts with a {encoding} byte-order mark); "
                f"{EXPORT_AS_UTF8}"
            )
    sample = head[:64]
    for nuls, characters in ((sample[1::2], sample[0::2]), (sample[0::2], sample[1::2])):
        if len(sample) >= 8 and not nuls.strip(b"\0") and b"\0" not in characters:
            return f"it is UTF-16 text (a NUL byte beside each character); {EXPORT_AS_UTF8}"
    return None


def example(value: str) -> str:
    """A value as it appears in an error message: quoted, and cut short when long."""
    return repr(value if len(value) <= _EXAMPLE_CHARS else value[:_EXAMPLE_CHARS] + "...")


def quoted(names: Iterable[str], limit: int | None = None) -> str:
    """Names quoted and comma-separated; with `limit`, the first few (each cut short) and a count."""
    names = list(names)
    if limit is None or len(names) <= limit:
        return ", ".join(map(repr, names))
    return ", ".join(map(example, names[:limit])) + f" and {len(names) - limit} more"


def rows_text(bad: pd.Series | np.ndarray, lines: list[int], ids: pd.Series | None = None) -> str:
    """The first few offending rows, by review id when it is known and by the line they start on."""
    import numpy as np

    rows = np.flatnonzero(bad)
    shown = [
        f"line {lines[row]}" if ids is None else f"{REVIEW_ID} {ids.iloc[row]} (line {lines[row]})"
        for row in rows[:EXAMPLES]
    ]
    more = f" and {len(rows) - EXAMPLES} more" if len(rows) > EXAMPLES else ""
    return ", ".join(shown) + more
