"""`sentiment-predict`: JSON lines from the production model, a clear exit 2 without one, a clear
exit 1 when the store fails, and never a credential of the tracking URI."""

import json
from pathlib import Path

import pytest

from sentiment_assets.cli.predict import main
from sentiment_assets.cli.sample_drops import write_sample_drops
from sentiment_assets.model.reviews import REVIEW_ID, TEXT, read_reviews
from sentiment_assets_tests.processes import free_port


def test_without_a_production_model_it_says_so_and_exits_2(data_dir: Path, capsys) -> None:
    assert main(["Lovely dress"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "no model at models:/customer-sentiment-analysis@production" in err
    assert "make run" in err


def test_a_missing_alias_in_an_existing_store_is_no_model(
    production_store, monkeypatch, capsys
) -> None:
    monkeypatch.setenv("SENTIMENT_DATA_DIR", str(production_store["folder"]))
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    uri = "models:/customer-sentiment-analysis@staging"
    assert main(["--model-uri", uri, "Lovely dress"]) == 2
    assert f"no model at {uri}" in capsys.readouterr().err


def test_an_unreachable_store_is_named_without_its_credentials(monkeypatch, capsys) -> None:
    port = free_port()
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"http://alice:s3cret@127.0.0.1:{port}")
    # MLflow retries a refused connection for minutes by default.
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "1")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR", "0")

    assert main(["Lovely dress"]) == 1
    out, err = capsys.readouterr()
    assert "s3cret" not in out + err
    assert err.strip() == (
        "sentiment-predict: could not load models:/customer-sentiment-analysis@production from "
        f"the MLflow store at http://alice:***@127.0.0.1:{port}: "
        "the tracking server could not be reached"
    )


def test_texts_give_one_json_line_each(production_store, monkeypatch, capsys) -> None:
    monkeypatch.setenv("SENTIMENT_DATA_DIR", str(production_store["folder"]))
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
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


def test_a_csv_gives_one_line_per_review_with_its_id(
    production_store, monkeypatch, capsys, tmp_path: Path
) -> None:
    monkeypatch.setenv("SENTIMENT_DATA_DIR", str(production_store["folder"]))
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    (path,) = write_sample_drops(tmp_path, drops=1, rows_per_drop=40)
    reviews = read_reviews(path)
    without_text = reviews.loc[reviews[TEXT].isna(), REVIEW_ID].tolist()
    assert without_text  # the sample drops are messy, like the real ones

    assert main(["--file", str(path)]) == 0
    out, err = capsys.readouterr()
    lines = [json.loads(line) for line in out.splitlines()]
    assert [line["review_id"] for line in lines] == [i for i in range(40) if i not in without_text]
    assert f"{len(without_text)} review(s) without text skipped" in err


def test_a_blank_review_is_refused_not_scored(production_store, monkeypatch, capsys) -> None:
    monkeypatch.setenv("SENTIMENT_DATA_DIR", str(production_store["folder"]))
    with pytest.raises(SystemExit) as exit_:
        main(["Lovely", "   "])
    assert exit_.value.code == 2
    assert "review 2 is blank" in capsys.readouterr().err


def test_a_broken_csv_is_named_and_exits_2(data_dir: Path, capsys) -> None:
    bad = data_dir / "bad.csv"
    bad.write_bytes(b",Title\n0,Nice\n")
    assert main(["--file", str(bad)]) == 2
    assert "bad.csv: missing required column" in capsys.readouterr().err


def test_nothing_to_predict_is_a_usage_error() -> None:
    with pytest.raises(SystemExit) as exit_:
        main([])
    assert exit_.value.code == 2
