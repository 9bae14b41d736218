"""`sentiment-predict`: JSON lines or CSV from the production model; bad input (exit 2), no model
(exit 3) and a failing store (exit 4) each told apart in one line, never with a credential of the
tracking URI."""

import csv
import io
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from sentiment_assets.cli import predict
from sentiment_assets.cli.predict import Exit, main
from sentiment_assets.cli.sample_drops import write_sample_drops
from sentiment_assets.lib.tracking import PRODUCTION_URI
from sentiment_assets.model.reviews import REVIEW_ID, TEXT, TITLE, read_reviews
from sentiment_assets_tests.processes import free_port


def test_without_a_production_model_it_says_so_and_exits_3(data_dir: Path, capsys) -> None:
    assert main(["Lovely dress"]) == Exit.NO_MODEL == 3
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "no model at models:/customer-sentiment-analysis@production" in err
    assert (
        "in the MLflow store at sqlite:///" in err
        and "(no store has been created there yet)" in err
    )
    assert "make run" in err
    # Finding out created no empty store.
    assert not (data_dir / "mlflow").exists()


@pytest.fixture
def tfidf_production(tfidf_store, monkeypatch):
    """The TF-IDF store as the default one, its first version in production."""
    monkeypatch.setenv("SENTIMENT_DATA_DIR", str(tfidf_store["folder"]))
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    tfidf_store["store"].set_production(tfidf_store["versions"][0])
    return tfidf_store


def test_a_missing_alias_in_an_existing_store_is_no_model(tfidf_production, capsys) -> None:
    uri = "models:/customer-sentiment-analysis@staging"
    assert main(["--model-uri", uri, "Lovely dress"]) == Exit.NO_MODEL
    err = capsys.readouterr().err
    assert f"no model at {uri}" in err and "alias staging not found" in err
    # No run makes a mistyped alias: the hint is where to look, not to train.
    assert "make run" not in err and "make mlflow-ui" in err


def test_an_alias_removed_from_registered_versions_is_not_sent_to_make_run(
    tfidf_production, capsys
) -> None:
    from sentiment_assets.lib.tracking import PRODUCTION_ALIAS

    store = tfidf_production["store"]
    store.client().delete_registered_model_alias(store.model_name, PRODUCTION_ALIAS)
    try:
        assert main(["Lovely dress"]) == Exit.NO_MODEL
    finally:
        store.set_production(tfidf_production["versions"][0])
    err = capsys.readouterr().err
    # An up-to-date sentiment-run trains nothing, so it would not bring the alias back.
    assert "versions but none holds the production alias" in err and "make run" not in err


def test_a_missing_version_is_no_model_in_mlflows_words(tfidf_production, capsys):
    uri = "models:/customer-sentiment-analysis/99"
    assert main(["--model-uri", uri, "Lovely dress"]) == Exit.NO_MODEL
    assert "version=99) not found" in capsys.readouterr().err


def test_a_malformed_model_uri_is_bad_input_not_a_failing_store(capsys) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["--model-uri", "models:/a/b/c", "Lovely dress"])
    assert exit_.value.code == Exit.BAD_INPUT
    assert "--model-uri models:/a/b/c: Models URIs must be of the form" in capsys.readouterr().err


def test_a_locked_store_is_a_store_failure(tfidf_store, tmp_path, monkeypatch, capsys) -> None:
    from sentiment_assets.lib import model_loading

    db = tmp_path / "mlflow.db"
    shutil.copy(tfidf_store["store"].uri.removeprefix("sqlite:///"), db)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{db}")
    monkeypatch.setattr(model_loading, "_BUSY_TIMEOUT_SECONDS", 0.1)
    writer = sqlite3.connect(db, isolation_level=None)
    writer.execute("BEGIN EXCLUSIVE")
    try:
        assert main(["Lovely dress"]) == Exit.STORE_FAILED == 4
    finally:
        writer.close()
    assert capsys.readouterr().err.strip() == (
        "sentiment-predict: could not load models:/customer-sentiment-analysis@production: the "
        f"MLflow store at sqlite:///{db} failed: it is locked by another process (SQLite: "
        "database is locked)"
    )


def test_a_model_whose_own_files_fail_is_not_called_a_store_failure(
    tfidf_store, tmp_path, monkeypatch
) -> None:
    from sentiment_assets.lib.model_loading import alias_from_sqlite

    store = tfidf_store["store"]
    store.set_production(tfidf_store["versions"][0])
    folder = shutil.copytree(alias_from_sqlite(store.uri, PRODUCTION_URI).path, tmp_path / "m")
    (serving,) = Path(folder).rglob("serving.json")
    serving.unlink()
    monkeypatch.setenv("MLFLOW_TRACKING_URI", store.uri)
    with pytest.raises(FileNotFoundError, match=r"serving\.json"):
        main(["--model-uri", str(folder), "Lovely dress"])


def test_an_unreachable_store_is_named_without_its_credentials(monkeypatch, capsys) -> None:
    port = free_port()
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"http://alice:s3cret@127.0.0.1:{port}")
    # MLflow retries a refused connection for minutes by default.
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "1")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR", "0")

    assert main(["Lovely dress"]) == Exit.STORE_FAILED
    out, err = capsys.readouterr()
    assert "s3cret" not in out + err
    assert err.strip() == (
        "sentiment-predict: could not load models:/customer-sentiment-analysis@production: the "
        f"MLflow store at http://alice:***@127.0.0.1:{port} failed: "
        "the tracking server could not be reached"
    )


@pytest.mark.slow  # the command in a process of its own: its logging as people see it
def test_an_unreachable_store_is_one_line_without_the_retries(tmp_path: Path) -> None:
    env = {**os.environ, "MLFLOW_TRACKING_URI": f"http://127.0.0.1:{free_port()}"}
    env |= {"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "2", "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "0"}
    command = [str(Path(sys.executable).parent / "sentiment-predict"), "Lovely dress"]
    done = subprocess.run(command, capture_output=True, text=True, env=env, cwd=tmp_path)
    assert done.returncode == Exit.STORE_FAILED
    assert done.stderr.splitlines() == [
        "sentiment-predict: could not load models:/customer-sentiment-analysis@production: the "
        f"MLflow store at {env['MLFLOW_TRACKING_URI']} failed: the tracking server could not be "
        "reached"
    ]


def test_texts_give_one_json_line_each(tfidf_production, capsys) -> None:
    assert main(["I will tell my friends for sure", "Ripped after one wash"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [line["text"] for line in lines] == [
        "I will tell my friends for sure",
        "Ripped after one wash",
    ]
    assert all(line["label"] in (0, 1) and 0 <= line["probability"] <= 1 for line in lines)
    assert all(
        line["sentiment"] == ("recommended" if line["label"] else "not recommended")
        for line in lines
    )


def test_a_csv_file_gives_one_json_line_per_review_with_text_and_its_id(
    tfidf_production, capsys, tmp_path: Path
) -> None:
    (path,) = write_sample_drops(tmp_path, drops=1, rows_per_drop=40)
    reviews = read_reviews(path)
    without_text = reviews.loc[reviews[TEXT].isna(), REVIEW_ID].tolist()
    assert without_text  # the sample drops are messy, like the real ones

    assert main(["--file", str(path)]) == 0
    out, err = capsys.readouterr()
    lines = [json.loads(line) for line in out.splitlines()]
    assert [line["review_id"] for line in lines] == [i for i in range(40) if i not in without_text]
    assert 1 < len(without_text) <= predict._SHOWN  # each one named, and no "..." after them
    ids = ", ".join(map(str, without_text))
    assert err == (
        f"sentiment-predict: {len(without_text)} review(s) without text (or with no letter a-z or "
        f"digit in text and title) skipped (review_id {ids})\n"
    )


def test_reviews_of_a_file_with_nothing_the_model_reads_are_skipped_and_counted(
    tfidf_production, capsys, tmp_path: Path
) -> None:
    path = tmp_path / "reviews.csv"
    path.write_text(
        ",Title,Review Text\n0,,Lovely dress\n1,,😡😡😡\n2,Ужасно,....\n3,Bad,😡\n",
        encoding="utf-8",
    )

    code, out, err = _run(["--file", str(path)], capsys)

    assert code == 0
    assert [json.loads(line)["review_id"] for line in out.splitlines()] == [0, 3]
    assert err == (
        "sentiment-predict: 2 review(s) without text (or with no letter a-z or digit in text and "
        "title) skipped (review_id 1, 2)\n"
    )


def test_a_blank_review_is_refused_not_scored(tfidf_production, capsys) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["Lovely", "   "])
    assert exit_.value.code == 2
    assert "review 2 is blank" in capsys.readouterr().err


def test_a_review_with_nothing_the_model_reads_is_refused_in_a_line(capsys) -> None:
    """Not the model's refusal as a traceback and exit 1 (a review of this stop's diff)."""
    with pytest.raises(SystemExit) as exit_:
        main(["Lovely", "😡😡😡 !!!", "Ужасно"])
    assert exit_.value.code == 2
    assert "review 2, 3 holds no letter (a-z) or digit" in capsys.readouterr().err


def test_a_broken_csv_is_named_and_exits_2(data_dir: Path, capsys) -> None:
    bad = data_dir / "bad.csv"
    bad.write_bytes(b",Title\n0,Nice\n")
    assert main(["--file", str(bad)]) == Exit.BAD_INPUT
    assert "bad.csv: missing required column" in capsys.readouterr().err


def test_nothing_to_predict_is_a_usage_error(capsys) -> None:
    with pytest.raises(SystemExit) as exit_:
        main([])
    assert exit_.value.code == 2
    # It said "not both" when nothing was given (a README review).
    assert "error: give review texts or --file (the model" in capsys.readouterr().err


def test_texts_and_a_file_together_are_a_usage_error(tmp_path: Path, capsys) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["Lovely", "--file", str(tmp_path / "reviews.csv")])
    assert exit_.value.code == 2
    assert "error: give review texts or --file, not both" in capsys.readouterr().err


def test_ctrl_c_while_starting_is_one_line_not_a_traceback(
    capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Start-up imports MLflow to check --model-uri: a review's Ctrl-C there got 54 lines."""
    from sentiment_assets.cli import predict

    def interrupted(uri: str) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(predict, "_model_uri_problem", interrupted)
    assert main(["Lovely"]) == Exit.INTERRUPTED
    assert capsys.readouterr().err == (
        "sentiment-predict: interrupted before anything was read or written\n"
    )


def test_texts_as_csv_are_keyed_by_their_text(tfidf_production, capsys) -> None:
    assert main(["--format", "csv", "Ripped after one wash", "Fits, and soft"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert list(rows[0]) == ["text", "probability", "label", "sentiment"]
    assert [row["text"] for row in rows] == ["Ripped after one wash", "Fits, and soft"]


@pytest.mark.parametrize("rows", ["7, ,1\n", "7, ,1\n7,,0\n"])
def test_a_file_without_any_review_text_is_bad_input(
    tfidf_production, capsys, tmp_path, rows: str
) -> None:
    path, output = tmp_path / "reviews.csv", tmp_path / "scored.csv"
    path.write_text("Clothing ID,Review Text,Recommended IND\n" + rows)
    output.write_text("kept\n")

    code, out, err = _run(["--file", str(path), "--format", "csv", "--output", str(output)], capsys)

    assert code == Exit.BAD_INPUT and out == ""
    count = rows.count("\n")
    assert err == (
        f"sentiment-predict: reviews.csv: none of its {count} review(s) has text the model reads; "
        "nothing scored\n"
    )
    assert output.read_text() == "kept\n"


def _run(argv: list[str], capsys) -> tuple[int, str, str]:
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def test_a_file_as_json_lines_and_as_csv_with_its_review_ids(
    tfidf_production, capsys, tmp_path: Path
) -> None:
    *_, path = write_sample_drops(tmp_path, drops=2, rows_per_drop=40)  # ids 40-79
    code, out, _ = _run(["--file", str(path)], capsys)
    assert code == 0
    lines = [json.loads(line) for line in out.splitlines()]
    code, out, _ = _run(["--file", str(path), "--format", "csv"], capsys)
    assert code == 0
    assert out.splitlines()[0] == "review_id,probability,label,sentiment"
    rows = list(csv.DictReader(io.StringIO(out)))

    with_text = read_reviews(path).dropna(subset=[TEXT])
    assert with_text[REVIEW_ID].iloc[0] == 40  # the file's own ids, not row numbers
    assert [line["review_id"] for line in lines] == with_text[REVIEW_ID].tolist()
    assert [int(row["review_id"]) for row in rows] == with_text[REVIEW_ID].tolist()
    assert [line["text"] for line in lines] == with_text[TEXT].tolist()
    for line, row in zip(lines, rows, strict=True):
        assert float(row["probability"]) == line["probability"]
        assert int(row["label"]) == line["label"]
        assert row["sentiment"] == line["sentiment"]
    assert {line["sentiment"] for line in lines} == {"recommended", "not recommended"}


def test_the_progress_bar_on_a_terminal_leaves_the_predictions_on_stdout(
    tfidf_production, capsys, tmp_path: Path, monkeypatch
) -> None:
    # `sentiment-predict --file f.csv > out.jsonl` in a terminal: stderr shows the bar, and every
    # prediction still goes to stdout.
    (path,) = write_sample_drops(tmp_path, drops=1, rows_per_drop=60)
    plain = _run(["--file", str(path), "--chunk-size", "7"], capsys)
    monkeypatch.setenv("TTY_COMPATIBLE", "1")  # rich: stderr is a terminal
    code, out, err = _run(["--file", str(path), "--chunk-size", "7"], capsys)
    assert code == 0
    assert out == plain[1] and len(out.splitlines()) > 40
    assert f"{path.name}: " in err and '"review_id"' not in err


def test_a_file_bigger_than_one_chunk_gives_the_whole_files_predictions(
    tfidf_production, capsys, tmp_path: Path
) -> None:
    (path,) = write_sample_drops(tmp_path, drops=1, rows_per_drop=300)
    whole = _run(["--file", str(path), "--chunk-size", "1000"], capsys)
    chunked = _run(["--file", str(path), "--chunk-size", "7"], capsys)
    assert chunked == whole
    assert whole[0] == 0 and "review(s) without text (or with no letter" in whole[2]
    # And they are the model's predictions of the file read at once.
    import mlflow.pyfunc
    import pandas as pd

    reviews = read_reviews(path).dropna(subset=[TEXT])
    model = mlflow.pyfunc.load_model(tfidf_production["store"].version_uri("1"))
    titles = [t if isinstance(t, str) else None for t in reviews[TITLE]]
    expected = model.predict(pd.DataFrame({"review_text": reviews[TEXT], "title": titles}))
    lines = [json.loads(line) for line in whole[1].splitlines()]
    assert [line["label"] for line in lines] == expected["label"].tolist()
    assert [line["probability"] for line in lines] == expected["probability"].round(6).tolist()


HEADER = ",Title,Review Text,Recommended IND\n"


@pytest.mark.parametrize(
    ("broken", "problem"),
    [
        (
            "7,Title,Fine,but,1\n",
            "cannot be parsed as CSV: the record on line 9 has 5 fields but the header has 4",
        ),
        (
            "7,Title,Fine,maybe\n",
            "Recommended IND must be 0 or 1: 1 of the 5 rows starting on "
            "lines 7-11 hold something else ('maybe' (1x)): review_id 7 (line 9)",
        ),
    ],
)
def test_a_broken_record_in_the_second_chunk_is_named_and_no_output_is_written(
    tfidf_production, capsys, tmp_path: Path, broken: str, problem: str
) -> None:
    rows = [f"{i},Title {i},Lovely dress number {i},1\n" for i in range(12)]
    rows[7] = broken
    path = tmp_path / "reviews.csv"
    path.write_text(HEADER + "".join(rows))
    output = tmp_path / "out" / "predictions.jsonl"
    output.parent.mkdir()
    argv = ["--file", str(path), "--chunk-size", "5", "--output", str(output)]

    code, out, err = _run(argv, capsys)
    assert (code, out) == (2, "")
    assert err.strip() == f"sentiment-predict: reviews.csv: {problem}"
    assert list(output.parent.iterdir()) == []
    # A file that was there stays as it was.
    output.write_text("earlier predictions\n")
    assert _run(argv, capsys)[0] == 2
    assert list(output.parent.iterdir()) == [output]
    assert output.read_text() == "earlier predictions\n"


def test_output_is_written_whole_under_its_name(tfidf_production, capsys, tmp_path: Path) -> None:
    (path,) = write_sample_drops(tmp_path, drops=1, rows_per_drop=30)
    output = tmp_path / "out" / "predictions.csv"
    output.parent.mkdir()
    code, out, _ = _run(["--file", str(path), "--format", "csv", "--output", str(output)], capsys)
    assert (code, out) == (0, "")
    assert list(output.parent.iterdir()) == [output]
    written = output.read_text().splitlines()
    assert written[0] == "review_id,probability,label,sentiment"
    assert _run(["--file", str(path), "--format", "csv"], capsys)[1].splitlines() == written


def test_output_leaves_no_file_when_the_model_fails_to_load(
    data_dir: Path, monkeypatch, capsys
) -> None:
    output = data_dir / "out" / "predictions.jsonl"
    output.parent.mkdir()
    assert _run(["Lovely dress", "--output", str(output)], capsys)[0] == Exit.NO_MODEL
    assert list(output.parent.iterdir()) == []
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"http://127.0.0.1:{free_port()}")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "1")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR", "0")
    output.write_text("earlier predictions\n")
    code, _, err = _run(["Lovely dress", "--output", str(output)], capsys)
    assert code == Exit.STORE_FAILED and "the tracking server could not be reached" in err
    assert list(output.parent.iterdir()) == [output]
    assert output.read_text() == "earlier predictions\n"


def test_a_moved_alias_is_seen_by_the_next_prediction(tfidf_production, capsys) -> None:
    import mlflow.pyfunc
    import pandas as pd

    store, versions = tfidf_production["store"], tfidf_production["versions"]
    review = "The fabric is thin but the fit is lovely"
    seen = {}
    for version in (versions[0], versions[1], versions[0]):
        store.set_production(version)
        code, out, _ = _run([review], capsys)
        assert code == 0
        seen.setdefault(version, set()).add(json.loads(out)["probability"])
    store.activate()
    for version, probabilities in seen.items():
        model = mlflow.pyfunc.load_model(store.version_uri(version))
        expected = model.predict(pd.DataFrame({"review_text": [review]}))["probability"][0]
        assert probabilities == {round(float(expected), 6)}
    assert seen[versions[0]] != seen[versions[1]]


@pytest.mark.slow  # the command in a process of its own
def test_sentiment_predict_scores_a_tfidf_model_without_tensorflow(
    tfidf_production, tmp_path: Path
) -> None:
    command = [str(Path(sys.executable).parent / "sentiment-predict")]
    command += ["Love it", "Cheap, returning it"]
    env = {**os.environ, "SENTIMENT_DATA_DIR": str(tfidf_production["folder"])}
    env["PYTHONPROFILEIMPORTTIME"] = "1"  # every module the command imports, on stderr
    env.pop("MLFLOW_TRACKING_URI", None)
    done = subprocess.run(command, capture_output=True, text=True, env=env, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    assert [json.loads(line)["label"] for line in done.stdout.splitlines()] == [1, 0]
    imported = {
        line.rsplit("|", 1)[1].strip().split(".")[0]
        for line in done.stderr.splitlines()
        if line.startswith("import time:")
    }
    assert "sklearn" in imported and "mlflow" in imported
    # No TensorFlow for a TF-IDF model, and the alias read without MLflow's SQLAlchemy store.
    assert not imported & {"tensorflow", "keras", "sqlalchemy", "alembic"}


def test_a_complete_file_without_a_final_newline_is_scored(
    tfidf_production, capsys, tmp_path: Path
) -> None:
    # A landing drop without one may still be written; a file given to the command is whole.
    path = tmp_path / "reviews.csv"
    path.write_text(HEADER + "1,Title,Lovely dress,1\n2,Title,Awful fabric,0")
    code, out, _ = _run(["--file", str(path), "--format", "csv"], capsys)
    assert code == 0
    assert [row["review_id"] for row in csv.DictReader(io.StringIO(out))] == ["1", "2"]


def test_an_empty_file_is_called_empty_not_still_being_written(data_dir, capsys, tmp_path) -> None:
    path = tmp_path / "reviews.csv"
    path.write_bytes(b"")
    code, out, err = _run(["--file", str(path)], capsys)
    assert code == Exit.BAD_INPUT and not out
    assert err.strip() == "sentiment-predict: reviews.csv: the file is empty"


@pytest.mark.parametrize("where", ["a folder", "the input"])
def test_an_output_that_is_a_folder_or_the_input_is_a_usage_error(
    capsys, tmp_path: Path, where: str
) -> None:
    path = tmp_path / "reviews.csv"
    path.write_text(HEADER + "1,Title,Lovely dress,1\n")
    output = tmp_path if where == "a folder" else path
    with pytest.raises(SystemExit) as exit_:
        main(["--file", str(path), "--output", str(output)])
    assert exit_.value.code == 2
    said = "is a folder; name a file" if where == "a folder" else "is the --file being read"
    assert f"--output {output}: {said}" in capsys.readouterr().err
    assert path.read_text() == HEADER + "1,Title,Lovely dress,1\n"


def test_an_output_that_cannot_be_written_is_one_line_not_a_traceback(
    tfidf_production, capsys, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import tempfile

    def no_room(*args, **kwargs):
        raise OSError(28, "No space left on device", str(tmp_path / ".out.csv.tmp"))

    (path,) = write_sample_drops(tmp_path, drops=1, rows_per_drop=30)
    monkeypatch.setattr(tempfile, "mkstemp", no_room)
    code, out, err = _run(["--file", str(path), "--output", str(tmp_path / "out.csv")], capsys)
    assert (code, out) == (2, "")
    assert err.strip() == (
        f"sentiment-predict: {tmp_path / '.out.csv.tmp'}: No space left on device; "
        f"--output {tmp_path / 'out.csv'} is as it was"
    )


def test_ctrl_c_leaves_the_output_as_it_was_and_exits_130(
    tfidf_production, capsys, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sentiment_assets.cli import predict

    def interrupted(model, batch):
        raise KeyboardInterrupt

    (path,) = write_sample_drops(tmp_path, drops=1, rows_per_drop=30)
    output = tmp_path / "out" / "predictions.csv"
    output.parent.mkdir()
    monkeypatch.setattr(predict, "_predict", interrupted)
    code, out, err = _run(["--file", str(path), "--output", str(output)], capsys)
    assert (code, out) == (Exit.INTERRUPTED, "")
    assert err.strip() == f"sentiment-predict: interrupted; --output {output} is as it was"
    assert list(output.parent.iterdir()) == []


def test_a_pipe_is_refused_with_what_to_do(data_dir: Path, capsys) -> None:
    read, write = os.pipe()
    os.write(write, (HEADER + "1,Title,Lovely dress,1\n").encode())
    os.close(write)
    code, out, err = _run(["--file", f"/dev/fd/{read}"], capsys)
    os.close(read)
    assert (code, out) == (2, "")
    assert "is a pipe or a stream, not a file: save it to a file first" in err


def test_a_named_pipe_nothing_writes_to_is_refused_not_waited_on(
    data_dir: Path, capsys, tmp_path: Path
) -> None:
    """Opening one for reading waits for a writer: the command hung for good (a review)."""
    fifo = tmp_path / "reviews.csv"
    os.mkfifo(fifo)
    outcome: list = []
    reader = threading.Thread(target=lambda: outcome.append(_run(["--file", str(fifo)], capsys)))
    reader.start()
    reader.join(timeout=60)
    if reader.is_alive():  # let the thread end: a writer opens the pipe and closes it
        os.close(os.open(fifo, os.O_WRONLY))
        reader.join()
        pytest.fail("sentiment-predict --file waited on a named pipe nothing writes to")
    code, out, err = outcome[0]
    assert (code, out) == (2, "")
    assert "reviews.csv: is a pipe or a stream, not a file: save it to a file first" in err


def test_a_folder_without_a_model_is_no_model_and_an_empty_uri_a_usage_error(
    tfidf_production, capsys, tmp_path: Path
) -> None:
    # Not "the store failed" (exit 4, worth a retry): there is no model there to retry for.
    (tmp_path / "empty").mkdir()
    assert main(["--model-uri", str(tmp_path / "empty"), "Lovely dress"]) == Exit.NO_MODEL
    assert 'Could not find an "MLmodel" configuration file' in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_:
        main(["--model-uri", "", "Lovely dress"])
    assert exit_.value.code == 2
    assert "--model-uri : is empty" in capsys.readouterr().err
