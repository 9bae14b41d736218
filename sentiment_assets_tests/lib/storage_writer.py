"""A storage writer to run in a process of its own: `python -m ... ROOT TOKEN ROUNDS [KILL_AT]`.

It stores ROUNDS values `TOKEN-<round>` in one slot. With KILL_AT, it kills itself with SIGKILL at
that step of its first write: a step is a call of a file-system function the store makes durable
or cleans with (wrapped here, in this process only), or a point between two files of the value.
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path

from sentiment_assets.lib.storage.files import LocalFiles
from sentiment_assets.lib.storage.store import Slot, VersionedStore

SLOT = Slot("asset", "drop")
# The value is three files; a reader that sees two different tokens saw a mixed value.
FILES = {"a.txt": 1, "b.txt": 20_000, "c.txt": 1}
STEPS = ("mkdir", "chmod", "fchmod", "fsync", "replace", "rename", "unlink", "rmdir")


def store(root: Path) -> VersionedStore:
    return VersionedStore(LocalFiles(root))


def writer(token: str, step: Callable[[], None] = lambda: None) -> Callable[[Path], None]:
    def write(folder: Path) -> None:
        for name, repeat in FILES.items():
            step()
            (folder / name).write_text(token * repeat)

    return write


def read(folder: Path) -> str:
    """The token of a stored value; AssertionError when its files disagree."""
    tokens = set()
    for name, repeat in FILES.items():
        text = (folder / name).read_text()
        token = text[: len(text) // repeat]
        assert text == token * repeat, f"{folder / name} is cut short"
        tokens.add(token)
    assert len(tokens) == 1, f"a mixed value in {folder}: {sorted(tokens)}"
    return tokens.pop()


def main(root: str, token: str, rounds: str, kill_at: str = "0") -> None:
    calls = 0

    def step() -> None:
        nonlocal calls
        calls += 1
        if calls == int(kill_at):
            os.kill(os.getpid(), signal.SIGKILL)

    def counted(real: Callable) -> Callable:
        def call(*args, **kwargs):
            step()
            return real(*args, **kwargs)

        return call

    if int(kill_at):
        for name in STEPS:
            setattr(os, name, counted(getattr(os, name)))
    for number in range(int(rounds)):
        store(Path(root)).write(SLOT, writer(f"{token}-{number}", step), run_id=token)


if __name__ == "__main__":
    main(*sys.argv[1:])
