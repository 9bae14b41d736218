"""Faults while storing: a writer killed at each step of a write, and two writers of one value at
once. Each case checks that nothing stored is lost and that the store keeps working."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest

from sentiment_assets.lib.storage.store import KEEP_VERSIONS, VERSIONS
from sentiment_assets_tests.lib.storage_writer import SLOT, read, store, writer

WRITER = "sentiment_assets_tests.lib.storage_writer"


def _spawn(root: Path, token: str, rounds: int, kill_at: int = 0) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", WRITER, str(root), token, str(rounds), str(kill_at)]
    )


def _kept(root: Path) -> dict[str, str]:
    """Every kept version's token, read whole, by version."""
    values = store(root)
    return {v: values.read(SLOT, read, version=v) for v in values.versions(SLOT)}


@pytest.mark.slow  # kills a process at every step
def test_a_writer_killed_at_any_step_leaves_the_old_value_or_the_new_one(tmp_path: Path) -> None:
    values = store(tmp_path)
    for number in range(KEEP_VERSIONS):
        values.write(SLOT, writer(f"before-{number}"), run_id="setup")
    step = 0
    while True:
        step += 1
        before = _kept(tmp_path)
        old = values.read(SLOT, read)
        child = _spawn(tmp_path, f"killed{step}", rounds=1, kill_at=step)
        if child.wait() == 0:
            break  # the write has no step left to kill it at
        assert child.returncode == -signal.SIGKILL
        after = _kept(tmp_path)
        current = values.read(SLOT, read)
        if current == old:  # killed before the swap: every kept version as it was
            assert after == before
        else:  # killed after it: the new value, and the versions before it
            assert current == f"killed{step}-0"
            assert list(after.items())[1:] == list(before.items())[: KEEP_VERSIONS - 1]
        # What the killed writer left never blocks the next write, which cleans it up.
        values.write(SLOT, writer(f"after{step}"), run_id="parent")
        assert values.read(SLOT, read) == f"after{step}"
        folders = {p.name for p in values.files.path(f"{SLOT.folder}/{VERSIONS}").iterdir()}
        assert folders == set(values.versions(SLOT))
    # Every step was reached: folders, file modes, syncs, the swap, the clean-up.
    assert step > 20


def test_two_writers_of_one_value_never_mix_or_lose_it(tmp_path: Path) -> None:
    values = store(tmp_path)
    values.write(SLOT, writer("first"), run_id="setup")
    rounds = 25
    writers = [_spawn(tmp_path, name, rounds) for name in ("left", "right")]
    seen = set()
    while any(w.poll() is None for w in writers):
        seen.add(values.read(SLOT, read))  # whole, or read() fails
    assert [w.returncode for w in writers] == [0, 0]
    assert len(seen) > 1  # the reader did see the value change under it
    current = values.read(SLOT, read)
    assert current in {f"left-{rounds - 1}", f"right-{rounds - 1}"}
    kept = _kept(tmp_path)
    assert len(kept) == KEEP_VERSIONS
    folders = {p.name for p in values.files.path(f"{SLOT.folder}/{VERSIONS}").iterdir()}
    assert folders == set(kept)
