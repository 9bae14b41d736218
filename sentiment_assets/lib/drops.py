"""Drops: which landing files are review drops, which partition key each one claims, and reading
and quarantining them safely.

A landing entry is opened without following a link and without blocking on a pipe, then checked
to be a regular file, so nothing outside the landing folder is ever read through it. `Unfinished`
is the one rule, shared by the drop sensor (`lib.drop_plan`) and `raw_reviews`, for when a file
that looks unfinished is judged truncated.
"""

from __future__ import annotations

import errno
import hashlib
import os
import re
import shutil
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from sentiment_assets.lib import settings
from sentiment_assets.model.review_schema import NO_FINAL_NEWLINE, SAVE_AS_CSV

_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")
# Keys end up in folder names and run tags: a 250-character file name must not make them too long.
MAX_KEY_CHARS = 100

# Run tags that say which file, with which content, an ingestion run must read.
FILE_TAG = "sentiment/drop-file"
SHA256_TAG = "sentiment/drop-sha256"

# How long a file that looks unfinished may stay unchanged before it is judged truncated: a copy
# over a network share can stall for minutes, and a drop a week does not need to be quarantined
# faster than this.
DEFAULT_GRACE_SECONDS = 15 * 60


# Why an entry named like a drop is never read; `scan_landing` refuses such entries by name.
LINK = "is a link; links are never followed, copy the file in"
NOT_REGULAR = "is not a regular file; skipped"

# Exports that are not CSV text, by their own suffix: named, with what to do, not passed over.
_NOT_CSV = {
    ".xlsx": f"is an Excel workbook, not a CSV file; {SAVE_AS_CSV}",
    ".xls": f"is an Excel workbook, not a CSV file; {SAVE_AS_CSV}",
    ".gz": "is compressed; decompress it into the landing folder",
    ".zip": "is a ZIP archive; unpack its CSV files into the landing folder",
}

NOTE_SUFFIX = ".error.txt"
_NAME_MAX = 255  # bytes in one file name, on every common file system


def partition_key(name: str | Path) -> str:
    """`reviews_2026-01.csv` -> `reviews_2026-01`; each run of other characters than ASCII letters,
    digits and `_.-` -> one `_`, and `_.` stripped at either end.

    A name with nothing usable left (say `!!!.csv`) gets a key from a hash of the name, so one odd
    file name can never stop the other drops from being listed; a key longer than
    `MAX_KEY_CHARS` is cut and ends in a hash of the name.
    """
    name = Path(name).name
    key = _UNSAFE.sub("_", Path(name).stem).strip("_.")
    digest = hashlib.sha256(name.encode(errors="surrogateescape")).hexdigest()[:8]
    if not key:
        return f"drop-{digest}"
    return key if len(key) <= MAX_KEY_CHARS else f"{key[: MAX_KEY_CHARS - 9]}-{digest}"


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
    ctime_ns: int  # changes whenever the file is written or replaced, even with an old mtime
    inode: int  # another inode under the same name is another file, whatever its content

    @property
    def key(self) -> str:
        return partition_key(self.name)

    @property
    def signature(self) -> list[int]:
        return [self.size, self.mtime_ns, self.ctime_ns, self.inode]


def scan_landing(folder: Path) -> tuple[list[LandingFile], dict[str, str]]:
    """The drop files in the folder, and why any other `*.csv` entry (by name) is not one, or
    a workbook or compressed export (`.xlsx`, `.xls`, `.gz`, `.zip`) beside them; other files
    are passed over (a writer's `x.csv.part` among them).

    Nothing is followed: a link is refused (it could point anywhere), as is a folder or anything
    that is not a regular file, or a name that is not printable text; an entry that vanishes or
    cannot be examined is reported instead of stopping the others.
    """
    files: list[LandingFile] = []
    refused: dict[str, str] = {}
    try:
        entries = list(os.scandir(folder))
    except FileNotFoundError:
        return [], {}
    for entry in sorted(entries, key=lambda e: e.name):
        if not is_drop_name(entry.name):
            export = _NOT_CSV.get(os.path.splitext(entry.name)[1].lower())
            if export and not entry.name.startswith(".") and entry.name.isprintable():
                refused[entry.name] = export
            continue
        if not entry.name.isprintable():  # undecodable bytes or control characters
            refused[ascii(entry.name)] = "has a name that is not printable text; rename it"
            continue
        try:
            info = entry.stat(follow_symlinks=False)
        except OSError as err:
            refused[entry.name] = f"cannot be examined ({why(err)}); skipped"
            continue
        if stat.S_ISLNK(info.st_mode):
            refused[entry.name] = LINK
        elif not stat.S_ISREG(info.st_mode):
            refused[entry.name] = NOT_REGULAR
        else:
            files.append(
                LandingFile(
                    entry.name, info.st_size, info.st_mtime_ns, info.st_ctime_ns, info.st_ino
                )
            )
    return files, refused


@dataclass(frozen=True)
class Unfinished:
    """A drop that looks unfinished (`reason`, from `model.reviews`) and has not changed for
    `unchanged_ns`: left in place during the grace period, then judged truncated."""

    reason: str
    unchanged_ns: int

    def truncated(self, grace_seconds: float) -> bool:
        return self.unchanged_ns >= grace_seconds * 1e9

    def note(self, grace_seconds: float) -> str:
        """What to say about it: why it waits, or why it is judged truncated."""
        if self.truncated(grace_seconds):
            # A complete export may lack only its final newline (some tools write none).
            fix = (
                "if the export is complete, end it with a newline (or export it again)"
                if self.reason == NO_FINAL_NEWLINE
                else "export it again"
            )
            return (
                f"the file is incomplete: {self.reason}, and it has not changed for "
                f"{_duration(self.unchanged_ns / 1e9)} (the grace period is "
                f"{_duration(grace_seconds)}): judged truncated; {fix}, and copy it into the "
                "landing folder again"
            )
        return (
            f"the file is incomplete: {self.reason}; left in the landing folder and read once "
            f"complete (judged truncated if unchanged for {_duration(grace_seconds)})"
        )


def _duration(seconds: float) -> str:
    return f"{seconds / 60:.0f} min" if seconds >= 90 else f"{seconds:.0f} s"


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


class RefusedFile(OSError):
    """A landing entry that is not a regular file (a link, a folder, a pipe): never read."""

    def __init__(self, path: Path, reason: str) -> None:
        self.reason = reason
        super().__init__(f"{path.name} {reason}")


class FileChanged(Exception):
    """The landing file is no longer the one that was read (replaced, or written to since)."""


@dataclass(frozen=True)
class DropBytes:
    """The bytes of a landing file as read, their sha256, and which file they came from."""

    data: bytes
    sha256: str
    identity: tuple[int, int, int, int]  # device, inode, size, mtime_ns when read
    mtime_ns: int


def read_drop(path: Path) -> DropBytes:
    with _open_regular(path) as (f, info):
        data = f.read()
    return DropBytes(data, sha256_hex(data), _identity(info), info.st_mtime_ns)


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with _open_regular(path) as (f, _):
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def first_bytes(path: Path, size: int) -> bytes:
    """The file's first `size` bytes (fewer when it is shorter)."""
    with _open_regular(path) as (f, _):
        return os.pread(f.fileno(), size, 0)


def last_byte(path: Path) -> bytes:
    """The file's last byte, or b"" for an empty file: enough to tell an unfinished file."""
    with _open_regular(path) as (f, info):
        return os.pread(f.fileno(), 1, info.st_size - 1) if info.st_size else b""


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def why(err: OSError) -> str:
    """An OS error in a few words, without the path (the caller names the file)."""
    return err.strerror or str(err) or type(err).__name__


def quarantine(path: Path, problem: str, folder: Path, read: DropBytes) -> Path:
    """Move a drop whose content is bad out of the landing folder, beside a note saying why.

    Only the file that was read moves: when the name holds another file by now, `FileChanged` is
    raised and nothing moves. The folder is owner-only and the note 0600, as both may quote
    reviews. A later file of the same name gets a numbered name, never overwriting an earlier one,
    and a name too long to take the note's suffix is shortened (the note names the original).
    """
    settings.private_dir(folder)
    if _identity(os.lstat(path)) != read.identity:
        raise FileChanged(f"{path.name} changed after it was read; it stays where it is")
    names = _free_names(folder, path.name)
    while True:
        target = next(names)
        note = target.with_name(target.name + NOTE_SUFFIX)
        try:  # claiming the note claims the number, also against a quarantine running beside
            fd = os.open(
                note,
                os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW,
                settings.PRIVATE_FILE_MODE,
            )
        except FileExistsError:
            continue
        if target.exists():
            os.close(fd)
            note.unlink()
            continue
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(f"{path.name}: {problem}\n")
        try:
            shutil.move(path, target)
        except OSError:
            note.unlink()
            raise
        return target


_NOTED_NAME = re.compile(r"(.+?\.csv): ", re.IGNORECASE)


def quarantined(folder: Path, key: str) -> list[Path]:
    """The files of drop `key` in the quarantine folder, told by their notes (each names the file
    it was read from: `quarantine`), with the notes; none when the folder cannot be read."""
    found = []
    try:
        notes = sorted(folder.glob(f"*{NOTE_SUFFIX}"))
    except OSError:
        return []
    for note in notes:
        try:
            with note.open(encoding="utf-8", errors="replace") as f:
                # "<name>: <problem>", and a name may hold ": " too: it ends at its ".csv".
                named = _NOTED_NAME.match(f.readline())
        except OSError:
            continue
        if named and partition_key(named[1]) == key:
            moved = note.with_name(note.name.removesuffix(NOTE_SUFFIX))
            found += [path for path in (moved, note) if path.exists()]
    return found


def _free_names(folder: Path, name: str) -> Iterator[Path]:
    """`name`, then `stem.1.csv`, `stem.2.csv`, ...; stems shortened so that the note fits."""
    stem, suffix = os.path.splitext(name)
    number = 0
    while True:
        tail = f".{number}{suffix}" if number else suffix
        room = _NAME_MAX - len((tail + NOTE_SUFFIX).encode())
        if len(stem.encode()) > room:
            cut = stem.encode()[: room - 9].decode(errors="ignore")
            stem_fit = f"{cut}-{sha256_hex(stem.encode())[:8]}"
        else:
            stem_fit = stem
        yield folder / f"{stem_fit}{tail}"
        number += 1


@contextmanager
def _open_regular(path: Path) -> Iterator[tuple[BinaryIO, os.stat_result]]:
    """Open a landing entry for reading: no link followed, no blocking on a pipe, regular only."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as err:
        if err.errno == errno.ELOOP:
            raise RefusedFile(path, LINK) from None
        raise
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):
        os.close(fd)
        raise RefusedFile(path, NOT_REGULAR)
    with os.fdopen(fd, "rb") as f:
        yield f, info


def _identity(info: os.stat_result) -> tuple[int, int, int, int]:
    return (info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns)
