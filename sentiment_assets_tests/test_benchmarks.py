from pathlib import Path

import pandas as pd
import pytest

from benchmarks.bench import build_parser
from benchmarks.future import benchmark_future, default_plan, time_ordered_evaluation
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


def test_parser_defaults():
    args = build_parser().parse_args([])
    assert args.full is False
    assert args.epochs is None


def test_parser_accepts_full_and_epochs():
    args = build_parser().parse_args(["--full", "--epochs", "3"])
    assert args.full is True
    assert args.epochs == 3


def test_parser_rejects_non_integer_epochs():
    with pytest.raises(SystemExit):
        build_parser().parse_args(["--epochs", "many"])


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


def test_time_ordered_evaluation_needs_two_drops(sample_drops):
    with pytest.raises(ValueError, match="two drops"):
        time_ordered_evaluation(sample_drops[:1], _quick())


def test_benchmark_future_prints_the_table_and_a_verdict_per_target(sample_drops, capsys):
    summary: list = []

    benchmark_future(sample_drops, summary=summary, candidates=_quick())

    out = capsys.readouterr().out
    assert "5. Quality on future data" in out and "| tfidf-logreg" in out
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
