"""Versioned values: every write makes a new version folder and then swaps a pointer to it.

The old value stays readable until the new one is whole and on disk; a crash at any instant leaves
one or the other, and what a crashed write left is cleaned by the next. Layout under the root
(every name made by `encode_name`, so no key collides with the store's own names or leaves it):

    <asset>/value/                 an unpartitioned asset
    <asset>/partitions/<key>/      one partition of an asset
        current                    JSON: the current version and the kept ones, newest first
        lock                       held by the one writer of this value at a time
        versions/<version>/        one value each, never changed once `current` names it
"""

from __future__ import annotations

import hashlib
import secrets
import string
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from pydantic import BaseModel, Field

from sentiment_assets.lib.storage.files import DiskFull, LocalFiles

if TYPE_CHECKING:
    from sentiment_assets.lib.storage.objects import ObjectFiles

# Versions kept per value: the current one and the two before it, of other contents (a write of
# the content a kept version holds replaces that version). A reader that read the pointer just
# before a swap reads the version before, so at least two must stay; when that version held the
# same content it is gone, and `read` reads the new one instead.
KEEP_VERSIONS = 3

POINTER, LOCK, VERSIONS = "current", "lock", "versions"

_SAFE = frozenset(string.ascii_letters + string.digits + "_-.")
# One path component stays far below 255 bytes, and a whole path within object-store key limits.
_MAX_NAME = 120

T = TypeVar("T")


def encode_name(name: str) -> str:
    """A file name for any string, distinct for distinct strings: letters, digits and `_-.` kept,
    other bytes and a leading `.` as `%XX`; a long one cut and ended with `~` and a hash of the
    whole string (`~` never appears otherwise)."""
    raw = name.encode("utf-8", "surrogatepass")
    encoded = "".join(
        c if c in _SAFE else "".join(f"%{b:02X}" for b in c.encode("utf-8", "surrogatepass"))
        for c in name
    )
    if encoded.startswith("."):
        encoded = "%2E" + encoded[1:]
    if len(encoded) > _MAX_NAME:
        encoded = f"{encoded[: _MAX_NAME - 33]}~{hashlib.sha256(raw).hexdigest()[:32]}"
    return encoded or "%"


@dataclass(frozen=True)
class Slot:
    """Where one asset's value lives, or one partition's."""

    asset: str
    partition: str | None = None

    @property
    def folder(self) -> str:
        where = "value" if self.partition is None else f"partitions/{encode_name(self.partition)}"
        return f"{encode_name(self.asset)}/{where}"

    def __str__(self) -> str:
        return self.asset if self.partition is None else f"{self.asset} [{self.partition}]"


class Pointer(BaseModel):
    """The `current` file. Only `version`, `kept` and `contents` are read back; the rest is for
    people."""

    version: str
    kept: list[str]
    # What each kept version holds, where its writer said (`VersionedStore.write`'s `content`).
    contents: dict[str, str] = Field(default_factory=dict)
    asset: str
    partition: str | None
    run_id: str
    written_at: datetime


@dataclass(frozen=True)
class Stored:
    """What a write stored: the new version, where it is, and where the one it replaced is kept
    (None when there was none, or it held the same content and made way)."""

    version: str
    path: Path | str  # a folder, or an object-store URL
    replaced: Path | str | None


class NotStored(LookupError):
    """No whole value where one was asked for."""


class VersionedStore:
    """Values by slot, each write a new version; the last `keep` versions stay readable."""

    def __init__(self, files: LocalFiles | ObjectFiles, keep: int = KEEP_VERSIONS) -> None:
        if keep < 2:
            raise ValueError("keep at least 2 versions: a reader may still read the one before")
        self.files, self.keep = files, keep

    def write(
        self,
        slot: Slot,
        write_value: Callable[[Path], None],
        run_id: str,
        content: str | None = None,
    ) -> Stored:
        """Write a new version with `write_value(folder)`, then make it the current one.

        `content` names what the value holds (a hash of it): a kept version of the same content
        is replaced rather than kept beside it, so writing one content again (a drop read again
        by new code, or re-saved with other line ends) never pushes another content out of the
        last `keep`. One writer per slot at a time; another waits, so two runs never mix their
        values.
        """
        version = "-".join(
            (f"{datetime.now(UTC):%Y%m%dT%H%M%S%fZ}", encode_name(run_id[:8]), secrets.token_hex(4))
        )
        try:
            with self.files.lock(f"{slot.folder}/{LOCK}"):
                before = self._pointer(slot)
                earlier = before.kept if before else []
                self._clean(slot, earlier)  # what crashed writes left frees its space first
                with self.files.staged(self._version(slot, version)) as folder:
                    write_value(folder)
                contents = {**(before.contents if before else {})}
                others = [v for v in earlier if content is None or contents.get(v) != content]
                kept = [version, *others][: self.keep]
                if content is not None:
                    contents[version] = content
                pointer = Pointer(
                    version=version,
                    kept=kept,
                    contents={v: c for v, c in contents.items() if v in kept},
                    asset=slot.asset,
                    partition=slot.partition,
                    run_id=run_id,
                    written_at=datetime.now(UTC),
                )
                try:
                    self.files.write_atomic(f"{slot.folder}/{POINTER}", pointer.model_dump_json())
                except BaseException:
                    self._forget(slot, version, earlier)
                    raise
                self._clean(slot, pointer.kept)
        except DiskFull as err:
            raise DiskFull(
                f"storing {slot} failed: the disk is full ({err}); every value stored before is "
                "unchanged"
            ) from err
        return Stored(
            version=version,
            path=self.path(slot, version),
            replaced=self.path(slot, before.version) if before and before.version in kept else None,
        )

    def read(self, slot: Slot, read_value: Callable[[Path], T], version: str | None = None) -> T:
        """The current value (or a kept `version`), read whole from one version folder.

        A version removed while it was read (the writes went on) is read again from the new one.
        """
        pointer = self._pointer(slot)
        while True:
            if pointer is None:
                raise NotStored(f"{slot} has no stored value in {self.files.path(slot.folder)}")
            chosen = version or pointer.version
            try:
                with self.files.readable(self._version(slot, chosen)) as folder:
                    return read_value(folder)
            except FileNotFoundError as err:
                newer = self._pointer(slot)
                if version or newer is None or newer.version == pointer.version:
                    raise NotStored(
                        f"{slot}: stored version {chosen} is incomplete ({err})"
                    ) from err
                pointer = newer

    def version_of(self, slot: Slot, content: str) -> str | None:
        """The kept version that holds `content` (as its writer named it), if one does."""
        pointer = self._pointer(slot)
        if pointer is None:
            return None
        return next((v for v in pointer.kept if pointer.contents.get(v) == content), None)

    def versions(self, slot: Slot) -> list[str]:
        """The kept versions, the current one first; none when nothing is stored."""
        pointer = self._pointer(slot)
        return pointer.kept if pointer else []

    def path(self, slot: Slot, version: str) -> Path | str:
        """Where a version is: a folder, or an object-store URL."""
        return self.files.path(self._version(slot, version))

    def remove(self, slot: Slot) -> int:
        """Delete the value and every kept version; how many versions there were."""
        if not self.files.exists(slot.folder):
            return 0
        with self.files.lock(f"{slot.folder}/{LOCK}"):
            kept = self.versions(slot)
            # The pointer first: a removal cut short reads as nothing stored, never as half a value.
            self.files.remove(f"{slot.folder}/{POINTER}")
            self.files.remove(slot.folder)
        return len(kept)

    def _pointer(self, slot: Slot) -> Pointer | None:
        text = self.files.read_text(f"{slot.folder}/{POINTER}")
        return Pointer.model_validate_json(text) if text is not None else None

    def _version(self, slot: Slot, version: str) -> str:
        return f"{slot.folder}/{VERSIONS}/{version}"

    def _forget(self, slot: Slot, version: str, earlier: list[str]) -> None:
        """After a failed pointer swap, remove the version the write began (on a full disk it
        takes room the next write needs), unless the pointer names it after all (the swap was
        done when the failure came); best effort: the swap's own error is the one to raise."""
        try:
            after = self._pointer(slot)
            if after is None or after.version != version:
                self._clean(slot, earlier)
        except Exception:  # the next write's `_clean` removes it then
            pass

    def _clean(self, slot: Slot, kept: list[str]) -> None:
        """Remove what the pointer does not name: older versions and crashed writes' leftovers."""
        for name in self.files.names(slot.folder):
            if name not in (POINTER, LOCK, VERSIONS):
                self.files.remove(f"{slot.folder}/{name}")
        for name in self.files.names(f"{slot.folder}/{VERSIONS}"):
            if name not in kept:
                self.files.remove(f"{slot.folder}/{VERSIONS}/{name}")
