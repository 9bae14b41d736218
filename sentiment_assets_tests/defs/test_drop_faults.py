"""Drops under faults, through the real sensor and `ingest_drop` runs: files still being written,
truncated, replaced, unreadable or odd, and bad content. Each test checks nothing stored is lost."""

import errno
import os
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import dagster as dg
import pandas as pd
import pytest

from sentiment_assets.cli.sample_drops import write_sample_drops
from sentiment_assets.defs.asset_keys import RAW_REVIEWS
from sentiment_assets.defs.ingestion.partitions import stored_drop
from sentiment_assets.defs.platform.io_manager import ArtifactIOManager
from sentiment_assets.lib import drops, settings
from sentiment_assets.lib.drops import sha256_hex
from sentiment_assets.lib.storage.store import Slot
from sentiment_assets.lib.storage.values import read_value
from sentiment_assets_tests.support import Ticks, failure_message, ingest, raise_alert

GOOD = "reviews_sample-01"
HEADER = b",Review Text,Recommended IND\n"


@pytest.fixture
def landing(data_dir: Path) -> Path:
    return data_dir / "landing"


@pytest.fixture
def ticks(instance, landing: Path) -> Ticks:
    return Ticks(instance, landing)


@pytest.fixture
def stored(instance, ticks: Ticks, landing: Path):
    """A good drop already stored; the test checks at its end that it is still there, unchanged."""
    write_sample_drops(landing, drops=1, rows_per_drop=100)
    assert ticks.land_and_ingest()[GOOD].success
    store, slot = ArtifactIOManager().store(), Slot("stemmed_corpus", GOOD)
    before = store.versions(slot)
    value = store.read(slot, read_value)
    version = stored_drop(instance, GOOD)
    yield
    assert store.versions(slot) == before
    pd.testing.assert_frame_equal(store.read(slot, read_value), value)
    assert stored_drop(instance, GOOD) == version


def _sample(rows: int, seed: int) -> bytes:
    """The bytes of a sample drop, written elsewhere than the landing folder."""
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        (path,) = write_sample_drops(folder, drops=1, rows_per_drop=rows, seed=seed)
        return path.read_bytes()


def _keys(result: dg.SensorResult) -> list[str]:
    return sorted(r.partition_key for r in result.run_requests)


def _quarantined(data_dir: Path) -> list[str]:
    folder = data_dir / "quarantine"
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def _retries(result: dg.ExecuteInProcessResult) -> int:
    return len([e for e in result.all_events if e.event_type_value == "STEP_UP_FOR_RETRY"])


@pytest.mark.usefixtures("stored")
def test_a_file_that_stalls_mid_write_is_read_once_complete_and_never_quarantined(
    ticks, landing, instance, data_dir, capsys
):
    content = _sample(200, seed=3)
    path = landing / "reviews_new.csv"
    half = content[: content.index(b"\n", len(content) // 2) + 5]  # cut mid-record
    path.write_bytes(half[: len(half) // 2])
    ticks.tick()
    path.write_bytes(half)  # it grew, then the writer stalls for several ticks
    assert [_keys(ticks.tick()) for _ in range(4)] == [[]] * 4
    assert (
        capsys.readouterr().err.count(
            "reviews_new.csv: the file is incomplete: it does not end with a newline; left in the "
            "landing folder and read once complete"
        )
        == 1
    )
    path.write_bytes(content)  # the writer comes back and finishes
    assert ticks.land_and_ingest()["reviews_new"].success
    assert stored_drop(instance, "reviews_new").sha256 == sha256_hex(content)
    assert _quarantined(data_dir) == []


@pytest.mark.usefixtures("stored")
def test_a_file_cut_inside_a_quoted_review_is_left_in_place_and_read_once_complete(
    ticks, landing, instance, data_dir
):
    # The writer stalls right after a line break inside a quoted review: the last byte is a
    # newline, so the sensor plans it; the run finds the cut and leaves the file where it is.
    path = landing / "reviews_new.csv"
    cut = HEADER + b'0,"Lovely,\n'
    path.write_bytes(cut)
    (run,) = ticks.land_and_ingest().values()
    assert not run.success and _retries(run) == 0
    assert failure_message(run).endswith(
        "reviews_new.csv: the file is incomplete: it ends inside a quoted field of the record "
        "starting on line 2; left in the landing folder and read once complete (judged truncated "
        "if unchanged for 15 min)\n"
    )
    assert path.read_bytes() == cut and _quarantined(data_dir) == []
    path.write_bytes(cut + b'fits well",1\n1,Nice,1\n')
    assert ticks.land_and_ingest()["reviews_new"].success
    assert _quarantined(data_dir) == []


@pytest.mark.usefixtures("stored")
def test_a_file_unfinished_past_the_grace_period_is_quarantined_with_its_note(
    ticks, landing, instance, data_dir
):
    path = landing / "reviews_cut.csv"
    cut = _sample(200, seed=3)[:-7]
    path.write_bytes(cut)
    twenty_minutes_ago = time.time() - 20 * 60
    os.utime(path, (twenty_minutes_ago, twenty_minutes_ago))  # its writer died long ago

    (run,) = ticks.land_and_ingest().values()

    assert not run.success
    assert (
        "reviews_cut.csv: the file is incomplete: it does not end with a newline, and it has "
        in (failure_message(run))
    )
    assert (data_dir / "quarantine" / "reviews_cut.csv").read_bytes() == cut
    note = (data_dir / "quarantine" / "reviews_cut.csv.error.txt").read_text()
    assert note.startswith(
        "reviews_cut.csv: the file is incomplete: it does not end with a newline"
    )
    assert "(the grace period is 15 min): judged truncated; if the export is complete" in note
    assert stored_drop(instance, "reviews_cut") is None


@pytest.mark.slow  # several runs
@pytest.mark.usefixtures("stored")
def test_a_quarantined_drop_comes_back_bad_again_and_then_fixed(ticks, landing, instance, data_dir):
    bad = HEADER + b"0,Lovely,1\n1,Awful,7\n"
    for attempt, name in enumerate(["bad.csv", "bad.1.csv"]):
        (landing / "bad.csv").write_bytes(bad)  # the same bad bytes, landing again
        assert not ticks.land_and_ingest()["bad"].success, attempt
        assert (data_dir / "quarantine" / name).read_bytes() == bad
        note = (data_dir / "quarantine" / f"{name}.error.txt").read_text()
        assert note.startswith("bad.csv: Recommended IND must be 0 or 1: 1 of 2 rows hold ")
    fixed = HEADER + b"0,Lovely,1\n1,Awful,0\n"
    (landing / "bad.csv").write_bytes(fixed)
    assert ticks.land_and_ingest()["bad"].success
    assert stored_drop(instance, "bad").sha256 == sha256_hex(fixed)
    assert len(_quarantined(data_dir)) == 4


@pytest.mark.slow  # several runs
@pytest.mark.usefixtures("stored")
def test_content_a_then_b_then_a_is_read_each_time_and_says_it_replaces_the_drop(
    ticks, landing, instance, capsys
):
    a, b = _sample(100, seed=1), _sample(120, seed=2)
    for content in (a, b, a):
        (landing / "r.csv").write_bytes(content)
        assert ticks.land_and_ingest()["r"].success
    records = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=RAW_REVIEWS, asset_partitions=["r"]), limit=10
    ).records
    versions = [r.asset_materialization.tags["dagster/data_version"] for r in reversed(records)]
    assert versions == [sha256_hex(a), sha256_hex(b), sha256_hex(a)]
    logged = capsys.readouterr().err
    assert logged.count("r.csv: read as drop 'r'") == 3
    assert logged.count("its content changed, so it replaces the stored drop (read from r.csv") == 2


@pytest.mark.slow  # several runs
@pytest.mark.usefixtures("stored")
def test_a_file_replaced_between_the_tick_and_the_run_is_refused_then_read_anew(
    ticks, landing, instance, data_dir
):
    a, b = _sample(100, seed=1), _sample(120, seed=2)
    path = landing / "r.csv"
    path.write_bytes(a)
    ticks.tick()
    planned = ticks.tick().run_requests
    path.write_bytes(b)  # replaced after the tick planned it, before its run

    run = ticks.run(planned)["r"]

    assert not run.success and _retries(run) == 0
    assert "r.csv: its content changed after this run was planned; nothing was stored" in (
        failure_message(run)
    )
    assert stored_drop(instance, "r") is None and path.read_bytes() == b
    assert _quarantined(data_dir) == []
    assert ticks.land_and_ingest()["r"].success  # the next plan reads the new content
    assert stored_drop(instance, "r").sha256 == sha256_hex(b)


@pytest.mark.slow  # several runs
@pytest.mark.usefixtures("stored")
def test_odd_entries_never_stop_the_good_drops(ticks, landing, instance, monkeypatch, capsys):
    long_name = "r" * 246 + ".csv"
    for name, seed in [(long_name, 2), ("locked.csv", 3), ("vanishing.csv", 4), ("fine.csv", 5)]:
        (landing / name).write_bytes(_sample(60, seed))
    (landing / "archive.csv").mkdir()
    (landing / "dangling.csv").symlink_to(landing / "gone.csv")
    hash_file, read_last = drops.file_sha256, drops.last_byte

    def locked(path: Path) -> str:
        if path.name == "locked.csv":
            raise PermissionError(errno.EACCES, "Permission denied")
        return hash_file(path)

    def vanishing(path: Path) -> bytes:
        if path.name == "vanishing.csv":
            path.unlink()  # gone between the folder listing and the read
        return read_last(path)

    monkeypatch.setattr(drops, "file_sha256", locked)
    monkeypatch.setattr(drops, "last_byte", vanishing)
    results = ticks.land_and_ingest()

    assert sorted(results) == ["fine", drops.partition_key(long_name)]
    assert all(r.success for r in results.values())
    logged = capsys.readouterr().err
    for line in [
        "archive.csv: is not a regular file; skipped",
        "dangling.csv: is a link; links are never followed, copy the file in",
        "locked.csv: cannot be read (Permission denied); tried again next tick",
        "vanishing.csv: cannot be read (No such file or directory); tried again next tick",
    ]:
        assert logged.count(line) == 1, line
    monkeypatch.setattr(drops, "file_sha256", hash_file)
    assert _keys(ticks.tick()) == ["locked"]  # readable again: read at the next tick


@pytest.mark.slow  # waits out the retries
@pytest.mark.usefixtures("stored")
def test_a_read_error_is_retried_then_fails_and_the_file_stays(
    ticks, landing, instance, data_dir, monkeypatch
):
    content = _sample(100, seed=1)
    (landing / "r.csv").write_bytes(content)

    def stale(path: Path) -> drops.DropBytes:
        raise OSError(errno.ESTALE, "Stale file handle")

    monkeypatch.setattr(drops, "read_drop", stale)
    run = ticks.land_and_ingest()["r"]

    assert not run.success and _retries(run) == 2
    (failure,) = [e for e in run.all_events if e.is_step_failure]
    error = failure.step_failure_data.error
    assert error.message == "Exceeded max_retries of 2\n"
    assert error.cause.message.endswith(
        "r.csv: cannot be read (Stale file handle); it stays in the landing folder\n"
    )
    assert (landing / "r.csv").read_bytes() == content
    assert _quarantined(data_dir) == [] and stored_drop(instance, "r") is None


@pytest.mark.slow  # a large drop
@pytest.mark.usefixtures("stored")
def test_a_large_drop_with_a_non_numeric_age_is_quarantined_naming_the_row(
    ticks, landing, instance, data_dir
):
    def drop(age_of_row_99990: bytes) -> bytes:
        rows = [b",Age,Review Text,Recommended IND,Store\n"]
        for i in range(100_000):
            age = age_of_row_99990 if i == 99_990 else b"35"
            rows.append(
                b"%d,%s,Lovely dress %d,%d,%s\n" % (i, age, i, i % 2, b"12" if i % 3 else b"paris")
            )
        return b"".join(rows)

    (landing / "big.csv").write_bytes(drop(b"forty"))
    run = ticks.land_and_ingest()["big"]

    assert not run.success
    problem = (
        "big.csv: 'Age' must hold whole numbers: 1 of 100000 rows hold something else "
        "('forty' (1x)): review_id 99990 (line 99992)"
    )
    assert failure_message(run).endswith(problem + "\n")
    assert (data_dir / "quarantine" / "big.csv.error.txt").read_text() == problem + "\n"
    # The same drop with a number there is stored, its text column of mixed content included.
    (landing / "big.csv").write_bytes(drop(b"40"))
    assert ticks.land_and_ingest()["big"].success
    assert stored_drop(instance, "big").sha256 == sha256_hex(drop(b"40"))


@pytest.mark.usefixtures("stored")
def test_a_huge_free_text_label_column_gives_a_short_error(ticks, landing, data_dir):
    rows = [b",Review Text,Recommended IND\n"]
    rows += [b"%d,Nice,Review %d: %s\n" % (i, i, b"so many words " * 20) for i in range(50_000)]
    (landing / "shifted.csv").write_bytes(b"".join(rows))

    run = ticks.land_and_ingest()["shifted"]

    message = failure_message(run)
    assert len(message) < 1500
    assert "shifted.csv: Recommended IND must be 0 or 1: 50000 of 50000 rows hold something" in (
        message
    )
    assert message.rstrip().endswith("review_id 4 (line 6) and 49995 more")
    assert len((data_dir / "quarantine" / "shifted.csv.error.txt").read_text()) < 1500


@pytest.mark.slow  # several runs
@pytest.mark.usefixtures("stored")
def test_a_link_out_of_the_landing_folder_is_refused_and_nothing_is_read_through_it(
    ticks, landing, instance, data_dir, monkeypatch, capfd
):
    canary = "CANARY-5f1c0e"
    outside = data_dir / "outside"
    outside.mkdir()
    secret = outside / "secret.csv"
    secret.write_text(f",Review Text,Recommended IND\n0,{canary} text,{canary}\n")
    posted: list[bytes] = []

    class Webhook(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            posted.append(self.rfile.read(int(self.headers["Content-Length"])))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Webhook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setenv("SENTIMENT_ALERT_WEBHOOK", f"http://127.0.0.1:{server.server_port}/")
    try:
        # A link in the landing folder: refused by name, no run.
        (landing / "link.csv").symlink_to(secret)
        assert ticks.land_and_ingest() == {}
        # A planned drop swapped for a link before its run: the run refuses it.
        (landing / "swap.csv").write_bytes(_sample(50, seed=1))
        ticks.tick()
        planned = ticks.tick().run_requests
        (landing / "swap.csv").unlink()
        (landing / "swap.csv").symlink_to(secret)
        swapped = ticks.run(planned)["swap"]
        assert not swapped.success and _retries(swapped) == 0
        assert failure_message(swapped).endswith(
            "swap.csv is a link; links are never followed, copy the file in; nothing was read\n"
        )
        # The link's partition materialized by hand: no drop file for it.
        by_hand = ingest(instance, ["link"])["link"]
        assert not by_hand.success
        for failed in (swapped, by_hand):
            raise_alert(instance, failed)
    finally:
        server.shutdown()
        server.server_close()

    assert len(posted) == 2 and len(settings.alerts_path().read_text().splitlines()) == 2
    captured = capfd.readouterr()
    assert "link.csv: is a link; links are never followed, copy the file in" in captured.err
    outputs = {"stdout": captured.out.encode(), "stderr": captured.err.encode()}
    outputs |= {f"webhook POST {i}": body for i, body in enumerate(posted)}
    outputs |= {
        str(path): path.read_bytes()
        for path in data_dir.rglob("*")
        if path.is_file() and not path.is_symlink() and outside not in path.parents
    }
    assert any("dagster_home" in name for name in outputs)  # the event log is searched too
    assert [name for name, data in outputs.items() if canary.encode() in data] == []
    assert secret.read_text().count(canary) == 2  # untouched


@pytest.mark.usefixtures("stored")
def test_sentiment_run_plans_the_landing_folder_like_the_sensor(landing, instance, capfd):
    from sentiment_assets.cli.console import RunConsole
    from sentiment_assets.cli.run import ingest

    (landing / "new.csv").write_bytes(_sample(80, seed=4))
    (landing / "writing.csv").write_bytes(HEADER + b"0,Lovely,")  # its writer is still busy

    ingest(instance, RunConsole())

    assert stored_drop(instance, "new").sha256 == sha256_hex((landing / "new.csv").read_bytes())
    assert stored_drop(instance, "writing") is None
    printed = capfd.readouterr()
    assert "Ingesting new.csv: read as drop 'new'" in printed.out
    assert "Skipped writing.csv: the file is incomplete: it does not end with a newline" in (
        printed.err
    )
