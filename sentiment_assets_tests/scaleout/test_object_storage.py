"""The versioned store on a real S3-compatible server (SeaweedFS): what every worker of the scale-out
profile reads and writes. The same promises as on the local disk: the old value or the new one,
never neither, never a mix; any key stays inside its prefix; a crashed writer never blocks."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from sentiment_assets.lib.storage.objects import LeaseLost, ObjectFiles
from sentiment_assets.lib.storage.store import NotStored, Slot, VersionedStore
from sentiment_assets.lib.storage.values import read_value, write_value
from sentiment_assets_tests.processes import free_port, stop_group
from sentiment_assets_tests.scaleout.services import s3_client, s3_environment, start_seaweedfs


@pytest.fixture(scope="module")
def endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    root = tmp_path_factory.mktemp("seaweedfs")
    port = free_port()
    server = start_seaweedfs(root / "data", port, root)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        stop_group(server, grace=5)


@pytest.fixture
def url(endpoint: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """A fresh prefix of the profile's bucket, with the client environment set."""
    for name, value in s3_environment(endpoint).items():
        monkeypatch.setenv(name, value)
    return f"s3://sentiment/test-{uuid.uuid4().hex[:8]}"


def _frame(n: int) -> pd.DataFrame:
    return pd.DataFrame({"review_id": range(n), "text": [f"review {n}"] * n})


def _write(store: VersionedStore, slot: Slot, frame: pd.DataFrame, run: str = "run-1") -> str:
    from functools import partial

    return store.write(slot, partial(write_value, frame), run).version


def test_values_round_trip_and_replaced_ones_stay_readable(url: str) -> None:
    store = VersionedStore(ObjectFiles(url))
    slot = Slot("stemmed_corpus", "reviews_2026-01")
    first = _write(store, slot, _frame(3))
    second = _write(store, slot, _frame(5))

    pd.testing.assert_frame_equal(store.read(slot, read_value), _frame(5))
    pd.testing.assert_frame_equal(store.read(slot, read_value, version=first), _frame(3))
    assert store.versions(slot) == [second, first]
    assert store.path(slot, second).startswith(f"{url}/stemmed_corpus/partitions/")


def test_any_key_stays_inside_its_prefix_and_never_collides(url: str) -> None:
    store = VersionedStore(ObjectFiles(url))
    keys = ["a/b", "..", ".", "x.old", "x", "é" * 200, "a%2Fb"]
    for n, key in enumerate(keys, start=1):
        _write(store, Slot("raw_reviews", key), _frame(n))
    for n, key in enumerate(keys, start=1):
        assert len(store.read(Slot("raw_reviews", key), read_value)) == n
    bucket, prefix = url.removeprefix("s3://").split("/", 1)
    client = s3_client(os.environ["AWS_ENDPOINT_URL"])
    everything = client.list_objects_v2(Bucket=bucket)["Contents"]
    ours = [o["Key"] for o in everything if o["Key"].startswith(f"{prefix}/")]
    assert ours and all(key.startswith(f"{prefix}/raw_reviews/partitions/") for key in ours)


def test_two_writers_at_once_never_mix_or_lose_the_value(url: str) -> None:
    slot = Slot("padded_dataset", None)
    seen: list[int] = []
    errors: list[BaseException] = []

    def writer(n: int) -> None:
        store = VersionedStore(ObjectFiles(url))
        try:
            for round_ in range(6):
                _write(store, slot, _frame(10 * n + round_), run=f"run-{n}")
                seen.append(len(store.read(slot, read_value)))
        except BaseException as err:
            errors.append(err)

    threads = [threading.Thread(target=writer, args=(n,)) for n in (1, 2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    # Every read was one whole value some writer wrote, and the last one is readable.
    assert set(seen) <= {10 * n + r for n in (1, 2) for r in range(6)}
    final = VersionedStore(ObjectFiles(url)).read(slot, read_value)
    assert len(final) in {15, 25}


def test_a_live_lease_is_respected_an_expired_one_taken_over(url: str) -> None:
    files = ObjectFiles(url, lease_seconds=60)
    key = files.key("a/lock")
    first = files._acquire(key, "first")
    assert first is not None
    assert files._acquire(key, "second") is None  # the first holder is alive
    # The first holder stalls: its lease runs out and the next writer takes it over, once.
    expired = json.dumps({"holder": "first", "expires": time.time() - 1})
    files.client.put_object(Bucket=files.bucket, Key=key, Body=expired.encode())
    second = files._acquire(key, "second")
    assert second is not None
    assert files._acquire(key, "third") is None
    assert not files._release(key, first)  # the stale holder leaves the new holder's lease
    assert files._acquire(key, "third") is None
    assert files._release(key, second)
    assert files._acquire(key, "third") is not None


def test_a_lock_held_longer_than_its_lease_is_renewed_and_kept(url: str) -> None:
    holder, other = ObjectFiles(url, lease_seconds=2.0), ObjectFiles(url, lease_seconds=2.0)
    key = other.key("b/lock")
    with holder.lock("b/lock"):
        held = time.monotonic()
        while time.monotonic() - held < 5:  # two and a half leases
            assert other._acquire(key, "other") is None
            time.sleep(0.2)
    assert other._acquire(key, "other") is not None  # released at the end


def test_a_holder_whose_lock_was_taken_over_fails_and_leaves_the_new_lease(url: str) -> None:
    files = ObjectFiles(url, lease_seconds=60)
    key = files.key("c/lock")
    taken = json.dumps({"holder": "other", "expires": time.time() + 60}).encode()
    with pytest.raises(LeaseLost, match="another writer took the lock over"), files.lock("c/lock"):
        files.client.put_object(Bucket=files.bucket, Key=key, Body=taken)  # e.g. after a stall
    assert files.read_text("c/lock") == taken.decode()


_KILLED_WRITER = """
import os, signal, sys
from functools import partial
import pandas as pd
from sentiment_assets.lib.storage.objects import LeaseLost, ObjectFiles
from sentiment_assets.lib.storage.store import Slot, VersionedStore
from sentiment_assets.lib.storage.values import write_value

files = ObjectFiles(sys.argv[1], lease_seconds=1.0)
upload = files.client.upload_file
def upload_then_die(*args, **kwargs):
    upload(*args, **kwargs)
    os.kill(os.getpid(), signal.SIGKILL)  # a worker lost in the middle of its upload
files.client.upload_file = upload_then_die
frame = pd.DataFrame({"review_id": range(99), "text": ["new"] * 99})
VersionedStore(files).write(Slot("raw_reviews", "d"), partial(write_value, frame), "killed")
"""


def test_a_writer_killed_during_its_upload_leaves_the_old_value_and_blocks_nobody(
    url: str, tmp_path: Path
) -> None:
    store = VersionedStore(ObjectFiles(url, lease_seconds=1.0))
    slot = Slot("raw_reviews", "d")
    _write(store, slot, _frame(7))

    died = subprocess.run(
        [sys.executable, "-c", _KILLED_WRITER, url], env=os.environ, check=False, cwd=tmp_path
    )

    assert died.returncode == -signal.SIGKILL
    pd.testing.assert_frame_equal(store.read(slot, read_value), _frame(7))
    time.sleep(1.2)  # the dead writer's lease runs out
    latest = _write(store, slot, _frame(8))
    assert store.versions(slot)[0] == latest
    # What the dead writer uploaded was cleaned by the next write.
    assert sorted(store.files.names(f"{slot.folder}/versions")) == sorted(store.versions(slot))


def test_removing_a_value_removes_every_version(url: str) -> None:
    store = VersionedStore(ObjectFiles(url))
    slot, other = Slot("raw_reviews", "gone"), Slot("raw_reviews", "kept")
    for n in (1, 2):
        _write(store, slot, _frame(n))
    _write(store, other, _frame(4))

    assert store.remove(slot) == 2
    with pytest.raises(NotStored):
        store.read(slot, read_value)
    assert not store.files.exists(slot.folder)
    assert len(store.read(other, read_value)) == 4
