import hashlib
import os
import re
import stat
from pathlib import Path

import pytest

from sentiment_assets.lib.drops import (
    MAX_KEY_CHARS,
    FileChanged,
    RefusedFile,
    Unfinished,
    file_for_key,
    file_sha256,
    last_byte,
    partition_key,
    quarantine,
    quarantined,
    read_drop,
    scan_landing,
)


def _touch(folder: Path, *names: str) -> None:
    for name in names:
        (folder / name).write_text("x\n")


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("reviews_2026-01.csv", "reviews_2026-01"),
        ("reviews 2026 01.csv", "reviews_2026_01"),
        ("reviews  (copy).csv", "reviews_copy"),
        ("März-Bewertungen.csv", "M_rz-Bewertungen"),
        ("reviews.2026.01.csv", "reviews.2026.01"),
        ("__reviews__.csv", "reviews"),
        ("_.reviews.csv", "reviews"),
        ("reviews_2026-01.CSV", "reviews_2026-01"),
    ],
)
def test_partition_key(name, key):
    assert partition_key(name) == key
    assert partition_key(Path("/landing") / name) == key


@pytest.mark.parametrize("name", ["!!!.csv", "___.csv", "( ).csv", "ééé.csv"])
def test_a_name_with_nothing_usable_gets_a_stable_hashed_key(name):
    key = partition_key(name)
    assert re.fullmatch(r"drop-[0-9a-f]{8}", key)
    assert partition_key(Path("/elsewhere") / name) == key


def test_hashed_keys_differ_between_names():
    assert len({partition_key(n) for n in ["!!!.csv", "___.csv", "( ).csv", "ééé.csv"]}) == 4


def _names(files) -> list[str]:
    return [f.name for f in files]


def test_scan_keeps_only_finished_csv_files(tmp_path):
    _touch(
        tmp_path,
        "reviews_2026-01.csv",
        "reviews_2026-02.CSV",
        ".reviews_2026-03.csv",
        "reviews_2026-04.csv.part",
        "reviews_2026-05.csv.tmp",
        "reviews_2026-06.csv.partial",
        "reviews_2026-07.csv.crdownload",
        "reviews_2026-08.txt",
        "reviews_2026-09.json",
        "notes",
    )
    (tmp_path / "old").mkdir()
    _touch(tmp_path / "old", "reviews_2025-11.csv")
    files, refused = scan_landing(tmp_path)
    assert _names(files) == ["reviews_2026-01.csv", "reviews_2026-02.CSV"]
    assert refused == {}
    assert files[0].size == 2 and files[0].key == "reviews_2026-01"


def test_scan_refuses_folders_and_links_by_name_and_follows_nothing(tmp_path):
    outside = tmp_path / "secret.csv"
    outside.write_text("password,1\n")
    landing = tmp_path / "landing"
    landing.mkdir()
    _touch(landing, "good.csv")
    (landing / "archive.csv").mkdir()
    (landing / "link.csv").symlink_to(outside)
    (landing / "dangling.csv").symlink_to(tmp_path / "gone.csv")

    files, refused = scan_landing(landing)

    assert _names(files) == ["good.csv"]
    assert refused == {
        "archive.csv": "is not a regular file; skipped",
        "dangling.csv": "is a link; links are never followed, copy the file in",
        "link.csv": "is a link; links are never followed, copy the file in",
    }
    with pytest.raises(OSError):
        read_drop(landing / "link.csv")
    with pytest.raises(OSError):
        file_sha256(landing / "link.csv")


def test_scan_names_workbooks_and_compressed_exports_with_what_to_do(tmp_path):
    _touch(tmp_path, "good.csv", "reviews_05.xlsx", "old.XLS", "reviews_06.csv.gz", "all.zip")
    _touch(tmp_path, ".~lock.reviews_05.xlsx#", ".hidden.xlsx")  # an editor's, hidden
    files, refused = scan_landing(tmp_path)
    assert _names(files) == ["good.csv"]
    assert refused == {
        "all.zip": "is a ZIP archive; unpack its CSV files into the landing folder",
        "old.XLS": "is an Excel workbook, not a CSV file; save it as CSV UTF-8",
        "reviews_05.xlsx": "is an Excel workbook, not a CSV file; save it as CSV UTF-8",
        "reviews_06.csv.gz": "is compressed; decompress it into the landing folder",
    }


def test_scan_refuses_names_that_are_not_printable(tmp_path):
    _touch(tmp_path, "good.csv", "two\nlines.csv")
    (tmp_path / os.fsdecode(b"caf\xe9.csv")).write_text("x\n")  # not UTF-8
    files, refused = scan_landing(tmp_path)
    assert _names(files) == ["good.csv"]
    assert refused == {
        "'caf\\udce9.csv'": "has a name that is not printable text; rename it",
        "'two\\nlines.csv'": "has a name that is not printable text; rename it",
    }


def test_a_long_name_gets_a_bounded_key_of_its_own():
    long = "r" * 246 + ".csv"
    key = partition_key(long)
    assert len(key) == MAX_KEY_CHARS and key.startswith("r" * 91 + "-")
    assert partition_key("r" * 245 + ".csv") != key
    assert partition_key("r" * MAX_KEY_CHARS + ".csv") == "r" * MAX_KEY_CHARS


def test_scan_of_an_empty_or_missing_folder(tmp_path):
    assert scan_landing(tmp_path) == ([], {})
    assert scan_landing(tmp_path / "missing") == ([], {})


def test_file_for_key_prefers_the_recorded_owner_and_refuses_a_guess(tmp_path):
    _touch(tmp_path, "reviews_01.csv", "reviews 02.csv", "reviews 02 .csv")
    assert file_for_key(tmp_path, "reviews_01", None) == tmp_path / "reviews_01.csv"
    with pytest.raises(FileNotFoundError, match="2 files map to partition 'reviews_02'"):
        file_for_key(tmp_path, "reviews_02", None)
    assert file_for_key(tmp_path, "reviews_02", "reviews 02.csv") == tmp_path / "reviews 02.csv"
    with pytest.raises(FileNotFoundError, match="no drop file for partition 'gone'"):
        file_for_key(tmp_path, "gone", None)
    # The recorded owner has left the folder: the only file left with the key is the drop's.
    assert file_for_key(tmp_path, "reviews_01", "reviews 01.csv") == tmp_path / "reviews_01.csv"


def test_quarantine_moves_the_file_beside_a_note_and_never_overwrites(tmp_path):
    landing, quarantine_dir = tmp_path / "landing", tmp_path / "quarantine"
    landing.mkdir()
    for attempt in ("first", "second"):
        (landing / "bad.csv").write_text(attempt)
        read = read_drop(landing / "bad.csv")
        moved = quarantine(landing / "bad.csv", f"{attempt} problem", quarantine_dir, read)
        assert not (landing / "bad.csv").exists()
        assert moved.read_text() == attempt
        note = moved.with_name(moved.name + ".error.txt")
        assert note.read_text() == f"bad.csv: {attempt} problem\n"
        # Notes quote reviews (personal data): owner-only, in an owner-only folder.
        assert stat.S_IMODE(note.stat().st_mode) == 0o600
    assert stat.S_IMODE(quarantine_dir.stat().st_mode) == 0o700
    assert sorted(p.name for p in quarantine_dir.iterdir()) == [
        "bad.1.csv",
        "bad.1.csv.error.txt",
        "bad.csv",
        "bad.csv.error.txt",
    ]


def test_quarantine_keeps_an_earlier_file_whose_note_was_deleted(tmp_path):
    """A person read the first note and deleted it, leaving the file: the next bad drop of the
    same name must not overwrite that file."""
    landing, folder = tmp_path / "landing", tmp_path / "quarantine"
    landing.mkdir()
    for attempt in ("first", "second"):
        (landing / "bad.csv").write_text(attempt)
        moved = quarantine(landing / "bad.csv", "a problem", folder, read_drop(landing / "bad.csv"))
        moved.with_name(moved.name + ".error.txt").unlink()
    assert sorted((p.name, p.read_text()) for p in folder.iterdir()) == [
        ("bad.1.csv", "second"),
        ("bad.csv", "first"),
    ]


def test_a_write_over_a_drop_that_puts_its_times_back_changes_its_signature(tmp_path):
    """`cp -p` or `rsync -t` onto a drop: the same size, mtime and inode; only the ctime moves."""
    path = tmp_path / "r.csv"
    path.write_text("a\n")
    before = path.stat()
    (first,) = scan_landing(tmp_path)[0]
    with path.open("r+") as f:  # in place: the same inode
        f.write("b\n")
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    (second,) = scan_landing(tmp_path)[0]
    assert (second.size, second.mtime_ns, second.inode) == (first.size, first.mtime_ns, first.inode)
    assert second.signature != first.signature


def test_a_drops_quarantined_files_are_told_by_the_name_in_their_note(tmp_path):
    landing, folder = tmp_path / "landing", tmp_path / "quarantine"
    landing.mkdir()
    for name in ("r: copy.csv", "r.csv", "r.csv"):  # ": " inside a name, and a second r.csv
        (landing / name).write_text("bad\n")
        quarantine(landing / name, "a problem: bad", folder, read_drop(landing / name))
    assert [p.name for p in quarantined(folder, "r_copy")] == [
        "r: copy.csv",
        "r: copy.csv.error.txt",
    ]
    assert [p.name for p in quarantined(folder, "r")] == [
        "r.1.csv",
        "r.1.csv.error.txt",
        "r.csv",
        "r.csv.error.txt",
    ]
    assert quarantined(folder, "other") == [] and quarantined(tmp_path / "none", "r") == []


def test_quarantine_of_a_250_character_name_keeps_its_note_beside_it(tmp_path):
    name = "r" * 246 + ".csv"
    for _ in range(2):
        (tmp_path / name).write_text("bad\n")
        moved = quarantine(tmp_path / name, "a problem", tmp_path / "q", read_drop(tmp_path / name))
        note = moved.with_name(moved.name + ".error.txt")
        assert len(note.name) <= 255 and moved.read_text() == "bad\n"
        assert note.read_text() == f"{name}: a problem\n"  # the note names the original
    assert len(list((tmp_path / "q").iterdir())) == 4


def test_quarantine_moves_only_the_file_that_was_read(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("bad\n")
    read = read_drop(path)
    path.unlink()
    path.write_text("fixed, landed meanwhile\n")  # another file under the name now
    with pytest.raises(FileChanged):
        quarantine(path, "a problem", tmp_path / "q", read)
    assert path.read_text() == "fixed, landed meanwhile\n"
    assert list((tmp_path / "q").iterdir()) == []


def test_reading_refuses_links_folders_and_pipes_without_blocking(tmp_path):
    outside = tmp_path / "secret.txt"
    outside.write_text("secret\n")
    (tmp_path / "link.csv").symlink_to(outside)
    (tmp_path / "folder.csv").mkdir()
    os.mkfifo(tmp_path / "pipe.csv")  # opening it for reading would wait for a writer
    for name, reason in [
        ("link.csv", "is a link; links are never followed, copy the file in"),
        ("folder.csv", "is not a regular file; skipped"),
        ("pipe.csv", "is not a regular file; skipped"),
    ]:
        for read in (read_drop, file_sha256, last_byte):
            with pytest.raises(RefusedFile) as refused:
                read(tmp_path / name)
            assert str(refused.value) == f"{name} {reason}"


def test_last_byte(tmp_path):
    path = tmp_path / "r.csv"
    for content, last in [(b"", b""), (b"a,b\n", b"\n"), (b"a,b", b"b")]:
        path.write_bytes(content)
        assert last_byte(path) == last


def test_an_unfinished_file_waits_for_the_grace_period_then_is_judged_truncated():
    minute = 60 * 10**9
    waiting = Unfinished("it does not end with a newline", 14 * minute)
    assert not waiting.truncated(15 * 60)
    assert waiting.note(15 * 60) == (
        "the file is incomplete: it does not end with a newline; left in the landing folder and "
        "read once complete (judged truncated if unchanged for 15 min)"
    )
    cut = Unfinished("it does not end with a newline", 15 * minute)
    assert cut.truncated(15 * 60)
    assert cut.note(15 * 60) == (
        "the file is incomplete: it does not end with a newline, and it has not changed for "
        "15 min (the grace period is 15 min): judged truncated; if the export is complete, end it "
        "with a newline (or export it again), and copy it into the landing folder again"
    )
    assert Unfinished("it is empty", 0).truncated(0)
    assert (
        Unfinished("it is empty", 0)
        .note(0)
        .endswith("judged truncated; export it again, and copy it into the landing folder again")
    )


def test_file_sha256_equals_hashlib(tmp_path):
    small = tmp_path / "small.csv"
    small.write_bytes(b"a,b\r\n1,2\n")
    big = tmp_path / "big.csv"
    big.write_bytes(bytes(range(256)) * 9000)  # over two 1 MiB chunks
    for path in (small, big):
        assert file_sha256(path) == hashlib.sha256(path.read_bytes()).hexdigest()
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    assert file_sha256(empty) == hashlib.sha256(b"").hexdigest()


def test_file_sha256_of_the_real_drops_matches_the_readme(real_drops):
    expected = {
        "reviews_2026-01.csv": "4b5390c19cf1588d668fb52ac4c9af1ff6db8875648a6385e4be4b31342ad50c",
        "reviews_2026-02.csv": "593f947c48a5faf8427921a6376121d66d36c362e9514b3bbeb78f9da448d2eb",
        "reviews_2026-03.csv": "f4d09b9e7893316f30e811b3cc63ec37e8dcc6f2215582881d587a6fd2473473",
    }
    for path in real_drops:
        if path.name in expected:
            assert file_sha256(path) == expected[path.name]
    files, _ = scan_landing(real_drops[0].parent)
    assert {f.key for f in files} >= {p.stem for p in real_drops}
