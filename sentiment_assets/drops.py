"""Review drops in the landing folder: which files count, and the partition key each one gets."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")


class DropKeyCollision(ValueError):
    """Two landing files would map to the same partition key."""


def partition_key(path: Path | str) -> str:
    """`reviews_2026-01.csv` -> `reviews_2026-01`; other characters than letters, digits, `_.-` -> `_`.

    A name with nothing usable left (say `!!!.csv`) gets a key from a hash of the name, so one odd
    file name can never stop the other drops from being listed.
    """
    name = Path(path).name
    key = _UNSAFE.sub("_", Path(path).stem).strip("_.")
    return key or f"drop-{hashlib.sha256(name.encode()).hexdigest()[:8]}"


def is_drop(path: Path) -> bool:
    """A visible `*.csv` file. Writers use a hidden or differently suffixed name (`.x.csv`,
    `x.csv.part`, `x.csv.tmp`) while writing and rename when done; such files are not drops yet."""
    return path.is_file() and not path.name.startswith(".") and path.suffix.lower() == ".csv"


def list_drops(folder: Path) -> dict[str, Path]:
    """Partition key -> file, for every drop in the folder; refuses two files with one key."""
    drops: dict[str, Path] = {}
    for path in sorted(folder.glob("*")) if folder.is_dir() else []:
        if not is_drop(path):
            continue
        key = partition_key(path)
        if key in drops:
            raise DropKeyCollision(
                f"{path.name} and {drops[key].name} both map to partition key '{key}'; rename one"
            )
        drops[key] = path
    return drops


def find_drop(folder: Path, key: str) -> Path:
    """The landing file behind a partition key; a clear error when it has gone."""
    drops = list_drops(folder)
    if key not in drops:
        raise FileNotFoundError(f"no drop file for partition '{key}' in {folder}")
    return drops[key]


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()
