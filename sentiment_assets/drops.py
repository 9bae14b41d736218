"""Review drops in the landing folder: which files count, and the partition key each one gets."""

from __future__ import annotations

import hashlib
import re
import shutil
from pathlib import Path

_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")


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


def list_drops(folder: Path) -> tuple[dict[str, Path], list[str]]:
    """Partition key -> file for every drop in the folder, and why any other file was refused.

    A file whose key an earlier file (in name order) already has is refused, not the whole folder:
    one badly named file must not stop the others.
    """
    drops: dict[str, Path] = {}
    refused: list[str] = []
    for path in sorted(folder.glob("*")) if folder.is_dir() else []:
        if not is_drop(path):
            continue
        key = partition_key(path)
        if key in drops:
            refused.append(
                f"{path.name} and {drops[key].name} both map to partition key '{key}'; "
                f"{path.name} is skipped until one of them is renamed"
            )
            continue
        drops[key] = path
    return drops, refused


def find_drop(folder: Path, key: str) -> Path:
    """The landing file behind a partition key; a clear error when it has gone."""
    drops, _ = list_drops(folder)
    if key not in drops:
        raise FileNotFoundError(f"no drop file for partition '{key}' in {folder}")
    return drops[key]


def quarantine(path: Path, problem: str, folder: Path) -> Path:
    """Move a drop that failed validation out of the landing folder, with a note saying why.

    A later file of the same name never overwrites an earlier one: it gets a numbered name.
    """
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / path.name
    number = 1
    while target.exists():
        target = folder / f"{path.stem}.{number}{path.suffix}"
        number += 1
    shutil.move(path, target)
    target.with_name(target.name + ".error.txt").write_text(f"{path.name}: {problem}\n")
    return target


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()
