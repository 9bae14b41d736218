"""Data frames to and from Parquet files, through pyarrow by path.

Not `DataFrame.to_parquet` / `pandas.read_parquet`: a process that had used them aborted now and
then as it exited ("terminate called without an active exception", exit code 134, after all its
work was done). Measured here, 4 such processes at a time on 2 cores each writing and reading
one small table: through pandas 21 of 340 aborted, through `pyarrow.parquet` by path 0 of 200
(the project's storage code among them, 9 of 180 before this module and 0 of 80 after). pandas
hands pyarrow a Python file object, and pyarrow's thread pool can outlive the interpreter's
teardown then (apache/arrow#34314, #50482). A command's exit code is what a script and cron see.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd


def write_parquet(frame: pd.DataFrame, path: Path) -> None:
    """`frame` as a Parquet file at `path`, without its index (as `to_parquet(index=False)`)."""
    import pyarrow
    import pyarrow.parquet

    table = pyarrow.Table.from_pandas(frame, preserve_index=False)
    pyarrow.parquet.write_table(table, str(path))


def read_parquet(path: Path, columns: list[str] | None = None) -> pd.DataFrame:
    """The data frame in the Parquet file at `path` (only `columns` when given), as
    `pandas.read_parquet` gives it."""
    import pyarrow.parquet

    return pyarrow.parquet.read_table(str(path), columns=columns).to_pandas()
