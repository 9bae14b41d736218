"""The drop sensor's decision: what to ingest this tick, as a pure function of the landing folder now
and what the sensor remembers from earlier ticks.

The sensor (and `sentiment-run`) only lists the folder, reads last bytes, hashes files and
reports; `plan_ingestion` decides.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from sentiment_assets.lib import drops
from sentiment_assets.lib.drops import (
    FILE_TAG,
    SHA256_TAG,
    LandingFile,
    Unfinished,
    scan_landing,
)
from sentiment_assets.model.reviews import HEAD_BYTES, unfinished_tail, wrong_encoding


@dataclass
class Sent:
    """The content last requested for a drop, the file's signature then, and when."""

    sha256: str
    signature: list[int]
    planned_ns: int


@dataclass
class StoredCopy:
    """A landing file skipped because a stored drop, whose file has left, holds its content."""

    drop: str
    sha256: str
    signature: list[int]


@dataclass
class DropMemory:
    """What the drop sensor remembers between ticks (stored by Dagster as its cursor).

    `seen`: each file's signature (size and times) at the last tick; a file is stable once it did
    not change between two ticks. `owners`: partition key -> the file that claimed it first.
    `sent`: key -> the content last requested. `noted`: file -> the last reason logged for
    skipping it, so each reason is logged once. `requests`: how many runs were requested, which
    makes every run key new (content A, then B, then A again is read three times).
    `stored_copies`: file -> the stored drop found to hold its content, and the file's signature
    then: neither hashed nor looked up again while it stays unchanged and the drop exists.
    """

    seen: dict[str, list[int]] = field(default_factory=dict)
    owners: dict[str, str] = field(default_factory=dict)
    sent: dict[str, Sent] = field(default_factory=dict)
    noted: dict[str, str] = field(default_factory=dict)
    requests: int = 0
    stored_copies: dict[str, StoredCopy] = field(default_factory=dict)

    @classmethod
    def load(cls, raw: str | None) -> DropMemory:
        if not raw:
            return cls()
        fields = json.loads(raw)
        # A cursor written before `Sent` held lists: forgetting them costs one hash per drop, and
        # the stored data versions still keep the drops from being read again.
        fields["sent"] = {k: Sent(**v) for k, v in fields["sent"].items() if isinstance(v, dict)}
        copies = fields.get("stored_copies", {})  # absent from cursors written before it
        fields["stored_copies"] = {name: StoredCopy(**v) for name, v in copies.items()}
        return cls(**fields)

    def dump(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)


@dataclass(frozen=True)
class Ingested:
    """The file and content behind a drop's latest stored value (None before the first)."""

    file: str | None
    sha256: str


@dataclass(frozen=True)
class DropRequest:
    """Read this file, with this content, as this drop (replacing what it holds, if anything)."""

    key: str
    file: str
    sha256: str
    run_key: str
    replaces: Ingested | None = None

    @property
    def tags(self) -> dict[str, str]:
        return {FILE_TAG: self.file, SHA256_TAG: self.sha256}

    @property
    def note(self) -> str:
        line = f"{self.file}: read as drop '{self.key}' (sha256 {self.sha256[:12]})"
        if self.replaces is None:
            return line
        return (
            f"{line}; its content changed, so it replaces the stored drop (read from "
            f"{self.replaces.file or 'an unknown file'}, sha256 {self.replaces.sha256[:12]})"
        )


@dataclass
class IngestionPlan:
    requests: list[DropRequest]
    new_keys: list[str]
    log: list[str]  # why files were skipped: each reason once, when it first applies
    memory: DropMemory
    # Of those, the files that stay unread until a person acts (renames, converts, copies them
    # in), with why: all of them this tick, noted before or not.
    unread: list[str] = field(default_factory=list)
    # Files seen for the first time this tick: read once they hold still until the next.
    new_files: list[str] = field(default_factory=list)


def plan_ingestion(
    files: Iterable[LandingFile],
    refused: dict[str, str],
    memory: DropMemory,
    *,
    last_byte: Callable[[str], bytes],
    head: Callable[[str], bytes],
    sha256: Callable[[str], str],
    ingested: Callable[[str], Ingested | None],
    partitions: set[str],
    max_requests: int,
    now_ns: int,
    grace_seconds: float,
) -> IngestionPlan:
    """Which drops to read this tick, from the landing files now and the sensor's memory.

    - A file is read once it is stable (size and times as at the last tick) and looks finished
      (it ends with a newline). One that does not is left in place until the grace period has
      passed since it last changed; then it is read, and `raw_reviews` judges it truncated. One
      whose start shows it is not UTF-8 (`wrong_encoding`) is read at once: `raw_reviews`
      quarantines it, saying so.
    - A file whose content changed is read again; a touched but unchanged one is not. A file
      planned within its grace period and not stored since (its run found it unfinished, or
      could not read it) is planned once more when the grace period has passed.
    - The first file to claim a partition key keeps it, whatever the names' order: a later file
      whose name maps to the same key is refused with a log line until it is renamed.
    - The same content as another drop under a second name (a key that holds nothing yet and was
      never requested) is skipped with a log line: another file's planned this tick or earlier,
      or the content a drop stored (its file may have left the folder: an archived drop sent
      again, or renamed). The stored drops are read for such a file once, then only its drop
      while it stays unchanged. A drop that holds content, or whose read is on its way, follows
      its file, even to another drop's content.
    - A file that left the folder (quarantined, deleted) is forgotten: when a file of that name
      lands again (another inode, even between two ticks) it is read again, unless its content
      is what the drop already holds. A file whose drop's partition was deleted while it stayed
      is read again, as a new drop.
    - A file that cannot be read now (`last_byte`, `head` or `sha256` raise `OSError`) is
      skipped and tried again next tick; it never stops the others.
    - Every reason to skip a file (including `refused` entries from `scan_landing`) is logged
      once, when it first applies.
    `last_byte(name)`, `head(name)` (its first `HEAD_BYTES`) and `sha256(name)` read a landing
    file; `ingested(key)` says what a drop's stored value was read from; `partitions` are the
    drop partitions that exist.
    """
    memory = DropMemory.load(memory.dump())
    files = sorted(files, key=lambda f: (f.name not in memory.seen, f.mtime_ns, f.name))
    present = {f.name for f in files}
    grace_ns = grace_seconds * 1e9
    log: list[str] = []

    for key, owner in list(memory.owners.items()):
        if owner not in present:
            memory.sent.pop(key, None)
            if key not in partitions:
                del memory.owners[key]  # its partition was deleted: the key is free again
        elif key not in partitions and key in memory.sent:
            # Its partition was deleted (the UI's "delete partition") while its file stayed:
            # a landed file is a drop, read again now, where it stayed unread without a word
            # once older than the grace period (remove-drop takes a drop away for good).
            del memory.sent[key]
    noted, memory.noted = memory.noted, {}

    unread: list[str] = []
    new_files: list[str] = []

    def skip(name: str, reason: str, *, until_acted_on: bool = False) -> None:
        memory.noted[name] = reason
        if noted.get(name) != reason:
            log.append(f"{name}: {reason}")
        if until_acted_on:
            unread.append(f"{name}: {reason}")

    for name, reason in refused.items():
        skip(name, reason, until_acted_on=True)

    content_owner = {sent.sha256: key for key, sent in memory.sent.items()}
    copies: dict[str, StoredCopy] = {}  # this tick's `memory.stored_copies`
    landed_keys = {f.key for f in files}

    def held_still(copy: StoredCopy) -> bool:
        held = ingested(copy.drop) if copy.drop in partitions else None
        return held is not None and held.sha256 == copy.sha256

    def copy_note(drop: str) -> str:
        """Why a file with `drop`'s content is skipped; how to read it, when its drop's file left."""
        if drop in landed_keys:  # its own file is here (for a stored drop, maybe older than it)
            return f"same content as drop '{drop}'; skipped"
        return (
            f"same content as stored drop '{drop}'; skipped (to read it under this name, remove "
            f"that drop first: sentiment-platform remove-drop {drop})"
        )

    stored_owner: dict[str, str] | None = None  # read once a tick, when first needed

    def stored_content_owner(sha: str) -> str | None:
        nonlocal stored_owner
        if stored_owner is None:
            stored_owner = {}
            for drop in sorted(partitions):
                if (held := ingested(drop)) is not None:
                    stored_owner.setdefault(held.sha256, drop)
        return stored_owner.get(sha)

    requests: list[DropRequest] = []
    new_keys: list[str] = []
    for file in files:
        key = file.key
        owner = memory.owners.get(key)
        if owner is None:
            owner = memory.owners[key] = _earlier_owner(key, file.name, ingested)
        if owner != file.name:
            skip(
                file.name,
                f"maps to partition key '{key}', which {owner} already owns; rename it",
                until_acted_on=True,
            )
            continue
        if memory.seen.get(file.name) != file.signature:
            if file.name in memory.seen:
                skip(file.name, "is still changing; read once it stops")
            else:
                new_files.append(file.name)
            continue  # new or still changing: look again next tick
        copy = memory.stored_copies.get(file.name)
        if copy is not None and copy.signature == file.signature and held_still(copy):
            copies[file.name] = copy
            skip(file.name, copy_note(copy.drop))
            continue
        unchanged_ns = now_ns - file.mtime_ns
        previous = memory.sent.get(key)
        again = False
        if previous is not None and previous.signature == file.signature:
            if previous.planned_ns - file.mtime_ns >= grace_ns or unchanged_ns < grace_ns:
                continue  # unchanged since it was requested
            stored = ingested(key)
            if stored is not None and stored.sha256 == previous.sha256:
                previous.planned_ns = now_ns  # stored: nothing to look at again
                continue
            again = True
        try:
            start = head(file.name)
            reason = unfinished_tail(last_byte(file.name), start)
            if reason and unchanged_ns < grace_ns and not wrong_encoding(start):
                skip(file.name, Unfinished(reason, unchanged_ns).note(grace_seconds))
                continue
            if len(requests) >= max_requests:
                skip(file.name, f"waits for the next tick (at most {max_requests} runs a tick)")
                continue
            sha = sha256(file.name)
        except drops.RefusedFile as err:  # replaced by a link or a folder since the scan
            skip(file.name, err.reason)
            continue
        except OSError as err:
            skip(file.name, f"cannot be read ({drops.why(err)}); tried again next tick")
            continue
        # Only a name that holds nothing yet, and was never requested, is a second name for a
        # drop's content: a drop that holds some, or whose read is still on its way, follows its
        # file, also to another drop's content (read while still being copied, a review found the
        # rest never replacing what was read).
        if previous is None and ingested(key) is None:
            other = content_owner.get(sha)
            if other is not None and other != key:
                skip(file.name, copy_note(other))
                continue
            other = other or stored_content_owner(sha)
            if other is not None and other != key:
                copies[file.name] = StoredCopy(other, sha, file.signature)
                skip(file.name, copy_note(other))
                continue
        memory.sent[key] = Sent(sha, file.signature, now_ns)
        content_owner.setdefault(sha, key)
        # The same file with the content last requested was touched, not changed. Another file
        # with it left (quarantined, say) and landed again between two ticks: read as any landing.
        same_file = previous is not None and previous.signature[-1:] == [file.inode]
        if same_file and previous.sha256 == sha and not again:
            continue
        stored = ingested(key)
        if stored is not None and stored.sha256 == sha:
            continue  # already read, maybe before the sensor ran
        memory.requests += 1
        run_key = f"{key}:{sha[:16]}:{memory.requests}"
        requests.append(DropRequest(key, file.name, sha, run_key, replaces=stored))
        if key not in partitions:
            new_keys.append(key)
    memory.seen = {f.name: f.signature for f in files}
    memory.stored_copies = copies
    return IngestionPlan(requests, new_keys, log, memory, unread, new_files)


def plan_folder(
    folder: Path,
    memory: DropMemory,
    *,
    ingested: Callable[[str], Ingested | None],
    partitions: set[str],
    max_requests: int,
    grace_seconds: float,
    settled: bool = False,
) -> IngestionPlan:
    """`plan_ingestion` on the landing folder as it is now; with `settled`, every file counts as
    stable (whoever asks has finished copying)."""
    files, refused = scan_landing(folder)
    if settled:
        memory = replace(memory, seen={f.name: f.signature for f in files})
    return plan_ingestion(
        files,
        refused,
        memory,
        last_byte=lambda name: drops.last_byte(folder / name),
        head=lambda name: drops.first_bytes(folder / name, HEAD_BYTES),
        sha256=lambda name: drops.file_sha256(folder / name),
        ingested=ingested,
        partitions=partitions,
        max_requests=max_requests,
        now_ns=time.time_ns(),
        grace_seconds=grace_seconds,
    )


def _earlier_owner(key: str, name: str, ingested: Callable[[str], Ingested | None]) -> str:
    """Who owns a key the sensor has not seen claimed: the file its stored value came from."""
    stored = ingested(key)
    return stored.file if stored is not None and stored.file else name


def removed_drops(held: set[str] | None, current: set[str]) -> list[str]:
    """The drops a dataset holds (`held`; None when there is none) that are no longer drops: it
    must be built again without them."""
    return sorted((held or set()) - current)
