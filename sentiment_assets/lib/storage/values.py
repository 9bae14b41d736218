"""Values as open formats in a folder: a table as parquet, the dataset as npy/parquet/JSON, the rest
as JSON. A `kind` file says how the folder was written, so reads need no guessing."""

from __future__ import annotations

import json
import os
from functools import cache
from pathlib import Path
from typing import Any

import pandas as pd
from pydantic import BaseModel

from sentiment_assets.model.dataset import PaddedDataset
from sentiment_assets.model.tables import read_parquet, write_parquet

KIND, TABLE, JSON = "kind", "data.parquet", "data.json"


@cache
def _system_memory_pool() -> None:
    """Parquet read and written through the C library's allocator, not pyarrow's own pool: the
    process's default pool from the first read or write on, for whatever else uses pyarrow too.

    pyarrow's default pool (mimalloc) keeps what a read freed, and more after each read: loading
    the real drops' dataset three times in one process left 153 MiB of anonymous memory against
    72-91 MiB with the system allocator, and whole-graph runs peaked about 25 MiB higher (README,
    "Where the memory goes"). What glibc keeps, `release_memory` returns between candidates.
    `ARROW_DEFAULT_MEMORY_POOL`, when set, still chooses.
    """
    import pyarrow

    if "ARROW_DEFAULT_MEMORY_POOL" not in os.environ:
        pyarrow.set_memory_pool(pyarrow.system_memory_pool())


def write_value(obj: Any, folder: Path) -> None:
    _system_memory_pool()
    if isinstance(obj, pd.DataFrame):
        write_parquet(obj, folder / TABLE)
        kind = "dataframe"
    elif isinstance(obj, PaddedDataset):
        obj.save(folder)
        kind = "padded_dataset"
    elif isinstance(obj, BaseModel):
        (folder / JSON).write_text(obj.model_dump_json(indent=1))
        kind = "json"
    else:
        (folder / JSON).write_text(json.dumps(obj, indent=1))
        kind = "json"
    (folder / KIND).write_text(kind)


def read_value(folder: Path, expected: Any = None) -> Any:
    """The value in `folder`; JSON comes back as `expected` when that is a pydantic model."""
    _system_memory_pool()
    kind = (folder / KIND).read_text()
    if kind == "dataframe":
        return read_parquet(folder / TABLE)
    if kind == "padded_dataset":
        return PaddedDataset.load(folder)
    text = (folder / JSON).read_text()
    if isinstance(expected, type) and issubclass(expected, BaseModel):
        return expected.model_validate_json(text)
    return json.loads(text)


def read_table(folder: Path, columns: list[str] | None = None) -> pd.DataFrame:
    """A stored table, only `columns` when given."""
    _system_memory_pool()
    return read_parquet(folder / TABLE, columns=columns)
