"""The versioned store's seam to a file system: the operations it needs, here on the local disk.

This is the one place that knows rename, fsync, flock and file modes. An object store can stand in
with the same operations: a single object write is atomic there (the pointer), a staged folder is a
prefix of objects uploaded before the pointer names it, and the lock is the store's own (a
conditional write, or one writer per partition through a run pool).
"""

from __future__ import annotations

import errno
import fcntl
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO

from sentiment_assets.lib.settings import PRIVATE_DIR_MODE, PRIVATE_FILE_MODE, private_dir

# numpy reports a full disk as a short write without an errno: a failed write with less than this
# left on the device counts as a full disk.
_NEARLY_FULL = 1 << 20


@contextmanager
def locked(path: Path, *, wait: bool = True) -> Iterator[bool]:
    """Within, this process alone holds `path`'s lock (the kernel drops it when its holder dies,
    so a killed process never blocks the next one). Yields True; False, at once, when `wait` is
    False and another holder has it. Not re-entrant: a process entering it twice for one path
    waits for itself (or is refused, without `wait`)."""
    with open(path, "a") as file:
        try:
            fcntl.flock(file, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(file, fcntl.LOCK_UN)


class DiskFull(Exception):
    """A write failed because the device (or the user's quota) is full; nothing was committed."""


class LocalFiles:
    """Durable, owner-only files under one root folder; paths are relative and `/`-separated."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, rel: str) -> Path:
        return self.root.joinpath(*rel.split("/"))

    def exists(self, rel: str) -> bool:
        return self.path(rel).exists()

    def make_folder(self, rel: str) -> Path:
        """The folder, its missing parents created owner-only and recorded durably."""
        folder = private_dir(self.root)
        for part in rel.split("/"):
            parent, folder = folder, folder / part
            try:
                folder.mkdir(mode=PRIVATE_DIR_MODE)
            except FileExistsError:
                continue
            folder.chmod(PRIVATE_DIR_MODE)  # mkdir's mode is masked by the umask
            _sync_dir(parent)
        return folder

    @contextmanager
    def staged(self, rel: str) -> Iterator[Path]:
        """A new folder to write into: owner-only and on disk (files, then folders) when the block
        ends, removed when it fails."""
        folder = self.path(rel)
        try:
            yield self.make_folder(rel)
            _seal(folder)
        except BaseException as err:
            full = isinstance(err, OSError) and _is_full(err, self.root)  # before freeing space
            shutil.rmtree(folder, ignore_errors=True)
            if full:
                raise DiskFull(f"no space left on the device of {self.root}") from err
            raise

    @contextmanager
    def readable(self, rel: str) -> Iterator[Path]:
        """A local folder to read from (an object store would download it)."""
        yield self.path(rel)

    def read_text(self, rel: str) -> str | None:
        try:
            return self.path(rel).read_text()
        except FileNotFoundError:
            return None

    def write_atomic(self, rel: str, text: str) -> None:
        """Replace a small file whole and durably: readers see the old content or the new."""
        target = self.path(rel)
        with self._full_disk_named():
            with written_whole(target) as file:
                file.write(text)
            _sync_dir(target.parent)

    def names(self, rel: str) -> list[str]:
        try:
            return sorted(os.listdir(self.path(rel)))
        except FileNotFoundError:
            return []

    def remove(self, rel: str) -> None:
        """Remove a file or a folder with everything in it; gone already is fine."""
        path = self.path(rel)
        try:
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            else:
                path.unlink()
        except FileNotFoundError:
            pass

    @contextmanager
    def lock(self, rel: str) -> Iterator[None]:
        """Hold an exclusive lock on a file; the kernel drops it when its holder dies, so a crashed
        writer never blocks the next one."""
        path = self.path(rel)
        while True:
            with self._full_disk_named():
                self.make_folder(rel.rsplit("/", 1)[0])
                fd = os.open(path, os.O_RDWR | os.O_CREAT, PRIVATE_FILE_MODE)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                if _names_file(path, fd):
                    break
            except BaseException:
                os.close(fd)
                raise
            os.close(fd)  # removed (with its partition) while we waited: lock the new one
        try:
            yield
        finally:
            os.close(fd)

    @contextmanager
    def _full_disk_named(self) -> Iterator[None]:
        try:
            yield
        except OSError as err:
            if _is_full(err, self.root):
                raise DiskFull(f"no space left on the device of {self.root}") from err
            raise


def _names_file(path: Path, fd: int) -> bool:
    try:
        return os.stat(path).st_ino == os.fstat(fd).st_ino
    except FileNotFoundError:
        return False


def _seal(folder: Path) -> None:
    """Every file owner-only and on disk, then every folder, then the folder's own name."""
    for current, _, files in os.walk(folder, topdown=False):
        for name in files:
            fd = os.open(os.path.join(current, name), os.O_RDONLY | os.O_NOFOLLOW)
            try:
                os.fchmod(fd, PRIVATE_FILE_MODE)
                os.fsync(fd)
            finally:
                os.close(fd)
        os.chmod(current, PRIVATE_DIR_MODE)
        _sync_dir(Path(current))
    _sync_dir(folder.parent)


def _sync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _is_full(err: OSError, where: Path) -> bool:
    if err.errno in (errno.ENOSPC, errno.EDQUOT):
        return True
    if err.errno is not None:
        return False
    try:
        info = os.statvfs(where)
    except OSError:
        return False
    return info.f_bavail * info.f_frsize < _NEARLY_FULL


@contextmanager
def created_whole(target: Path) -> Iterator[Path]:
    """A path beside `target` for a file that something else creates in several steps (a
    database and its migrations), renamed to `target` once the block ends and the file is on
    disk: killed before, `target` does not exist, and the next creation starts over. The caller
    holds a lock against other creators of `target`."""
    # A link's target, not the link: replaced, the link would be lost (a store on a volume).
    target = target.resolve()
    creating = target.with_name(f".{target.name}.creating")
    leftovers = [creating, creating.with_name(f"{creating.name}-journal")]
    for path in leftovers:  # of a creation killed before
        path.unlink(missing_ok=True)
    try:
        yield creating
        fd = os.open(creating, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(creating, target)
        _sync_dir(target.parent)
    finally:
        for path in leftovers:
            path.unlink(missing_ok=True)


@contextmanager
def written_whole(target: Path) -> Iterator[TextIO]:
    """A text file written beside `target` under a temporary name (owner-only) and renamed to it
    once whole and on disk: a failure or an interruption leaves `target` as it was."""
    handle, temporary = tempfile.mkstemp(
        prefix=f".{target.name}.", suffix=".tmp", dir=target.parent
    )
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as out:
            yield out
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
