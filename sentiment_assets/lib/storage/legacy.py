"""Values stored before versions existed (`<asset>/<partition>/` or `<asset>/` itself, holding a
`kind` file) become versions of the versioned store, so an upgrade loses nothing."""

from __future__ import annotations

import shutil
from functools import partial
from pathlib import Path

from sentiment_assets.lib.storage.files import LocalFiles
from sentiment_assets.lib.storage.store import Slot, VersionedStore
from sentiment_assets.lib.storage.values import JSON, KIND, TABLE

# The files the old layout wrote for each kind of value: only these move, so nothing else in a
# folder (the new layout's own folders among them) is touched.
_FILES = {
    "dataframe": (TABLE,),
    "json": (JSON,),
    "padded_dataset": ("reviews.parquet", "sequences.npy", "vocabulary.json"),
}


def adopt_legacy_values(root: Path) -> list[str]:
    """Move every value of the old layout under `root` into the store; the values moved.

    Each is written as a new version before its old files go, so a crash in between leaves it
    twice, never lost.
    """
    if not root.is_dir():
        return []
    store = VersionedStore(LocalFiles(root))
    moved = []
    for asset in sorted(p for p in root.iterdir() if p.is_dir() and not p.is_symlink()):
        found = [(asset, None)] if (asset / KIND).is_file() else []
        found += [(p, p.name) for p in sorted(asset.iterdir()) if (p / KIND).is_file()]
        for folder, partition in found:
            files = [KIND, *_FILES[(folder / KIND).read_text()]]
            slot = Slot(asset.name, partition)
            store.write(slot, partial(_copy, folder, files), run_id="legacy")
            for name in files:
                (folder / name).unlink()
            if partition is not None and not any(folder.iterdir()):
                folder.rmdir()
            moved.append(str(slot))
    return moved


def _copy(source: Path, names: list[str], target: Path) -> None:
    for name in names:
        shutil.copy2(source / name, target / name)
