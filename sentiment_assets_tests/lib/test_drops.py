import hashlib
import re
from pathlib import Path

import pytest

from sentiment_assets.lib.drops import (
    FILE_TAG,
    SHA256_TAG,
    DropMemory,
    Ingested,
    IngestionPlan,
    LandingFile,
    file_for_key,
    file_sha256,
    partition_key,
    plan_ingestion,
    quarantine,
    read_drop,
    scan_landing,
    sha256_hex,
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


def test_scan_of_an_empty_or_missing_folder(tmp_path):
    assert scan_landing(tmp_path) == ([], {})
    assert scan_landing(tmp_path / "missing") == ([], {})


class Landing:
    """A landing folder in memory, planned tick by tick like the sensor does."""

    def __init__(self) -> None:
        self.content: dict[str, bytes] = {}
        self.mtime: dict[str, int] = {}
        self.stored: dict[str, Ingested] = {}
        self.partitions: set[str] = set()
        self.memory = DropMemory()
        self.clock = 0
        self.max_requests = 5

    def write(self, name: str, content: bytes) -> None:
        self.clock += 1
        self.content[name], self.mtime[name] = content, self.clock

    def remove(self, name: str) -> None:
        del self.content[name], self.mtime[name]

    def tick(self, refused: dict[str, str] | None = None) -> IngestionPlan:
        files = [LandingFile(n, len(c), self.mtime[n]) for n, c in self.content.items()]
        plan = plan_ingestion(
            files,
            refused or {},
            self.memory,
            sha256=lambda name: sha256_hex(self.content[name]),
            ingested=self.stored.get,
            partitions=set(self.partitions),
            max_requests=self.max_requests,
        )
        self.memory = plan.memory
        self.partitions |= set(plan.new_keys)
        return plan

    def ingest(self, plan: IngestionPlan) -> None:
        """The planned runs succeed: each drop stores what it read."""
        for request in plan.requests:
            self.stored[request.key] = Ingested(request.file, request.sha256)


def _requested(plan: IngestionPlan) -> list[tuple[str, str]]:
    return [(r.key, r.file) for r in plan.requests]


def test_a_file_is_planned_once_it_stops_changing_and_then_never_again():
    landing = Landing()
    landing.write("reviews_01.csv", b"a\n")
    assert _requested(landing.tick()) == []  # first sight: it may still be growing
    landing.write("reviews_01.csv", b"a\nb\n")
    assert _requested(landing.tick()) == []  # it grew
    plan = landing.tick()
    assert _requested(plan) == [("reviews_01", "reviews_01.csv")]
    assert plan.new_keys == ["reviews_01"]
    (request,) = plan.requests
    assert request.sha256 == sha256_hex(b"a\nb\n")
    assert request.tags == {FILE_TAG: "reviews_01.csv", SHA256_TAG: request.sha256}
    landing.ingest(plan)
    assert _requested(landing.tick()) == []


def test_the_first_file_to_claim_a_key_keeps_it_whatever_the_names_order():
    landing = Landing()
    landing.write("reviews_01.csv", b"first\n")  # sorts after "reviews 01.csv"
    landing.tick()
    landing.write("reviews 01.csv", b"second\n")  # lands later, same key
    plan = landing.tick()
    assert _requested(plan) == [("reviews_01", "reviews_01.csv")]
    assert plan.log == [
        "reviews 01.csv: maps to partition key 'reviews_01', which reviews_01.csv already owns; "
        "rename it"
    ]
    landing.ingest(plan)
    later = landing.tick()
    assert _requested(later) == [] and later.log == []  # said once
    # The later file changing does not make it the owner either.
    landing.write("reviews 01.csv", b"second, edited\n")
    landing.tick()
    assert _requested(landing.tick()) == []


def test_two_files_landing_in_one_tick_the_older_claims_the_key():
    landing = Landing()
    landing.write("b_01.csv", b"older\n")  # written first, sorts last
    landing.write("b 01.csv", b"newer\n")
    landing.tick()
    plan = landing.tick()
    assert _requested(plan) == [("b_01", "b_01.csv")]


def test_a_drop_ingested_before_the_sensor_ran_keeps_its_key_and_is_not_read_again():
    landing = Landing()
    landing.write("reviews_01.csv", b"a\n")
    landing.stored["reviews_01"] = Ingested("reviews_01.csv", sha256_hex(b"a\n"))
    landing.partitions.add("reviews_01")
    landing.write("reviews 01.csv", b"other\n")
    first = landing.tick()
    assert "which reviews_01.csv already owns" in first.log[0]
    assert _requested(landing.tick()) == []


def test_changed_content_is_read_again_and_a_touch_is_not():
    landing = Landing()
    landing.write("r.csv", b"a\n")
    landing.tick()
    first = landing.tick()
    landing.ingest(first)
    landing.write("r.csv", b"a\n")  # touched: new mtime, same bytes
    landing.tick()
    assert _requested(landing.tick()) == []
    landing.write("r.csv", b"b\n")
    landing.tick()
    again = landing.tick()
    assert _requested(again) == [("r", "r.csv")]
    assert again.requests[0].run_key != first.requests[0].run_key


def test_content_a_then_b_then_a_again_is_read_every_time():
    landing = Landing()
    run_keys = []
    for content in (b"a\n", b"b\n", b"a\n"):
        landing.write("r.csv", content)
        landing.tick()
        plan = landing.tick()
        assert [r.sha256 for r in plan.requests] == [sha256_hex(content)]
        run_keys.append(plan.requests[0].run_key)
        landing.ingest(plan)
    assert len(set(run_keys)) == 3  # Dagster skips a run key it has seen


def test_the_same_content_under_a_second_name_is_skipped_with_a_line():
    landing = Landing()
    landing.write("r.csv", b"a\n")
    landing.tick()
    landing.ingest(landing.tick())
    landing.write("copy_of_r.csv", b"a\n")
    landing.tick()
    plan = landing.tick()
    assert _requested(plan) == []
    assert plan.log == ["copy_of_r.csv: same content as drop 'r'; skipped"]
    assert landing.tick().log == []


def test_a_quarantined_drop_landing_again_is_read_again_even_with_the_same_bytes():
    landing = Landing()
    landing.write("bad.csv", b"broken")
    landing.tick()
    assert _requested(landing.tick()) == [("bad", "bad.csv")]
    landing.remove("bad.csv")  # the run quarantined it: nothing stored
    landing.tick()
    landing.write("bad.csv", b"broken")  # moved back unchanged
    landing.tick()
    assert _requested(landing.tick()) == [("bad", "bad.csv")]
    landing.remove("bad.csv")
    landing.tick()
    landing.write("bad.csv", b"fixed\n")
    landing.tick()
    assert _requested(landing.tick()) == [("bad", "bad.csv")]


def test_a_deleted_partition_frees_its_key_for_another_name():
    landing = Landing()
    landing.write("r.csv", b"a\n")
    landing.tick()
    landing.tick()
    landing.remove("r.csv")
    landing.partitions.discard("r")  # a person removed the drop for good
    landing.write(" r.csv", b"b\n")
    landing.tick()
    assert _requested(landing.tick()) == [("r", " r.csv")]


def test_a_backlog_is_planned_a_bounded_number_per_tick():
    landing = Landing()
    landing.max_requests = 2
    for i in range(5):
        landing.write(f"r{i}.csv", f"{i}\n".encode())
    landing.tick()
    ticks = [_requested(landing.tick()) for _ in range(4)]
    assert [len(t) for t in ticks] == [2, 2, 1, 0]
    assert sorted(key for t in ticks for key, _ in t) == [f"r{i}" for i in range(5)]


def test_refused_entries_are_logged_once_each():
    landing = Landing()
    refused = {"link.csv": "is a link; links are never followed, copy the file in"}
    assert landing.tick(refused).log == [
        "link.csv: is a link; links are never followed, copy the file in"
    ]
    assert landing.tick(refused).log == []


def test_the_memory_survives_a_restart():
    landing = Landing()
    landing.write("r.csv", b"a\n")
    landing.tick()
    landing.tick()
    landing.memory = DropMemory.load(landing.memory.dump())
    assert _requested(landing.tick()) == []


def test_file_for_key_prefers_the_recorded_owner_and_refuses_a_guess(tmp_path):
    _touch(tmp_path, "reviews_01.csv", "reviews 02.csv", "reviews 02 .csv")
    assert file_for_key(tmp_path, "reviews_01", None) == tmp_path / "reviews_01.csv"
    with pytest.raises(FileNotFoundError, match="2 files map to partition 'reviews_02'"):
        file_for_key(tmp_path, "reviews_02", None)
    assert file_for_key(tmp_path, "reviews_02", "reviews 02.csv") == tmp_path / "reviews 02.csv"
    with pytest.raises(FileNotFoundError, match="no drop file for partition 'gone'"):
        file_for_key(tmp_path, "gone", None)


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
