"""What went wrong with the MLflow store, in words: a lock, a full disk, an error reply; and what
it answered that a caller acts on (no model there, the alias moved).

MLflow wraps a locked SQLite store, a full disk and a tracking server's error reply alike in
`MlflowException`; a person needs to know which.
"""

from __future__ import annotations

import errno
import re
from collections.abc import Iterator

# What MLflow 3.17 answers, SQLite store and tracking server alike (measured), for a registered
# model that does not exist (and a version that does not) and for an alias that does not: both
# codes mean other things too, so an absence they report is confirmed where it matters.
NOT_FOUND_CODES = ("RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE")


class MlflowStoreError(RuntimeError):
    """The MLflow store or registry could not be read or written (locked, full, unreachable, or it
    answered with an error); the message says which, without the URI's credentials."""


class ModelNotFound(LookupError):
    """The store holds no model at the URI: no store yet, or no such registered model, version,
    alias, run or logged model (MLflow's own words say which)."""


class ProductionMoved(RuntimeError):
    """Another decision moved the production alias while this one compared against the old one."""

    def __init__(self, expected: str | None, found: str | None) -> None:
        super().__init__(
            f"the production alias moved from version {expected} to {found} while this decision "
            "compared against the former; the alias was left where it is, the next retraining "
            "decides again"
        )


def is_mlflow_failure(err: BaseException) -> bool:
    """An error of MLflow or its database, or a disk that filled up under them."""
    from mlflow.exceptions import MlflowException
    from sqlalchemy.exc import SQLAlchemyError

    return isinstance(err, MlflowException | SQLAlchemyError) or disk_full(err)


def disk_full(err: BaseException) -> bool:
    """A full disk (or quota) behind the error, as an OSError or as SQLite's own message."""
    for cause in _chain(err):
        if isinstance(cause, OSError) and cause.errno in (errno.ENOSPC, errno.EDQUOT):
            return True
        if "database or disk is full" in str(cause):
            return True
    return False


def describe(err: BaseException) -> str:
    """What went wrong, in a line: a lock, a full disk, or the error's own first line."""
    if disk_full(err):
        return "the disk is full (no space left on device)"
    if any("database is locked" in str(cause) for cause in _chain(err)):
        return "it is locked by another process (SQLite: database is locked)"
    message = str(getattr(err, "message", None) or err).strip() or type(err).__name__
    if answered := re.search(r"too many (\d{3}) error responses", message):
        if answered[1] != "500":  # 502, 503, 504, 429: as often a proxy in front of it
            return (
                f"the tracking server (or a proxy in front of it) answered HTTP {answered[1]} to "
                "every try"
            )
        # The server's own failure (its artifact store or database out of reach, say): a review
        # took S3 down and read only of the tracking server.
        return (
            "the tracking server answered HTTP 500 to every try (its own log says why: its "
            "database or artifact store out of reach, for example)"
        )
    if "Failed to establish a new connection" in message:
        return "the tracking server could not be reached"
    first = message.splitlines()[0]
    return first if len(first) <= 400 else first[:400] + " ..."


def _chain(err: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = err
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__
