import itertools
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from benchmarks import report
from benchmarks.future import (
    benchmark_future,
    default_plan,
    learning_curve,
    time_ordered_evaluation,
)
from benchmarks.seed_reference import seed_reference_stem
from benchmarks.stemming import review_texts
from sentiment_assets.cli.sample_drops import write_sample_drops
from sentiment_assets.model.stems import stem_corpus

# Strings where a letters-only regex, stopwords or the missing-text contract could go wrong.
TRICKY = [
    "[Great] fit_but \\tight^ `sleeves`",  # the seed's [^a-zA-z] kept [ \ ] ^ _ and `
    "Size 4P fits 5'4\" and 120 lbs, 34DD",
    "The ombrã© print is lovely, derriã¨re â\xa0ã¼ber flattering",
    "I didn&#39;t love it &quot;at all&quot;",
    "Line one\r\nline two\nthree",
    "I am the one who was not there",  # stopwords only, apart from the stems
    "running runs ran easily fairly",
    "",
    "   ",
    "!!!",
    None,
    float("nan"),
]


@pytest.mark.slow  # the real drops
def test_reference_matches_project_on_real_reviews(real_drops):
    texts = review_texts(real_drops)[::87][:200]
    assert len(texts) == 200
    assert seed_reference_stem(texts) == stem_corpus(texts)


@pytest.mark.parametrize("text", TRICKY, ids=repr)
def test_reference_matches_project_on_tricky_text(text):
    assert seed_reference_stem([text]) == stem_corpus([text])


def test_reference_keeps_letters_only_and_drops_stopwords():
    assert seed_reference_stem(["[Great] fit_but `tight`"]) == ["great fit tight"]
    assert seed_reference_stem(["I am the one"]) == ["one"]


def test_reference_turns_missing_text_into_empty_strings():
    assert seed_reference_stem([None, float("nan"), "", "Lovely"]) == ["", "", "", "love"]


def test_a_benchmark_records_its_own_section_and_leaves_the_others(tmp_path, monkeypatch):
    monkeypatch.setattr(report, "PROJECT_ROOT", tmp_path)
    (tmp_path / "BENCHMARKS.md").write_text(
        "# Benchmarks\n\n<!-- bench:main:start -->\nold main\n<!-- bench:main:end -->\n\n"
        "<!-- bench:scaleout:start -->\nold scale-out\n<!-- bench:scaleout:end -->\n"
    )

    report.record_section("scaleout", "python -m benchmarks.scaleout --record", "new figures\n")
    report.record_section("extra", "python -m benchmarks.extra", "extra figures\n")

    text = (tmp_path / "BENCHMARKS.md").read_text()
    assert "old main" in text and "old scale-out" not in text
    scaleout = text[text.index("<!-- bench:scaleout:start -->") : text.index("<!-- bench:extra")]
    assert "`python -m benchmarks.scaleout --record`" in scaleout
    assert "```\nnew figures\n```\n<!-- bench:scaleout:end -->" in scaleout
    assert text.endswith("```\nextra figures\n```\n<!-- bench:extra:end -->\n")


def test_the_readme_has_every_block_the_serving_benchmark_fills():
    from benchmarks.report import missing_readme_blocks
    from benchmarks.serving import README_BLOCKS

    assert missing_readme_blocks(README_BLOCKS) == []
    assert missing_readme_blocks(("not-a-block",)) == ["not-a-block"]


def test_the_load_window_stays_open_until_it_has_enough_answers():
    from benchmarks.http_load import Window

    window = Window(start=10.0, seconds=5.0, min_answers=2)
    window.count(9.0, 9.5, 200)  # during the warm-up
    window.count(9.5, 12.0, 200)
    assert window.is_open(15.5)  # past its seconds with one answer
    window.count(12.0, 18.0, 503)
    assert not window.is_open(18.5)
    assert (window.latencies, window.failures, window.closed_at) == ([2.5, 6.0], [503], 18.0)

    enough = Window(start=10.0, seconds=5.0, min_answers=1)
    enough.count(10.0, 11.0, 200)
    enough.count(11.0, 16.0, 200)  # after the window closed
    assert (enough.latencies, enough.closed_at) == ([1.0], 15.0)


def test_the_load_opens_its_connections_one_after_another():
    """Opened in one burst, every connection went to one worker of a two-worker server."""
    import asyncio
    import threading

    from benchmarks.http_load import read_message, run

    opened: list[float] = []
    ready = threading.Event()
    port_box: list[int] = []

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        opened.append(time.perf_counter())
        while (message := await read_message(reader))[0]:
            assert message[0].startswith(b"POST /invocations")
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}")
            await writer.drain()
        writer.close()

    async def serve() -> None:
        server = await asyncio.start_server(answer, "127.0.0.1", 0)
        port_box.append(server.sockets[0].getsockname()[1])
        ready.set()
        async with server:
            await asyncio.sleep(5)

    threading.Thread(target=asyncio.run, args=(serve(),), daemon=True).start()
    assert ready.wait(5)
    result = run(port_box[0], [b"{}"], 3, 0.3, 0.3, 1, stagger=0.1)
    assert result["requests"] > 0 and result["errors"] == 0
    assert len(opened) == 3
    assert min(b - a for a, b in itertools.pairwise(opened)) >= 0.05  # 0.1 s, on busy cores


def test_the_server_cpu_split_names_each_busy_process_share():
    from benchmarks.serving import cpu_split

    assert cpu_split({1: 1.0, 2: 1.0}, {1: 3.0, 2: 2.9, 3: 0.05}) == "51/48"
    assert cpu_split({1: 1.0, 2: 1.0}, {1: 5.0, 2: 1.0}) == "100"  # one worker took it all
    assert cpu_split({1: 0.0}, {1: 0.0, 4: 1.0}) == "100"  # a process that started meanwhile
    assert cpu_split({1: 1.0}, {1: 1.0}) == "idle"


def test_the_server_cpu_is_read_per_process_of_its_group():
    from benchmarks.serving import group_cpu

    busy = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import time\nend = time.time() + 30\nwhile time.time() < end: pass",
        ],
        start_new_session=True,
    )
    try:
        time.sleep(0.5)
        first = group_cpu(busy.pid)
        time.sleep(0.5)
        second = group_cpu(busy.pid)
    finally:
        busy.kill()
        busy.wait()
    assert set(first) == set(second) == {busy.pid}
    assert second[busy.pid] > first[busy.pid]
    assert group_cpu(busy.pid) == {}


def test_the_main_benchmark_records_its_summary_in_the_readme_block_only(tmp_path, monkeypatch):
    monkeypatch.setattr(report, "PROJECT_ROOT", tmp_path)
    readme = (
        f"# Project\n\nBefore.\n{report.README_START}\nstale figures\n{report.README_END}\nAfter.\n"
    )
    (tmp_path / "README.md").write_text(readme)
    summary = [("stemming, all reviews", "1.5 s", "target <= 2 s: met")]

    report.record("the whole output\n", summary, candidates=None)

    text = (tmp_path / "README.md").read_text()
    assert text.startswith("# Project\n\nBefore.\n") and text.endswith(
        f"{report.README_END}\nAfter.\n"
    )
    block = text[text.index(report.README_START) : text.index(report.README_END)]
    rows = [[cell.strip() for cell in line.split("|")[1:-1]] for line in block.splitlines()]
    assert "stale figures" not in block
    assert ["stemming, all reviews", "1.5 s", "target <= 2 s: met"] in rows
    assert "```\nthe whole output\n```" in (tmp_path / "BENCHMARKS.md").read_text()


# Section 5: quality on future data


@pytest.fixture(scope="module")
def sample_drops(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    return write_sample_drops(tmp_path_factory.mktemp("drops"), drops=3, rows_per_drop=500)


def _quick() -> list:
    return default_plan(["tfidf-logreg"])


def test_time_ordered_evaluation_trains_on_the_earlier_drops_and_scores_the_latest(sample_drops):
    dataset, unseen, (score,) = time_ordered_evaluation(sample_drops, _quick())

    assert set(dataset.reviews["drop"]) == {"reviews_sample-01", "reviews_sample-02"}
    assert set(unseen["drop"]) == {"reviews_sample-03"}
    assert score.name == "tfidf-logreg" and score.refit
    assert score.refit_seconds is not None
    counts = [v for k, v in score.future.as_dict().items() if k.startswith("n_")]
    assert sum(counts) == len(unseen)
    assert score.future.roc_auc > 0.75


def test_time_ordered_evaluation_never_trains_on_the_latest_drop(sample_drops, tmp_path):
    # The latest drop with every label flipped: a model that learnt nothing from it scores it
    # exactly the other way round, with the same threshold and validation figures.
    *earlier, latest = sample_drops
    frame = pd.read_csv(latest, index_col=0)
    frame["Recommended IND"] = 1 - frame["Recommended IND"]
    flipped = tmp_path / latest.name
    frame.to_csv(flipped, index_label="", lineterminator="\n")

    _, _, (score,) = time_ordered_evaluation(sample_drops, _quick())
    _, _, (other,) = time_ordered_evaluation([*earlier, flipped], _quick())

    assert other.threshold == score.threshold
    assert other.validation == score.validation
    assert other.future.roc_auc == pytest.approx(1 - score.future.roc_auc)
    assert other.future.accuracy == pytest.approx(1 - score.future.accuracy)


def test_the_learning_curve_trains_on_the_earliest_reviews_and_ends_with_all_of_them(sample_drops):
    _, _, (score,) = time_ordered_evaluation(sample_drops, _quick())

    curve = learning_curve(sample_drops, _quick()[0], shares=(0.5,))

    assert list(curve["share of the earlier drops"]) == ["50%", "100%"]
    half, everything = curve["reviews (deduplicated)"]
    assert half == pytest.approx(everything / 2, abs=2)
    # All of them is the time-ordered evaluation's own training: the same figures.
    assert curve["ROC AUC"].iloc[-1] == round(score.future.roc_auc, 4)
    assert curve["not-rec F1"].iloc[-1] == round(score.future.not_recommended_f1, 4)


def test_time_ordered_evaluation_needs_two_drops(sample_drops):
    with pytest.raises(ValueError, match="two drops"):
        time_ordered_evaluation(sample_drops[:1], _quick())


def test_benchmark_future_prints_the_table_and_a_verdict_per_target(sample_drops, capsys):
    summary: list = []

    benchmark_future(sample_drops, summary=summary, candidates=_quick())

    out = capsys.readouterr().out
    assert "5. Quality on future data" in out and "| tfidf-logreg" in out
    assert "5. Learning curve: tfidf-logreg (the production pick)" in out
    assert [row[0].rsplit(", ", 1)[1] for row in summary] == [
        "ROC AUC",
        "accuracy",
        "F1 not recommended",
    ]
    assert all(row[0].startswith("production pick (tfidf-logreg)") for row in summary)
    assert all(row[2].endswith(("met", "NOT met")) for row in summary)


def test_default_plan_refuses_an_unknown_candidate():
    with pytest.raises(ValueError, match="no-such"):
        default_plan(["no-such"])


# Touches 200 MiB, then forks a child that sleeps without starting a program of its own.
_FORKS_WITH_200_MIB = """
import os, sys, time
held = bytearray(200 * 2**20)
for i in range(0, len(held), 4096):
    held[i] = 1
child = os.fork()
if child == 0:
    time.sleep(1.5)
    os._exit(0)
os.waitpid(child, 0)
"""


def test_the_memory_trace_counts_a_forked_childs_shared_pages_once(tmp_path):
    import sys

    from benchmarks.memory import run_traced

    code, _, trace = run_traced(
        [sys.executable, "-c", _FORKS_WITH_200_MIB],
        env={"PATH": "/usr/bin:/bin"},
        cwd=tmp_path,
        log=tmp_path / "log",
    )

    assert code == 0
    assert trace.peak > 200 * 2**20  # the parent's pages are counted ...
    assert trace.peak < 300 * 2**20  # ... once, not again for the child sharing them
