"""Asset storage without Dagster: versioned values behind a pointer, on a seam to the file system.

`files` is the one place that knows the local disk (rename, fsync, flock, modes); `store` keeps
versions and swaps them in; `values` turns values into open formats and back.
"""
