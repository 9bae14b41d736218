"""Drops: which landing files are review drops, which partition key each owns, and what to ingest.

`plan_ingestion` is the drop sensor's whole decision as a pure function of what is in the landing
folder now and what the sensor remembers from earlier ticks; the sensor only lists the folder,
hashes files and reports.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import stat
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import BinaryIO

_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")

# Run tags that say which file, with which content, an ingestion run must read.
FILE_TAG = "sentiment/drop-file"
SHA256_TAG = "sentiment/drop-sha256"


def partition_key(name: str | Path) -> str:
    """`reviews_2026-01.csv` -> `reviews_2026-01`; other characters than letters, digits, `_.-` -> `_`.

    A name with nothing usable left (say `!!!.csv`) gets a key from a hash of the name, so one odd
    file name can never stop the other drops from being listed.
    """
    name = Path(name).name
    key = _UNSAFE.sub("_", Path(name).stem).strip("_.")
    return key or f"drop-{hashlib.sha256(name.encode()).hexdigest()[:8]}"


def is_drop_name(name: str) -> bool:
    """A visible `*.csv` name. Writers use a hidden or differently suffixed name (`.x.csv`,
    `x.csv.part`, `x.csv.tmp`) while writing and rename when done; such files are not drops yet."""
    return not name.startswith(".") and name.lower().endswith(".csv")


@dataclass(frozen=True)
class LandingFile:
    """One regular file in the landing folder, as the sensor saw it at one tick."""

    name: str
    size: int
    mtime_ns: int

    @property
    def key(self) -> str:
        return partition_key(self.name)

    @property
    def signature(self) -> list[int]:
        return [self.size, self.mtime_ns]


def scan_landing(folder: Path) -> tuple[list[LandingFile], dict[str, str]]:
    """The drop files in the folder, and why any other `*.csv` entry (by name) is not one.

    Nothing is followed: a link is refused (it could point anywhere), as is a folder or anything
    that is not a regular file, and an entry that vanishes or cannot be examined is reported
    instead of stopping the others.
    """
    files: list[LandingFile] = []
    refused: dict[str, str] = {}
    try:
        entries = list(os.scandir(folder))
    except FileNotFoundError:
        return [], {}
    for entry in sorted(entries, key=lambda e: e.name):
        if not is_drop_name(entry.name):
            continue
        try:
            info = entry.stat(follow_symlinks=False)
        except OSError as err:
            refused[entry.name] = f"cannot be examined ({err.strerror}); skipped"
            continue
        if stat.S_ISLNK(info.st_mode):
            refused[entry.name] = "is a link; links are never followed, copy the file in"
        elif not stat.S_ISREG(info.st_mode):
            refused[entry.name] = "is not a regular file; skipped"
        else:
            files.append(LandingFile(entry.name, info.st_size, info.st_mtime_ns))
    return files, refused


@dataclass
class DropMemory:
    """What the drop sensor remembers between ticks (stored by Dagster as its cursor).

    `seen`: each file's [size, mtime_ns] at the last tick; a file is complete once they did not
    change between two ticks. `owners`: partition key -> the file that claimed it first. `sent`:
    key -> [sha256, size, mtime_ns] of the content last requested. `noted`: file -> the last reason
    logged for skipping it, so each reason is logged once. `requests`: how many runs were requested,
    which makes every run key new (content A, then B, then A again is read three times).
    """

    seen: dict[str, list[int]] = field(default_factory=dict)
    owners: dict[str, str] = field(default_factory=dict)
    sent: dict[str, list] = field(default_factory=dict)
    noted: dict[str, str] = field(default_factory=dict)
    requests: int = 0

    @classmethod
    def load(cls, raw: str | None) -> DropMemory:
        return cls(**json.loads(raw)) if raw else cls()

    def dump(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)


@dataclass(frozen=True)
class Ingested:
    """The file and content behind a drop's latest stored value (None before the first)."""

    file: str | None
    sha256: str


@dataclass(frozen=True)
class DropRequest:
    """Read this file, with this content, as this drop."""

    key: str
    file: str
    sha256: str
    run_key: str

    @property
    def tags(self) -> dict[str, str]:
        return {FILE_TAG: self.file, SHA256_TAG: self.sha256}


@dataclass
class IngestionPlan:
    requests: list[DropRequest]
    new_keys: list[str]
    log: list[str]
    memory: DropMemory


def plan_ingestion(
    files: Iterable[LandingFile],
    refused: dict[str, str],
    memory: DropMemory,
    *,
    sha256: Callable[[str], str],
    ingested: Callable[[str], Ingested | None],
    partitions: set[str],
    max_requests: int,
) -> IngestionPlan:
    """Which drops to read this tick, from the landing files now and the sensor's memory.

    - A file is read once it is complete: its size and modification time did not change since the
      last tick. A file whose content changed is read again; a touched but unchanged one is not.
    - The first file to claim a partition key keeps it, whatever the names' order: a later file
      whose name maps to the same key is refused with a log line until it is renamed.
    - The same content as another drop under a second name is skipped with a log line.
    - A file that left the folder (quarantined, deleted) is forgotten: when a file of that name
      lands again it is read again, unless its content is what the drop already holds.
    - Every reason to skip a file (including `refused` entries from `scan_landing`) is logged
      once, when it first applies.
    `sha256(name)` hashes a landing file; `ingested(key)` says what a drop's stored value was
    read from; `partitions` are the drop partitions that exist.
    """
    memory = DropMemory(**asdict(memory))
    files = sorted(files, key=lambda f: (f.name not in memory.seen, f.mtime_ns, f.name))
    present = {f.name for f in files}
    log: list[str] = []

    for key, owner in list(memory.owners.items()):
        if owner not in present:
            memory.sent.pop(key, None)
            if key not in partitions:
                del memory.owners[key]  # its partition was deleted: the key is free again
    noted, memory.noted = memory.noted, {}

    def skip(name: str, reason: str) -> None:
        memory.noted[name] = reason
        if noted.get(name) != reason:
            log.append(f"{name}: {reason}")

    for name, reason in refused.items():
        skip(name, reason)

    content_owner = {entry[0]: key for key, entry in memory.sent.items()}
    requests: list[DropRequest] = []
    new_keys: list[str] = []
    for file in files:
        key = file.key
        owner = memory.owners.get(key)
        if owner is None:
            owner = memory.owners[key] = _earlier_owner(key, file.name, ingested)
        if owner != file.name:
            skip(file.name, f"maps to partition key '{key}', which {owner} already owns; rename it")
            continue
        if memory.seen.get(file.name) != file.signature:
            continue  # new or still changing: look again next tick
        previous = memory.sent.get(key)
        if previous is not None and previous[1:] == file.signature:
            continue  # unchanged since it was requested
        if len(requests) >= max_requests:
            continue  # the next tick takes it
        sha = sha256(file.name)
        other = content_owner.get(sha)
        if other is not None and other != key:
            skip(file.name, f"same content as drop '{other}'; skipped")
            continue
        memory.sent[key] = [sha, *file.signature]
        content_owner[sha] = key
        if previous is not None and previous[0] == sha:
            continue  # touched, not changed
        stored = ingested(key)
        if stored is not None and stored.sha256 == sha:
            continue  # already read, maybe before the sensor ran
        memory.requests += 1
        requests.append(DropRequest(key, file.name, sha, f"{key}:{sha[:16]}:{memory.requests}"))
        if key not in partitions:
            new_keys.append(key)
    memory.seen = {f.name: f.signature for f in files}
    return IngestionPlan(requests, new_keys, log, memory)


def _earlier_owner(key: str, name: str, ingested: Callable[[str], Ingested | None]) -> str:
    """Who owns a key the sensor has not seen claimed: the file its stored value came from."""
    stored = ingested(key)
    return stored.file if stored is not None and stored.file else name


def file_for_key(folder: Path, key: str, owner: str | None) -> Path:
    """The landing file behind a partition key, when a run was not told which (a by-hand
    materialization): the recorded owner if there is one, else the only file with that key."""
    files, _ = scan_landing(folder)
    matches = [f.name for f in files if f.key == key]
    if owner is not None and owner in matches:
        return folder / owner
    if len(matches) == 1:
        return folder / matches[0]
    if not matches:
        raise FileNotFoundError(f"no drop file for partition '{key}' in {folder}")
    raise FileNotFoundError(
        f"{len(matches)} files map to partition '{key}' ({', '.join(matches)}); "
        "rename all but one, or let the drop sensor choose"
    )


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


def read_drop(path: Path) -> bytes:
    """The bytes of a landing file, never read through a link."""
    with _open_nofollow(path) as f:
        return f.read()


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with _open_nofollow(path) as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _open_nofollow(path: Path) -> BinaryIO:
    return os.fdopen(os.open(path, os.O_RDONLY | os.O_NOFOLLOW), "rb")
