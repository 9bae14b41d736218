import pytest

from benchmarks.bench import build_parser
from benchmarks.seed_reference import seed_reference_stem
from benchmarks.stemming import review_texts
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
