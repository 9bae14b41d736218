import hashlib
import re
from importlib import resources

import numpy as np
import pandas as pd
import pytest
from nltk.stem.porter import PorterStemmer

from sentiment_assets.cli.sample_drops import write_sample_drops
from sentiment_assets.model.reviews import LABEL, REVIEW_ID, TEXT, TITLE, read_reviews
from sentiment_assets.model.stems import (
    NEGATIONS,
    NON_LETTERS,
    english_stopwords,
    mark_negations,
    normalized_inputs,
    readable,
    stem_corpus,
    stem_reviews,
    stem_text,
    stem_word,
)
from sentiment_assets_tests.support import real_drops_dir

# NLTK's list as shipped beside the real drops (their folder's parent, SENTIMENT_REVIEWS_DIR).
SHARED_STOPWORDS = real_drops_dir().parent / "nltk_stopwords_english.txt"
STOPWORDS_SHA256 = "019f104ba2ed07436d05f9cdd3383034ad66014edc27fc651f837e1a038b6451"
CORPUS_COLUMNS = ["review_id", "label", "title", "text", "stemmed"]


def _porter(*words: str) -> str:
    """The reference: a fresh NLTK Porter stemmer, nothing memoised."""
    stemmer = PorterStemmer()
    return " ".join(stemmer.stem(word) for word in words)


@pytest.fixture(scope="module")
def first_drop(real_drops) -> pd.DataFrame:
    return read_reviews(real_drops[0])


@pytest.fixture(scope="module")
def first_corpus(first_drop) -> pd.DataFrame:
    return stem_reviews(first_drop)


def test_shipped_stopwords_are_nltks_179_word_english_list():
    shipped = (
        resources.files("sentiment_assets.model").joinpath("stopwords_english.txt").read_bytes()
    )
    assert hashlib.sha256(shipped).hexdigest() == STOPWORDS_SHA256
    words = english_stopwords()
    assert len(words) == 179
    assert {"i", "me", "the", "not", "no", "don", "don't", "wouldn", "wouldn't"} <= words


def test_shipped_stopwords_equal_the_shared_copy():
    if not SHARED_STOPWORDS.exists():
        pytest.skip(f"no {SHARED_STOPWORDS}")
    lines = SHARED_STOPWORDS.read_text("ascii").splitlines()
    assert len(lines) == len(set(lines)) == 179
    assert english_stopwords() == frozenset(lines)


def test_negations_are_all_nltk_stopwords():
    # So the seed's stems drop them all, which the challengers' negation marking makes up for.
    assert frozenset(NEGATIONS) <= english_stopwords()


@pytest.mark.parametrize("char", ["[", "\\", "]", "^", "_", "`"])
def test_characters_between_upper_and_lower_case_are_not_letters(char):
    # The seed's `[^a-zA-z]` kept these six, gluing words together.
    assert NON_LETTERS.sub(" ", f"good{char}fit") == "good fit"
    assert stem_text(f"soft{char}{char}dresses") == _porter("soft", "dresses")


def test_digits_punctuation_and_mojibake_split_words():
    assert stem_text("Size 12: fits—perfectly!") == _porter("size", "fits", "perfectly")
    # Non-ASCII letters are not letters to the pattern: "ombrã©" keeps only "ombr".
    assert stem_text("ombrã© print") == _porter("ombr", "print")


def test_lowercases_removes_stopwords_and_stems():
    assert stem_text("I LOVED these dresses!!") == _porter("loved", "dresses") == "love dress"
    assert stem_text("The fabric was RUNNING small, and it shrank") == _porter(
        "fabric", "running", "small", "shrank"
    )
    assert stem_text("Beautifully flattering; comfortably sized.") == _porter(
        "beautifully", "flattering", "comfortably", "sized"
    )


def test_text_of_only_stopwords_becomes_empty():
    assert stem_text("It was what I had, and so it is.") == ""


@pytest.mark.parametrize("missing", [None, float("nan"), np.nan, pd.NA])
def test_missing_text_becomes_empty(missing):
    assert stem_text(missing) == ""


def test_negations_are_dropped_as_the_seed_dropped_them():
    text = "I don't like it, no, NOT at all. It isn't soft nor warm."
    assert stem_text(text) == _porter("like", "soft", "warm")


def test_stem_corpus_stems_each_text_and_keeps_positions():
    texts = ["Loved it", None, "not flattering", float("nan")]
    assert stem_corpus(texts) == ["love", "", "flatter", ""]


@pytest.fixture(scope="module")
def fresh_stems(first_drop) -> dict[str, str]:
    """Every lowercase word of the first real drop's texts and titles -> a fresh Porter stem."""
    texts = pd.concat([first_drop[TEXT], first_drop[TITLE]]).dropna()
    words = {w for t in texts for w in NON_LETTERS.sub(" ", t).lower().split()}
    fresh = PorterStemmer()
    return {word: fresh.stem(word) for word in sorted(words)}


def test_memoised_stems_equal_a_fresh_porter_stemmer_on_a_real_drop(fresh_stems):
    assert len(fresh_stems) > 5000
    differing = {w: stem_word(w) for w, stem in fresh_stems.items() if stem_word(w) != stem}
    assert differing == {}


def test_stem_text_matches_a_reference_cleaning_on_a_real_drop(first_drop, fresh_stems):
    stop = english_stopwords()

    def reference(text: str) -> str:
        words = re.sub(r"[^a-zA-Z]", " ", text).lower().split()
        return " ".join(fresh_stems[w] for w in words if w not in stop)

    texts = first_drop[TEXT].dropna()
    assert [stem_text(t) for t in texts] == [reference(t) for t in texts]


def test_stem_reviews_on_a_real_drop_drops_rows_without_text(first_drop, first_corpus):
    assert len(first_drop) == 6000
    assert list(first_corpus.columns) == CORPUS_COLUMNS
    assert len(first_corpus) == 5784  # 216 reviews have no text
    assert first_corpus["text"].str.strip().ne("").all()
    assert (first_corpus["stemmed"] != "").mean() > 0.99


def test_stem_reviews_keeps_ids_labels_and_titles_aligned_on_a_real_drop(first_drop, first_corpus):
    source = first_drop[first_drop[TEXT].notna()].set_index(REVIEW_ID)
    assert first_corpus["review_id"].tolist() == source.index.tolist()
    assert first_corpus["label"].tolist() == source[LABEL].tolist()
    assert first_corpus["text"].tolist() == source[TEXT].tolist()
    titles = source[TITLE].astype(object).where(source[TITLE].notna(), None)
    assert first_corpus["title"].tolist() == titles.tolist()
    # Spot-check the stems against the row they came from, not just their order.
    sample = first_corpus.sample(50, random_state=0)
    for row in sample.itertuples():
        assert row.stemmed == stem_text(source.loc[row.review_id, TEXT])
        assert row.label == source.loc[row.review_id, LABEL]


def test_readable_reviews_have_a_letter_or_digit_in_text_or_title():
    texts = ["Lovely", "😡😡😡", "😡😡😡", "Ужасно", "....", "Très belle robe", "10/10", None]
    titles = [None, None, "Bad", "😍", "", None, None, "Ok"]
    assert readable(texts, titles).tolist() == [1, 0, 1, 0, 0, 1, 1, 1]
    assert readable(["GREAT DRESS!"], [None]).tolist() == [1]  # capitals are letters too
    assert readable([None], ["LOVE IT"]).tolist() == [1]


def test_the_challengers_read_titles_first_then_texts():
    assert normalized_inputs(["Lovely dress"], ["Great"]) == (["great"], ["lovely dress"])


def test_stem_reviews_on_sample_drops(tmp_path):
    [path] = write_sample_drops(tmp_path, drops=1, rows_per_drop=400)
    reviews = read_reviews(path)
    corpus = stem_reviews(reviews)
    with_text = reviews[reviews[TEXT].notna()]
    assert 0 < len(with_text) < len(reviews)  # the sample has reviews without text
    assert list(corpus.columns) == CORPUS_COLUMNS
    assert corpus["review_id"].tolist() == with_text[REVIEW_ID].tolist()
    assert corpus["label"].tolist() == with_text[LABEL].tolist()
    assert corpus["stemmed"].tolist() == stem_corpus(with_text[TEXT])
    assert corpus["title"].map(lambda t: t is None or isinstance(t, str)).all()
    assert corpus["title"].isna().sum() == with_text[TITLE].isna().sum()


def test_stem_reviews_drops_blank_texts_and_works_without_titles():
    reviews = pd.DataFrame(
        {
            REVIEW_ID: [10, 11, 12, 13],
            TEXT: ["Loved it", " \r\n ", None, "Too small"],
            LABEL: [1, 0, 1, 0],
        }
    )
    corpus = stem_reviews(reviews)
    assert corpus.to_dict("records") == [
        {"review_id": 10, "label": 1, "title": None, "text": "Loved it", "stemmed": "love"},
        {"review_id": 13, "label": 0, "title": None, "text": "Too small", "stemmed": "small"},
    ]


# mark_negations


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("did not fit well at all", "did not not_fit not_well not_at all"),
        ("i didn't love it", "i didn't not_love not_it"),
        # A typographic apostrophe normalises to "didn t": the bare "didn" is a cue too.
        ("i didn t love it", "i didn not_t not_love not_it"),
        ("never again", "never not_again"),
        ("hardly fits", "hardly not_fits"),
        ("cannot zip it", "cannot not_zip not_it"),
        ("love it", "love it"),
        ("", ""),
    ],
)
def test_mark_negations_marks_the_words_after_a_cue(text, expected):
    assert mark_negations(text) == expected


def test_mark_negations_scope_and_a_new_cue_restarts_it():
    assert mark_negations("not a b c", scope=1) == "not not_a b c"
    assert mark_negations("no way not nice here", scope=2) == "no not_way not_not not_nice not_here"


def test_a_model_package_imported_from_a_folder_since_deleted_still_stems(tmp_path) -> None:
    """A logged model imports this package from its own folder once per process and content;
    MLflow validates a model it logs from a temporary folder it then deletes, and the stopwords,
    read when first needed, were no longer there for the next model of the same code."""
    import importlib
    import shutil
    import sys
    import uuid

    import sentiment_assets.model
    from sentiment_assets.model.predictions import copy_code
    from sentiment_assets.model.pyfunc_entry import import_model_package

    folder = copy_code(tmp_path / "code")
    (folder / "marker.txt").write_text(uuid.uuid4().hex)  # content of its own: a fresh import
    package = import_model_package(folder)
    assert package.__name__ != sentiment_assets.model.__name__
    # What loading a model imports (`SentimentModel.load_context`), the stemmer with it.
    importlib.import_module(f"{package.__name__}.predictions")
    shutil.rmtree(folder)

    stems = sys.modules[f"{package.__name__}.stems"]
    assert stems.stem_corpus(["The dress is not what I expected"]) == ["dress expect"]
