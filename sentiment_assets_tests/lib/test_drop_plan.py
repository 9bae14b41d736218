"""The drop sensor's decision, tick by tick, on a landing folder in memory (no Dagster, no disk)."""

import itertools

from sentiment_assets.lib.drop_plan import (
    DropMemory,
    Ingested,
    IngestionPlan,
    Sent,
    plan_ingestion,
)
from sentiment_assets.lib.drops import FILE_TAG, SHA256_TAG, LandingFile, sha256_hex
from sentiment_assets.model.reviews import HEAD_BYTES

TICK_NS = 10 * 10**9  # the sensor's interval
GRACE_SECONDS = 60.0


class Landing:
    """A landing folder in memory, planned tick by tick like the sensor does (10 s apart)."""

    def __init__(self) -> None:
        self.content: dict[str, bytes] = {}
        self.mtime: dict[str, int] = {}
        self.ctime: dict[str, int] = {}
        self.inode: dict[str, int] = {}
        self.inodes = itertools.count(1)
        self.unreadable: set[str] = set()
        self.stored: dict[str, Ingested] = {}
        self.partitions: set[str] = set()
        self.memory = DropMemory()
        self.now_ns = 0
        self.max_requests = 5

    def write(self, name: str, content: bytes, *, keep_mtime: bool = False) -> None:
        """With `keep_mtime`, as `cp -p` or `rsync -t` onto the file: only the ctime moves."""
        self.now_ns += 1  # a write is later than the tick before it
        self.content[name], self.ctime[name] = content, self.now_ns
        if not (keep_mtime and name in self.mtime):
            self.mtime[name] = self.now_ns
        self.inode.setdefault(name, next(self.inodes))

    def remove(self, name: str) -> None:
        del self.content[name], self.mtime[name], self.ctime[name], self.inode[name]

    def _read(self, name: str) -> bytes:
        if name in self.unreadable:
            raise PermissionError(13, "Permission denied")
        return self.content[name]

    def tick(self, refused: dict[str, str] | None = None) -> IngestionPlan:
        self.now_ns += TICK_NS
        files = [
            LandingFile(n, len(c), self.mtime[n], self.ctime[n], self.inode[n])
            for n, c in self.content.items()
        ]
        plan = plan_ingestion(
            files,
            refused or {},
            self.memory,
            last_byte=lambda name: self._read(name)[-1:],
            head=lambda name: self._read(name)[:HEAD_BYTES],
            sha256=lambda name: sha256_hex(self._read(name)),
            ingested=self.stored.get,
            partitions=set(self.partitions),
            max_requests=self.max_requests,
            now_ns=self.now_ns,
            grace_seconds=GRACE_SECONDS,
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


def test_content_written_over_a_drop_with_its_old_mtime_kept_is_read_again():
    landing = Landing()
    landing.write("r.csv", b"a\n")
    landing.tick()
    landing.ingest(landing.tick())
    landing.write("r.csv", b"b\n", keep_mtime=True)  # the same size, mtime and inode
    landing.tick()
    assert _requested(landing.tick()) == [("r", "r.csv")]


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


def test_a_stored_drop_renamed_or_sent_again_after_it_left_is_skipped_with_a_line():
    """Its file left the folder (archived, or renamed): the content is still a drop's."""
    landing = Landing()
    landing.write("r.csv", b"a\n")
    landing.tick()
    landing.ingest(landing.tick())
    landing.remove("r.csv")
    landing.write("r_again.csv", b"a\n")
    landing.tick()
    plan = landing.tick()
    assert _requested(plan) == []
    assert plan.log == [
        "r_again.csv: same content as stored drop 'r'; skipped (to read it under this name, "
        "remove that drop first: sentiment-platform remove-drop r)"
    ]
    assert landing.tick().log == []
    # Once the drop is removed for good, the content is read under its new name.
    landing.partitions.discard("r")
    del landing.stored["r"]
    assert _requested(landing.tick()) == [("r_again", "r_again.csv")]


def test_a_copy_of_a_stored_drop_left_in_the_folder_is_not_looked_up_every_tick():
    """The stored drops are read once to find it; after that only its own drop, while the copy
    stays unchanged (a sensor tick must not cost a query per drop for as long as it stays)."""
    landing = Landing()
    for n in range(5):
        landing.write(f"r{n}.csv", f"{n}\n".encode())
    landing.tick()
    landing.ingest(landing.tick())
    landing.remove("r0.csv")
    landing.write("r0_again.csv", b"0\n")
    landing.tick()
    asked = _count_lookups(landing)
    assert _requested(landing.tick()) == [] and len(asked) >= 5
    asked.clear()
    assert _requested(landing.tick()) == [] and asked == ["r0"]
    # The drop takes other content: the copy is its old content, no drop's now, and is read.
    landing.stored["r0"] = Ingested("elsewhere.csv", sha256_hex(b"other\n"))
    assert _requested(landing.tick()) == [("r0_again", "r0_again.csv")]


def _count_lookups(landing: Landing) -> list[str]:
    """The drops whose stored value the plans look up from now on, in order."""
    asked: list[str] = []

    class Counting(dict):
        def get(self, key, default=None):
            asked.append(key)
            return super().get(key, default)

    landing.stored = Counting(landing.stored)
    return asked


def test_a_drop_read_half_copied_is_read_again_when_the_rest_makes_it_another_drops_copy():
    """A copy that stalled at a line's end was read as a drop; the rest arrives, and the file is
    then byte for byte another drop's: the drop follows its file rather than keep the cut read."""
    landing = Landing()
    landing.write("r.csv", b"a\nb\n")
    landing.tick()
    landing.ingest(landing.tick())
    landing.write("c.csv", b"a\n")
    landing.tick()
    landing.ingest(landing.tick())
    landing.write("c.csv", b"a\nb\n")
    landing.tick()
    plan = landing.tick()
    assert _requested(plan) == [("c", "c.csv")]
    assert plan.requests[0].replaces == Ingested("c.csv", sha256_hex(b"a\n"))


def test_a_drop_requested_half_copied_follows_its_file_before_its_read_is_stored():
    """The rest arrives before the cut read's run stored anything (a queued run), and the file is
    then a stored drop's whose own file was archived: still the drop's file, not a copy."""
    landing = Landing()
    landing.write("r.csv", b"a\nb\n")
    landing.tick()
    landing.ingest(landing.tick())
    landing.remove("r.csv")  # archived
    landing.write("c.csv", b"a\n")
    landing.tick()
    assert _requested(landing.tick()) == [("c", "c.csv")]  # its run waits in the queue
    landing.write("c.csv", b"a\nb\n")
    landing.tick()
    plan = landing.tick()
    assert _requested(plan) == [("c", "c.csv")]
    assert plan.log == []


def test_a_copy_older_than_its_drops_own_file_is_not_told_to_remove_the_drop():
    """`sentiment-run` plans with no memory, oldest first: a `cp -p` copy comes before the file
    it copies, which is still there, so `remove-drop` would refuse."""
    landing = Landing()
    landing.write("copy.csv", b"a\n")
    landing.write("r.csv", b"a\n")
    landing.stored["r"] = Ingested("r.csv", sha256_hex(b"a\n"))
    landing.partitions.add("r")
    landing.tick()
    plan = landing.tick()
    assert _requested(plan) == []
    assert plan.log == ["copy.csv: same content as drop 'r'; skipped"]


def test_a_quarantined_drop_landing_again_is_read_again_even_with_the_same_bytes():
    landing = Landing()
    landing.write("bad.csv", b"broken\n")
    landing.tick()
    assert _requested(landing.tick()) == [("bad", "bad.csv")]
    landing.remove("bad.csv")  # the run quarantined it: nothing stored
    landing.tick()
    landing.write("bad.csv", b"broken\n")  # moved back unchanged
    landing.tick()
    assert _requested(landing.tick()) == [("bad", "bad.csv")]
    landing.remove("bad.csv")
    landing.tick()
    landing.write("bad.csv", b"fixed\n")
    landing.tick()
    assert _requested(landing.tick()) == [("bad", "bad.csv")]


def test_a_quarantined_drop_landing_again_between_two_ticks_is_read_again():
    landing = Landing()
    landing.write("bad.csv", b"broken\n")
    landing.tick()
    assert _requested(landing.tick()) == [("bad", "bad.csv")]
    landing.remove("bad.csv")  # the run quarantined it ...
    landing.write("bad.csv", b"broken\n")  # ... and it is back before the next tick
    landing.tick()
    assert _requested(landing.tick()) == [("bad", "bad.csv")]
    landing.write("bad.csv", b"broken\n")  # the same file touched: not read again
    landing.tick()
    assert _requested(landing.tick()) == []


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


def test_a_partition_deleted_while_its_file_stays_is_read_again_at_once():
    """The UI's "delete partition" with the file left landed: a review saw it read again 15
    minutes later for a young file, and never for one older than the grace period."""
    landing = Landing()
    landing.write("r.csv", b"a\n")
    landing.tick()
    landing.ingest(landing.tick())
    landing.now_ns += 3600 * 10**9  # an hour on, far past the grace period
    assert _requested(landing.tick()) == []
    landing.partitions.discard("r")
    del landing.stored["r"]  # the deleted partition holds nothing the sensor can see
    plan = landing.tick()
    assert _requested(plan) == [("r", "r.csv")] and plan.new_keys == ["r"]
    landing.ingest(plan)
    assert _requested(landing.tick()) == []


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


def test_a_file_without_final_newline_waits_and_is_read_once_complete():
    landing = Landing()
    landing.write("r.csv", b"a,b\n1,")  # the writer stalls mid-record
    landing.tick()
    waiting = landing.tick()
    assert _requested(waiting) == []
    assert waiting.log == [
        "r.csv: the file is incomplete: it does not end with a newline; left in the landing "
        "folder and read once complete (judged truncated if unchanged for 60 s)"
    ]
    assert [landing.tick().log for _ in range(3)] == [[], [], []]  # said once; still waiting
    landing.write("r.csv", b"a,b\n1,2\n")  # the writer comes back and finishes
    landing.tick()
    plan = landing.tick()
    assert [(r.key, r.sha256) for r in plan.requests] == [("r", sha256_hex(b"a,b\n1,2\n"))]


def test_a_utf16_file_is_read_at_once_though_it_ends_in_a_nul():
    # Not unfinished but in the wrong encoding: raw_reviews quarantines it, saying so.
    landing = Landing()
    landing.write("r.csv", "a,b\n1,2\n".encode("utf-16"))
    landing.tick()
    assert _requested(landing.tick()) == [("r", "r.csv")]


def test_an_unfinished_file_unchanged_for_the_grace_period_is_read_to_be_judged():
    landing = Landing()
    landing.write("r.csv", b"")  # created, then nothing more
    waiting = [landing.tick() for _ in range(5)]  # unchanged for 10, 20, ..., 50 s
    assert [_requested(p) for p in waiting] == [[]] * 5
    assert "it is empty; left in the landing folder" in waiting[1].log[0]
    assert _requested(landing.tick()) == [("r", "r.csv")]  # 60 s: raw_reviews judges it now


def test_a_drop_its_run_left_unstored_is_planned_once_more_after_the_grace_period():
    # The tail looked finished, but the run found the file cut inside a quoted field (or could
    # not read it) and left it in place.
    landing = Landing()
    landing.write("r.csv", b'a,b\n1,"cut\n')
    landing.tick()
    first = landing.tick()  # unchanged for 20 s
    assert _requested(first) == [("r", "r.csv")]
    assert [_requested(landing.tick()) for _ in range(3)] == [[]] * 3  # 30-50 s
    again = landing.tick()  # 60 s
    assert [(r.key, r.sha256) for r in again.requests] == [("r", first.requests[0].sha256)]
    assert again.requests[0].run_key != first.requests[0].run_key
    assert [_requested(landing.tick()) for _ in range(12)] == [[]] * 12  # once only


def test_a_drop_stored_within_the_grace_period_is_not_planned_again():
    landing = Landing()
    landing.write("r.csv", b"a\n")
    landing.tick()
    landing.ingest(landing.tick())
    asked = _count_lookups(landing)
    ticks = 2 * int(GRACE_SECONDS * 1e9 / TICK_NS)
    assert [_requested(landing.tick()) for _ in range(ticks)] == [[]] * ticks
    # Its stored value is looked up once, past the grace period, not at every tick after it (an
    # event-log query per drop and tick under the sensor).
    assert asked == ["r"]


def test_a_file_that_cannot_be_read_is_tried_again_and_never_stops_the_others():
    landing = Landing()
    for name in ("a.csv", "b.csv", "c.csv"):
        landing.write(name, f"{name}\n".encode())
    landing.unreadable.add("b.csv")
    landing.tick()
    plan = landing.tick()
    assert _requested(plan) == [("a", "a.csv"), ("c", "c.csv")]
    assert plan.log == ["b.csv: cannot be read (Permission denied); tried again next tick"]
    assert landing.tick().log == []
    landing.unreadable.clear()
    assert _requested(landing.tick()) == [("b", "b.csv")]


def test_every_skipped_file_gets_a_line_saying_why_once():
    landing = Landing()
    landing.max_requests = 1
    landing.write("a.csv", b"a\n")
    landing.write("b.csv", b"b\n")
    landing.tick()
    landing.write("a.csv", b"a\nmore\n")  # still growing
    plan = landing.tick()
    assert _requested(plan) == [("b", "b.csv")]
    assert plan.log == ["a.csv: is still changing; read once it stops"]
    landing.write("c.csv", b"c\n")
    landing.write("d.csv", b"d\n")
    assert _requested(landing.tick()) == [("a", "a.csv")]
    plan = landing.tick()
    assert _requested(plan) == [("c", "c.csv")]
    assert plan.log == ["d.csv: waits for the next tick (at most 1 runs a tick)"]
    assert _requested(landing.tick()) == [("d", "d.csv")]


def test_a_changed_drop_says_it_replaces_the_stored_one():
    landing = Landing()
    landing.write("r.csv", b"a\n")
    landing.tick()
    first = landing.tick()
    a = sha256_hex(b"a\n")
    assert first.requests[0].replaces is None
    assert first.requests[0].note == f"r.csv: read as drop 'r' (sha256 {a[:12]})"
    landing.ingest(first)
    landing.write("r.csv", b"b\n")
    landing.tick()
    (request,) = landing.tick().requests
    assert request.replaces == Ingested("r.csv", a)
    assert request.note.endswith(
        f"its content changed, so it replaces the stored drop (read from r.csv, sha256 {a[:12]})"
    )


def test_a_cursor_written_before_sent_entries_had_fields_still_loads():
    landing = Landing()
    landing.write("r.csv", b"a\n")
    landing.tick()
    landing.ingest(landing.tick())
    old = landing.memory.dump().replace('"sent": {', '"sent": {"gone": ["ab", 1, 2], ')
    landing.memory = DropMemory.load(old)
    assert set(landing.memory.sent) == {"r"}
    assert isinstance(landing.memory.sent["r"], Sent)
    landing.memory.sent.clear()  # forgotten entries: the stored data version still decides
    assert _requested(landing.tick()) == []


def test_a_copy_of_a_drop_quarantined_since_is_read_under_its_own_name():
    """Both names land together and the first is read as the drop; its content is bad, so its file
    moves to quarantine and nothing is stored. The copy holds no drop's content then: it is read
    in its own right (and quarantined with its own note), not told to remove a drop never stored."""
    landing = Landing()
    landing.write("bad.csv", b"broken\n")
    landing.write("bad_copy.csv", b"broken\n")
    landing.tick()
    plan = landing.tick()
    assert _requested(plan) == [("bad", "bad.csv")]
    assert plan.log == ["bad_copy.csv: same content as drop 'bad'; skipped"]
    landing.remove("bad.csv")  # quarantined by its run
    plan = landing.tick()
    assert _requested(plan) == [("bad_copy", "bad_copy.csv")]
    assert plan.log == []
