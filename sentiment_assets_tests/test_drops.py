import hashlib
import re
from pathlib import Path

import pytest

from sentiment_assets.drops import (
    file_sha256,
    find_drop,
    is_drop,
    list_drops,
    partition_key,
    quarantine,
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


def test_list_drops_keeps_only_finished_csv_files(tmp_path):
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
    (tmp_path / "archive.csv").mkdir()
    _touch(tmp_path / "archive.csv", "reviews_2025-12.csv")
    (tmp_path / "old").mkdir()
    _touch(tmp_path / "old", "reviews_2025-11.csv")
    assert list_drops(tmp_path) == (
        {
            "reviews_2026-01": tmp_path / "reviews_2026-01.csv",
            "reviews_2026-02": tmp_path / "reviews_2026-02.CSV",
        },
        [],
    )


def test_is_drop(tmp_path):
    _touch(tmp_path, "a.csv", ".a.csv", "a.csv.part")
    assert is_drop(tmp_path / "a.csv")
    assert not is_drop(tmp_path / ".a.csv")
    assert not is_drop(tmp_path / "a.csv.part")
    assert not is_drop(tmp_path / "missing.csv")


def test_list_drops_of_an_empty_or_missing_folder(tmp_path):
    assert list_drops(tmp_path) == ({}, [])
    assert list_drops(tmp_path / "missing") == ({}, [])
    _touch(tmp_path, "file.csv")
    assert list_drops(tmp_path / "file.csv") == ({}, [])  # a file is not a folder


def test_a_second_file_with_a_taken_key_is_refused_and_the_rest_listed(tmp_path):
    _touch(tmp_path, "reviews 2026-01.csv", "reviews_2026-01.csv", "reviews_2026-02.csv")
    drops, refused = list_drops(tmp_path)
    assert drops == {
        "reviews_2026-01": tmp_path / "reviews 2026-01.csv",
        "reviews_2026-02": tmp_path / "reviews_2026-02.csv",
    }
    (message,) = refused
    assert "reviews 2026-01.csv" in message and "reviews_2026-01.csv" in message
    assert "'reviews_2026-01'" in message


def test_quarantine_moves_the_file_beside_a_note_and_never_overwrites(tmp_path):
    landing, quarantine_dir = tmp_path / "landing", tmp_path / "quarantine"
    landing.mkdir()
    for attempt in ("first", "second"):
        (landing / "bad.csv").write_text(attempt)
        moved = quarantine(landing / "bad.csv", f"{attempt} problem", quarantine_dir)
        assert not (landing / "bad.csv").exists()
        assert moved.read_text() == attempt
        note = moved.with_name(moved.name + ".error.txt").read_text()
        assert note == f"bad.csv: {attempt} problem\n"
    assert sorted(p.name for p in quarantine_dir.iterdir()) == [
        "bad.1.csv",
        "bad.1.csv.error.txt",
        "bad.csv",
        "bad.csv.error.txt",
    ]


def test_find_drop(tmp_path):
    _touch(tmp_path, "reviews_2026-01.csv", "reviews 2026 02.csv")
    assert find_drop(tmp_path, "reviews_2026-01") == tmp_path / "reviews_2026-01.csv"
    assert find_drop(tmp_path, "reviews_2026_02") == tmp_path / "reviews 2026 02.csv"


def test_find_drop_names_a_missing_key(tmp_path):
    _touch(tmp_path, "reviews_2026-01.csv")
    (tmp_path / "reviews_2026-01.csv").rename(tmp_path / "reviews_2026-01.csv.tmp")
    with pytest.raises(FileNotFoundError, match="'reviews_2026-01'"):
        find_drop(tmp_path, "reviews_2026-01")


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
    assert set(list_drops(real_drops[0].parent)[0]) >= {p.stem for p in real_drops}
