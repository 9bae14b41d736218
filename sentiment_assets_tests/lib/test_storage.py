"""The versioned store: names for any key, versions kept, owner-only files, the order of syncs,
readers during swaps, a full disk and removal."""

from __future__ import annotations

import errno
import os
import stat
import subprocess
import sys
import threading
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sentiment_assets.lib.storage.files import DiskFull, LocalFiles
from sentiment_assets.lib.storage.legacy import adopt_legacy_values
from sentiment_assets.lib.storage.store import (
    KEEP_VERSIONS,
    LOCK,
    POINTER,
    VERSIONS,
    NotStored,
    Slot,
    VersionedStore,
    encode_name,
)
from sentiment_assets.lib.storage.values import read_value, write_value
from sentiment_assets.model.dataset import PaddedDataset, Vocabulary
from sentiment_assets_tests.lib.storage_writer import FILES, read, writer

# Keys a person can type in the UI, keys that differ only where escaping acts, and the store's own
# names and suffixes.
KEYS = [
    *("a/b", "a_b", "a%2Fb", "a%252Fb", "/a", "a\\b", "a b", "a\x00b", "a~b"),
    *("..", ".", "%2E%2E", "%2E", ".hidden", "", "%"),
    *("x" * 250, "x" * 249 + "y", "é" * 250, "/" * 250),
    *(POINTER, LOCK, VERSIONS, "value", "partitions", "x.old", "x.writing"),
]


def test_encoded_names_are_distinct_short_and_never_special() -> None:
    names = [encode_name(key) for key in KEYS]
    assert len(set(names)) == len(KEYS)
    for name in names:
        assert name and not name.startswith(".") and "/" not in name and "\x00" not in name
        assert len(name.encode()) <= 120
    assert encode_name("reviews_2026-01.old") == "reviews_2026-01.old"  # readable as it was


def test_any_partition_key_gets_a_value_of_its_own_inside_the_root(tmp_path: Path) -> None:
    root = tmp_path / "storage"
    values = VersionedStore(LocalFiles(root))
    slots = [Slot("asset", key) for key in KEYS]
    slots += [Slot("asset"), Slot("asset/partitions"), Slot("asset/value")]
    for slot in slots:
        values.write(slot, writer(str(slot)), run_id="run")

    folders = set()
    for slot in slots:
        assert values.read(slot, read) == str(slot)
        (version,) = values.versions(slot)
        path = values.path(slot, version).resolve()
        assert path.is_relative_to(root.resolve())
        folders.add(path)
    assert len(folders) == len(slots)
    # Nothing was written outside the root.
    assert {p.name for p in tmp_path.iterdir()} == {"storage"}


def test_a_replaced_value_stays_readable_and_the_last_versions_are_kept(tmp_path: Path) -> None:
    values = VersionedStore(LocalFiles(tmp_path))
    slot = Slot("raw_reviews", "reviews_x")
    replaced = [values.write(slot, writer(f"v{n}"), run_id="run").replaced for n in range(5)]

    kept = values.versions(slot)
    assert len(kept) == KEEP_VERSIONS
    assert [values.read(slot, read, version=v) for v in kept] == ["v4", "v3", "v2"]
    assert replaced[0] is None and read(replaced[-1]) == "v3"
    assert {p.name for p in values.path(slot, kept[0]).parent.iterdir()} == set(kept)
    with pytest.raises(NotStored):
        values.read(slot, read, version="no-such-version")


def test_a_content_written_again_replaces_its_own_version_not_another_content(
    tmp_path: Path,
) -> None:
    values = VersionedStore(LocalFiles(tmp_path))
    slot = Slot("raw_reviews", "reviews_x")
    for text, content in [("full", "A"), ("cut", "B"), ("other", "C"), ("cut again", "B")]:
        stored = values.write(slot, writer(text), run_id="run", content=content)
    # The first "cut" made way for its re-read; the full content is still kept.
    assert [values.read(slot, read, version=v) for v in values.versions(slot)] == [
        "cut again",
        "other",
        "full",
    ]
    assert read(stored.replaced) == "other"
    # Re-read while it is the current content: nothing else kept is replaced, and no earlier
    # value of another content is named as what it replaces.
    again = values.write(slot, writer("cut, third read"), run_id="run", content="B")
    assert again.replaced is None
    assert [values.read(slot, read, version=v) for v in values.versions(slot)] == [
        "cut, third read",
        "other",
        "full",
    ]
    # A kept content is found by what it holds (the dataset a model version trained on).
    assert values.read(slot, read, version=values.version_of(slot, "A")) == "full"
    assert values.version_of(slot, "Z") is None
    # A value without a content counts on its own.
    values.write(slot, writer("unlabelled"), run_id="run")
    assert len(values.versions(slot)) == KEEP_VERSIONS


def test_a_reader_slower_than_the_versions_kept_reads_the_value_written_since(
    tmp_path: Path,
) -> None:
    # Deterministically what a slow reader meets: while it reads, enough writes go on to delete
    # the version it opened; it reads again from the version now current.
    values = VersionedStore(LocalFiles(tmp_path))
    slot = Slot("raw_reviews", "reviews_x")
    values.write(slot, writer("old"), run_id="run")
    opened = []

    def slow_read(folder: Path) -> str:
        opened.append(folder.name)
        if len(opened) == 1:
            for n in range(KEEP_VERSIONS):
                values.write(slot, writer(f"new{n}"), run_id="run")
        return read(folder)

    assert values.read(slot, slow_read) == f"new{KEEP_VERSIONS - 1}"
    assert opened[1] == values.versions(slot)[0] != opened[0]


def test_a_current_version_whose_folder_is_gone_is_not_stored_not_read_for_ever(
    tmp_path: Path,
) -> None:
    import shutil

    values = VersionedStore(LocalFiles(tmp_path))
    slot = Slot("raw_reviews", "reviews_x")
    stored = values.write(slot, writer("only"), run_id="run")
    shutil.rmtree(values.path(slot, stored.version))
    raised: list[BaseException] = []

    def reading() -> None:
        try:
            values.read(slot, read)
        except BaseException as err:  # handed to the test's thread
            raised.append(err)

    reader = threading.Thread(target=reading, daemon=True)  # a loop must not hang the suite
    reader.start()
    reader.join(timeout=60)
    assert not reader.is_alive(), "the read went round for a minute"
    assert isinstance(raised[0], NotStored) and "incomplete" in str(raised[0])


def test_a_writer_waiting_on_a_lock_removed_meanwhile_locks_the_new_one(tmp_path: Path) -> None:
    # A slot removed (its lock file with it) while a writer waits: the writer must not go on
    # holding the deleted file's lock, beside a writer that locks the file created since.
    import fcntl
    import time

    files, rel = LocalFiles(tmp_path), "asset/drop/.lock"
    entered, leave = threading.Event(), threading.Event()

    def waiting_writer() -> None:
        with files.lock(rel):
            entered.set()
            leave.wait(30)

    with files.lock(rel):
        waiter = threading.Thread(target=waiting_writer, daemon=True)
        waiter.start()
        deadline = time.monotonic() + 30
        while f"-> FLOCK  ADVISORY  WRITE {os.getpid()} " not in Path("/proc/locks").read_text():
            assert time.monotonic() < deadline, "the second writer never waited"
            time.sleep(0.01)
        files.remove("asset")
    assert entered.wait(30)
    try:
        files.make_folder("asset/drop")  # as the next writer would
        with open(files.path(rel), "a") as current, pytest.raises(BlockingIOError):
            fcntl.flock(current, fcntl.LOCK_EX | fcntl.LOCK_NB)
    finally:
        leave.set()
        waiter.join(30)


def test_stored_values_are_for_their_owner_only(tmp_path: Path, sample_dataset) -> None:
    root = tmp_path / "storage"
    values = VersionedStore(LocalFiles(root))
    values.write(Slot("padded_dataset"), partial(write_value, sample_dataset), run_id="run")
    values.write(Slot("raw", "a/b"), partial(write_value, pd.DataFrame({"a": [1]})), run_id="run")

    modes = {p: stat.S_IMODE(p.stat().st_mode) for p in [root, *root.rglob("*")]}
    assert {m for p, m in modes.items() if p.is_dir()} == {0o700}
    assert {m for p, m in modes.items() if p.is_file()} == {0o600}
    assert len(modes) > 10


def test_the_value_is_on_disk_before_the_pointer_names_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    values = VersionedStore(LocalFiles(tmp_path.resolve()))
    slot = Slot("asset", "drop")
    values.write(slot, writer("old"), run_id="run")
    events: list[tuple[str, str]] = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd: int) -> None:
        events.append(("fsync", os.readlink(f"/proc/self/fd/{fd}")))
        real_fsync(fd)

    def replace(source, target) -> None:
        events.append(("replace", str(target)))
        real_replace(source, target)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    stored = values.write(slot, writer("new"), run_id="run")

    folder = values.files.path(slot.folder)
    swap = events.index(("replace", str(folder / POINTER)))
    synced_before = {path for event, path in events[:swap] if event == "fsync"}
    new = stored.path
    assert {str(new / name) for name in FILES} | {str(new), str(new.parent)} <= synced_before
    assert ("fsync", str(folder)) in events[swap:]  # the swap itself is on disk


def test_a_reader_during_swaps_gets_one_whole_dataset(tmp_path: Path, sample_dataset) -> None:
    small = PaddedDataset(
        reviews=sample_dataset.reviews.iloc[:300].reset_index(drop=True),
        sequences=sample_dataset.sequences[:300],
        vocabulary=sample_dataset.vocabulary,
        sequence_length=sample_dataset.sequence_length,
    )
    values = VersionedStore(LocalFiles(tmp_path))
    slot = Slot("padded_dataset")
    values.write(slot, partial(write_value, sample_dataset), run_id="first")
    stop = threading.Event()
    errors: list[BaseException] = []

    def swap() -> None:
        number = 0
        try:
            while not stop.is_set():
                dataset = (small, sample_dataset)[number % 2]
                values.write(slot, partial(write_value, dataset), run_id="swapper")
                number += 1
        except BaseException as err:
            errors.append(err)

    swapper = threading.Thread(target=swap, daemon=True)
    swapper.start()
    whole = {small.fingerprint, sample_dataset.fingerprint}
    seen = []
    try:
        # Until the reader has seen both values, over at least 30 reads (or the swapper failed).
        while swapper.is_alive() and (set(seen) != whole or len(seen) < 30):
            seen.append(values.read(slot, read_value).fingerprint)
            assert set(seen) <= whole
    finally:
        stop.set()
        swapper.join(timeout=60)
    assert not swapper.is_alive() and errors == []
    assert set(seen) == whole


@pytest.fixture
def tiny_disk(tmp_path: Path):
    """A 1 MiB tmpfs (mounting one needs root; skipped otherwise)."""
    folder = tmp_path / "tiny"
    folder.mkdir()
    mount = ["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(folder)]
    if subprocess.run(mount, capture_output=True).returncode != 0:
        pytest.skip("cannot mount a tmpfs here (needs root)")
    yield folder
    subprocess.run(["umount", str(folder)], check=True)


def test_a_full_disk_fails_the_write_and_keeps_every_stored_value(tiny_disk: Path) -> None:
    values = VersionedStore(LocalFiles(tiny_disk))
    small = pd.DataFrame({"a": range(100)})
    for partition in ("p", "q"):
        values.write(Slot("t", partition), partial(write_value, small), run_id="run")
    rng = np.random.default_rng(0)
    big_table = pd.DataFrame({"a": rng.random(400_000)})
    # numpy reports a full disk as a short write without an errno; the store still names it.
    big_dataset = PaddedDataset(
        reviews=small,
        sequences=rng.random((400_000, 1)),
        vocabulary=Vocabulary(("a",)),
        sequence_length=1,
    )

    for big in (big_table, big_dataset):
        with pytest.raises(DiskFull, match=r"storing t \[p\] failed: the disk is full"):
            values.write(Slot("t", "p"), partial(write_value, big), run_id="run")
        for partition in ("p", "q"):
            pd.testing.assert_frame_equal(values.read(Slot("t", partition), read_value), small)
            (version,) = values.versions(Slot("t", partition))
            assert {
                p.name for p in values.path(Slot("t", partition), version).parent.iterdir()
            } == {version}
    # A disk filled to the last byte by something else: even a small value fails, saying why.
    filler = tiny_disk / "filler"
    with pytest.raises(OSError), filler.open("wb") as file:
        while True:
            file.write(b"x" * 4096)
            file.flush()
    with pytest.raises(DiskFull, match=r"storing t \[r\] failed: the disk is full"):
        values.write(Slot("t", "r"), partial(write_value, small), run_id="run")
    pd.testing.assert_frame_equal(values.read(Slot("t", "p"), read_value), small)
    filler.unlink()
    values.write(Slot("t", "p"), partial(write_value, small.head(3)), run_id="run")
    assert len(values.read(Slot("t", "p"), read_value)) == 3


def test_a_full_disk_at_the_swap_keeps_the_old_value(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    values = VersionedStore(LocalFiles(tmp_path))
    slot = Slot("asset", "drop")
    values.write(slot, writer("old"), run_id="run")
    real_fsync = os.fsync

    def fsync(fd: int) -> None:
        if Path(os.readlink(f"/proc/self/fd/{fd}")).name.startswith(f".{POINTER}."):
            raise OSError(errno.ENOSPC, "No space left on device")
        real_fsync(fd)

    with monkeypatch.context() as patch:
        patch.setattr(os, "fsync", fsync)
        with pytest.raises(DiskFull, match=r"storing asset \[drop\] failed: the disk is full"):
            values.write(slot, writer("new"), run_id="run")
    assert values.read(slot, read) == "old"
    assert {p.name for p in values.files.path(slot.folder).iterdir()} == {POINTER, LOCK, VERSIONS}
    # The version the write began is gone with it: on a full disk its room is needed.
    assert values.files.names(f"{slot.folder}/{VERSIONS}") == values.versions(slot)
    values.write(slot, writer("later"), run_id="run")
    assert values.read(slot, read) == "later"


def test_removing_a_value_removes_every_version_and_nothing_else(tmp_path: Path) -> None:
    values = VersionedStore(LocalFiles(tmp_path))
    gone, other = Slot("raw_reviews", "x"), Slot("raw_reviews", "x.old")
    for number in range(4):
        values.write(gone, writer(f"v{number}"), run_id="run")
    values.write(other, writer("other"), run_id="run")

    assert values.remove(gone) == KEEP_VERSIONS
    with pytest.raises(NotStored):
        values.read(gone, read)
    assert not values.files.path(gone.folder).exists()
    assert values.read(other, read) == "other"
    assert values.remove(gone) == 0
    values.write(gone, writer("back"), run_id="run")
    assert values.read(gone, read) == "back"


def test_values_of_the_layout_before_versions_move_into_the_store(
    tmp_path: Path, sample_dataset
) -> None:
    root = tmp_path / "storage"
    frames = {key: pd.DataFrame({"key": [key]}) for key in ("a", "partitions", "value", "a.old")}
    for key, frame in frames.items():
        (root / "raw_reviews" / key).mkdir(parents=True)
        write_value(frame, root / "raw_reviews" / key)
    write_value(sample_dataset, root / "padded_dataset")

    assert len(adopt_legacy_values(root)) == 5
    values = VersionedStore(LocalFiles(root))
    for key, frame in frames.items():
        pd.testing.assert_frame_equal(values.read(Slot("raw_reviews", key), read_value), frame)
    dataset = values.read(Slot("padded_dataset"), read_value)
    assert dataset.fingerprint == sample_dataset.fingerprint
    assert {p.name for p in (root / "padded_dataset").iterdir()} == {"value"}
    assert {p.name for p in (root / "raw_reviews").iterdir()} == {"partitions"}
    assert adopt_legacy_values(root) == []


_POOL_AFTER_A_READ = """
import sys
from pathlib import Path

import pandas as pd
import pyarrow

from sentiment_assets.lib.storage.values import read_value, write_value

folder = Path(sys.argv[1])
write_value(pd.DataFrame({"text": ["a review"] * 3}), folder)
read_value(folder)
print(pyarrow.system_memory_pool().max_memory() > 0)
print(pyarrow.default_memory_pool().backend_name)
"""


@pytest.mark.parametrize(("chosen", "expected"), [(None, "system"), ("mimalloc", "mimalloc")])
def test_parquet_goes_through_the_system_allocator_unless_a_pool_is_chosen(
    tmp_path: Path, chosen: str | None, expected: str
) -> None:
    # A fresh interpreter: the pool is the process's, set by the first read or write.
    env = {k: v for k, v in os.environ.items() if k != "ARROW_DEFAULT_MEMORY_POOL"}
    if chosen is not None:
        env["ARROW_DEFAULT_MEMORY_POOL"] = chosen
    found = subprocess.run(
        [sys.executable, "-c", _POOL_AFTER_A_READ, str(tmp_path)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    used_system, pool = found.stdout.splitlines()[-2:]
    assert pool == expected, found.stdout + found.stderr
    assert used_system == str(expected == "system")  # the table went through it, or did not


def test_a_file_created_whole_through_a_link_is_created_at_its_target(tmp_path: Path) -> None:
    """A store linked to a volume: renamed onto the link, the file replaced the link (a review)."""
    from sentiment_assets.lib.storage.files import created_whole

    (tmp_path / "volume").mkdir()
    link = tmp_path / "mlflow.db"
    link.symlink_to(tmp_path / "volume" / "mlflow.db")
    with created_whole(link) as creating:
        creating.write_text("whole")
    assert link.is_symlink() and (tmp_path / "volume" / "mlflow.db").read_text() == "whole"
    assert sorted(p.name for p in (tmp_path / "volume").iterdir()) == ["mlflow.db"]
