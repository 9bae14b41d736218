import json
from dataclasses import replace
from itertools import count, islice

import numpy as np
import pandas as pd
import pytest

from sentiment_assets.cli.sample_drops import write_sample_drops
from sentiment_assets.model.dataset import (
    MAX_SEQUENCE_LENGTH,
    OOV,
    PAD,
    SPLITS,
    VOCABULARY_SIZE,
    PaddedDataset,
    Vocabulary,
    build_dataset,
    corpus_of,
    pad,
    split_leaks,
    split_of,
    trainability_problem,
)
from sentiment_assets.model.reviews import LABEL, TEXT, read_reviews
from sentiment_assets.model.stems import Corpus, stem_reviews

SHARES = {"train": 0.70, "validation": 0.15, "test": 0.15}


def _texts_in(split: str, n: int) -> list[str]:
    """The first `n` texts "review 0", "review 1", ... that hash into `split`."""
    candidates = (f"review {i}" for i in count())
    return list(islice((text for text in candidates if split_of(text) == split), n))


def _corpus(rows: list[tuple[str | None, str, int, str]]) -> pd.DataFrame:
    """A stemmed corpus from (title, text, label, stemmed) rows, review ids 0, 1, ..."""
    return pd.DataFrame(
        [
            {"review_id": i, "label": label, "title": title, "text": text, "stemmed": stemmed}
            for i, (title, text, label, stemmed) in enumerate(rows)
        ]
    )


def _canonical(dataset: PaddedDataset) -> PaddedDataset:
    """The same dataset with its rows in content order (text, title, label)."""
    key = dataset.reviews[["text", "title", "label"]].fillna({"title": ""})
    order = key.sort_values(["text", "title", "label"]).index.to_numpy()
    return replace(
        dataset,
        reviews=dataset.reviews.loc[order].reset_index(drop=True),
        sequences=dataset.sequences[order],
    )


@pytest.fixture(scope="module")
def real_dataset(real_drops) -> PaddedDataset:
    corpus = pd.concat([stem_reviews(read_reviews(p)) for p in real_drops], ignore_index=True)
    return build_dataset(corpus)


@pytest.fixture(scope="module")
def sample_corpus(tmp_path_factory) -> pd.DataFrame:
    folder = tmp_path_factory.mktemp("drops")
    paths = write_sample_drops(folder, drops=2, rows_per_drop=400)
    return pd.concat([stem_reviews(read_reviews(p)) for p in paths], ignore_index=True)


# split_of


def test_split_of_is_deterministic_and_one_of_the_splits():
    texts = [f"review {i}" for i in range(200)]
    first = [split_of(t) for t in texts]
    assert first == [split_of(t) for t in texts]
    assert set(first) == set(SPLITS)


def test_split_of_ignores_surrounding_whitespace():
    for text in ["Love this dress!", "Runs small.\r\nReturning it.", "ok"]:
        expected = split_of(text)
        for padded in [f"  {text}", f"{text}\n", f"\t{text} \r\n"]:
            assert split_of(padded) == expected


def test_split_of_does_not_ignore_case_or_inner_text():
    texts = [f"Review {i}" for i in range(100)]
    assert [split_of(t) for t in texts] != [split_of(t.lower()) for t in texts]


def _assert_balanced(splits: pd.Series, labels: pd.Series) -> None:
    shares = splits.value_counts(normalize=True)
    overall_negative = (labels == 0).mean()
    for name, share in SHARES.items():
        assert shares[name] == pytest.approx(share, abs=0.02), name
        negative = (labels[splits == name] == 0).mean()
        assert negative == pytest.approx(overall_negative, abs=0.025), name


def test_real_dataset_splits_70_15_15_with_the_same_label_share(real_dataset):
    reviews = real_dataset.reviews
    assert len(reviews) > 17000
    _assert_balanced(reviews["split"], reviews["label"])


def test_each_real_drop_splits_70_15_15_with_the_same_label_share(real_drops):
    for path in real_drops:
        reviews = read_reviews(path)
        reviews = reviews[reviews[TEXT].notna()]
        _assert_balanced(reviews[TEXT].map(split_of), reviews[LABEL])


def test_identical_texts_share_a_split(real_dataset):
    reviews = real_dataset.reviews
    repeated = reviews[reviews["text"].duplicated(keep=False)]
    assert len(repeated) > 0  # the real data posts some texts more than once
    assert (repeated.groupby("text")["split"].nunique() == 1).all()


def test_no_stemmed_review_is_in_two_splits_of_the_real_dataset(real_dataset):
    per_stems = real_dataset.reviews.groupby("stemmed")["split"].nunique()
    assert (per_stems == 1).all()


# build_dataset


def test_build_dataset_drops_exact_duplicates_only():
    corpus = _corpus(
        [
            ("Love", "Great dress", 1, "great dress"),
            ("Love", "Great dress", 1, "great dress"),  # exact duplicate: dropped
            ("Wow", "Great dress", 1, "great dress"),  # another title: kept
            ("Love", "Great dress", 0, "great dress"),  # another label: kept
            (None, "Too small", 0, "small"),
            (None, "Too small", 0, "small"),  # duplicate without title: dropped
        ]
    )
    dataset = build_dataset(corpus)
    assert dataset.reviews["review_id"].tolist() == [0, 2, 3, 4]
    assert isinstance(dataset.reviews.index, pd.RangeIndex)
    assert len(dataset.sequences) == 4
    assert set(dataset.reviews["split"]) <= set(SPLITS)
    assert dataset.reviews["split"].tolist() == [split_of(t) for t in dataset.reviews["text"]]


def test_real_dataset_keeps_one_row_per_title_text_and_label(real_dataset):
    reviews = real_dataset.reviews
    assert not reviews.duplicated(subset=["title", "text", "label"]).any()
    assert real_dataset.sequences.shape == (len(reviews), real_dataset.sequence_length)


def test_vocabulary_is_fitted_on_the_training_split_only():
    [train_a, train_b] = _texts_in("train", 2)
    [validation] = _texts_in("validation", 1)
    [test] = _texts_in("test", 1)
    corpus = _corpus(
        [
            (None, train_a, 1, "soft fabric"),
            (None, train_b, 0, "soft seam"),
            (None, validation, 1, "soft velvet"),
            # "zipper" appears three times, but only in a test review.
            (None, test, 0, "zipper zipper zipper soft"),
        ]
    )
    dataset = build_dataset(corpus, sequence_length=4)
    assert dataset.reviews["split"].tolist() == ["train", "train", "validation", "test"]
    assert dataset.vocabulary.words == ("soft", "fabric", "seam")
    x_test, y_test = dataset.split("test")
    assert x_test.tolist() == [[OOV, OOV, OOV, 2]]
    assert y_test.tolist() == [0]
    x_validation, _ = dataset.split("validation")
    assert x_validation.tolist() == [[2, OOV, PAD, PAD]]
    assert dataset.vocabulary.oov_rate(dataset.split_reviews("test")) == 0.75


def test_the_corpus_holds_each_drops_reviews_in_key_order_with_their_drop():
    later = pd.DataFrame({Corpus.REVIEW_ID: [1], Corpus.TEXT: ["late"]})
    earlier = pd.DataFrame({Corpus.REVIEW_ID: [1, 2], Corpus.TEXT: ["early", "on time"]})
    corpus = corpus_of({"reviews_2026-02": later, "reviews_2026-01": earlier})
    assert corpus[Corpus.TEXT].tolist() == ["early", "on time", "late"]
    assert corpus[Corpus.DROP].tolist() == ["reviews_2026-01"] * 2 + ["reviews_2026-02"]
    assert corpus.index.tolist() == [0, 1, 2]


def test_sequence_length_defaults_to_the_longest_training_review():
    [train_a, train_b] = _texts_in("train", 2)
    [test] = _texts_in("test", 1)
    corpus = _corpus(
        [
            (None, train_a, 1, "a b c"),
            (None, train_b, 1, "a"),
            (None, test, 0, "a b c a b c"),  # longer, but not a training review
        ]
    )
    dataset = build_dataset(corpus)
    assert dataset.sequence_length == 3
    assert dataset.sequences.shape == (3, 3)
    assert dataset.sequences[2].tolist() == [2, 3, 4]  # cut at the end
    assert build_dataset(corpus, sequence_length=8).sequences.shape == (3, 8)


def test_a_review_longer_than_any_export_keeps_its_first_stems_and_pads_no_other_to_it():
    """A cell that swallowed a sheet: padded to its length, a whole drop asked 53 GiB."""
    [train_a, train_b] = _texts_in("train", 2)
    swallowed = " ".join(["fabric"] * 1_000_000)
    dataset = build_dataset(_corpus([(None, train_a, 1, swallowed), (None, train_b, 0, "a b")]))
    assert dataset.sequence_length == MAX_SEQUENCE_LENGTH
    assert dataset.sequences.shape == (2, MAX_SEQUENCE_LENGTH)
    assert dataset.cut_reviews()[Corpus.TEXT].tolist() == [train_a]


def test_sequence_length_is_at_least_one_when_training_reviews_have_no_stems():
    [train] = _texts_in("train", 1)
    dataset = build_dataset(_corpus([(None, train, 1, "")]))
    assert dataset.sequence_length == 1
    assert dataset.sequences.tolist() == [[PAD]]


def test_row_order_changes_neither_vocabulary_nor_content(sample_corpus):
    shuffled = sample_corpus.sample(frac=1, random_state=7).reset_index(drop=True)
    assert shuffled["review_id"].tolist() != sample_corpus["review_id"].tolist()
    original, reordered = build_dataset(sample_corpus), build_dataset(shuffled)
    assert reordered.vocabulary == original.vocabulary
    assert reordered.sequence_length == original.sequence_length
    assert len(reordered.reviews) == len(original.reviews)
    # Which copy of an exact duplicate is kept may change, so compare content, not review ids.
    a, b = _canonical(original), _canonical(reordered)
    columns = ["title", "text", "label", "stemmed", "split"]
    pd.testing.assert_frame_equal(a.reviews[columns], b.reviews[columns])
    np.testing.assert_array_equal(a.sequences, b.sequences)
    assert a.fingerprint == b.fingerprint


def test_build_dataset_is_reproducible(sample_corpus):
    first, again = build_dataset(sample_corpus), build_dataset(sample_corpus.copy())
    assert first.fingerprint == again.fingerprint
    np.testing.assert_array_equal(first.sequences, again.sequences)


# Vocabulary


def test_vocabulary_ranks_by_frequency_then_alphabetically():
    vocabulary = Vocabulary.fit(["pear fig", "fig kiwi apple", "fig kiwi"], size=10)
    assert vocabulary.words == ("fig", "kiwi", "apple", "pear")
    assert vocabulary.size == 6
    assert Vocabulary.fit(["zeta alpha mid"], size=4).words == ("alpha", "mid")
    assert vocabulary.encode(["kiwi fig plum", ""]) == [[3, 2, OOV], []]


def test_vocabulary_keeps_at_most_size_minus_two_words():
    texts = [" ".join(f"w{i}" for i in range(5000))]
    assert Vocabulary.fit(texts).size == VOCABULARY_SIZE == 3000
    assert len(Vocabulary.fit(texts).words) == 2998
    assert Vocabulary.fit(texts, size=10).size == 10
    assert Vocabulary.fit(["a b"], size=10).size == 4


@pytest.mark.parametrize("size", [0, 1])
def test_a_vocabulary_without_room_for_padding_and_unknown_words_is_refused(size):
    with pytest.raises(ValueError, match=f"vocabulary size {size}"):
        Vocabulary.fit(["a b c d e"], size=size)


def test_real_vocabulary_is_full_and_encodes_within_its_size(real_dataset):
    vocabulary = real_dataset.vocabulary
    assert vocabulary.size == len(vocabulary.words) + 2 == VOCABULARY_SIZE
    assert len(set(vocabulary.words)) == len(vocabulary.words)
    assert real_dataset.sequences.dtype == np.int32
    assert real_dataset.sequences.min() >= PAD
    assert real_dataset.sequences.max() < vocabulary.size


# pad


def test_pad_pads_and_truncates_at_the_end():
    padded = pad([[5, 6, 7, 8], [9], []], 3)
    assert padded.dtype == np.int32
    assert padded.tolist() == [[5, 6, 7], [9, 0, 0], [0, 0, 0]]
    assert pad([[5, 6]], 4).tolist() == [[5, 6, 0, 0]]
    assert pad([], 3).shape == (0, 3)


# PaddedDataset


def _hand_dataset(labels=(1, 0, 1, 0)) -> PaddedDataset:
    reviews = pd.DataFrame(
        {
            "review_id": [10, 11, 12, 13],
            "label": list(labels),
            "title": ["Nice", None, "Meh", None],
            "text": ["nice one", "too small", "meh", "big"],
            "stemmed": ["nice", "small", "meh", "big"],
            "split": ["train", "test", "test", "validation"],
        }
    )
    sequences = np.array([[2, 3, 0], [2, 1, 1], [1, 0, 0], [0, 0, 0]], dtype=np.int32)
    return PaddedDataset(reviews, sequences, Vocabulary(("nice", "small")), 3)


def test_split_selects_rows_and_labels():
    dataset = _hand_dataset()
    x, y = dataset.split("test")
    assert x.tolist() == [[2, 1, 1], [1, 0, 0]]
    assert y.dtype == np.int32 and y.tolist() == [0, 1]
    assert dataset.split_reviews("test")["review_id"].tolist() == [11, 12]
    assert isinstance(dataset.split_reviews("test").index, pd.RangeIndex)


def test_oov_rate_counts_the_stems_of_a_split_outside_the_vocabulary():
    dataset = _hand_dataset()
    assert dataset.vocabulary.oov_rate(dataset.split_reviews("test")) == 0.5  # small | meh
    assert dataset.vocabulary.oov_rate(dataset.split_reviews("train")) == 0.0  # nice
    assert dataset.vocabulary.oov_rate(dataset.split_reviews("validation")) == 1.0  # big


def test_fingerprint_changes_when_a_label_changes():
    assert _hand_dataset().fingerprint == _hand_dataset().fingerprint
    assert _hand_dataset((1, 0, 1, 0)).fingerprint != _hand_dataset((1, 0, 1, 1)).fingerprint


def test_fingerprint_changes_with_sequences_splits_and_vocabulary():
    dataset = _hand_dataset()
    sequences = dataset.sequences.copy()
    sequences[0, 2] = 3
    reviews = dataset.reviews.assign(split=["train", "test", "test", "train"])
    for changed in [
        replace(dataset, sequences=sequences),
        replace(dataset, reviews=reviews),
        replace(dataset, vocabulary=Vocabulary(("nice", "tiny"))),
    ]:
        assert changed.fingerprint != dataset.fingerprint


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("text", "not nice one"),  # an edit the stems hide ("not" is a stopword to them)
        ("title", "Not nice"),
        ("review_id", 99),
        ("drop", "other"),
    ],
)
def test_fingerprint_changes_with_what_the_challengers_read_and_the_reviews_identity(column, value):
    dataset = replace(_hand_dataset(), reviews=_hand_dataset().reviews.assign(drop="d"))
    reviews = dataset.reviews.copy()
    reviews.loc[0, column] = value
    assert replace(dataset, reviews=reviews).fingerprint != dataset.fingerprint


def test_ids_repeated_in_other_drops_are_no_leak_and_within_a_drop_are():
    """A file without an id column numbers its rows from 0, like every other such file."""
    dataset = _hand_dataset()
    two_drops = dataset.reviews.assign(drop=["a", "a", "b", "b"], review_id=[0, 1, 0, 1])
    assert split_leaks(replace(dataset, reviews=two_drops)) == (0, 0)
    one_drop = two_drops.assign(drop="a")
    assert split_leaks(replace(dataset, reviews=one_drop)) == (0, 2)


def test_a_test_split_of_one_label_cannot_train():
    def with_test_labels(labels: list[int]) -> PaddedDataset:
        reviews = pd.DataFrame(
            {
                "review_id": range(6),
                "label": [1, 0, 1, 0, *labels],
                "title": None,
                "text": [f"review {i}" for i in range(6)],
                "stemmed": "review",
                "split": ["train", "train", "validation", "validation", "test", "test"],
            }
        )
        return PaddedDataset(reviews, np.ones((6, 1), dtype=np.int32), Vocabulary(("review",)), 1)

    assert trainability_problem(with_test_labels([1, 0])) is None
    problem = trainability_problem(with_test_labels([0, 0]))
    assert problem is not None and "the test split has only label 0" in problem


def test_fingerprint_changes_when_a_real_label_changes(real_dataset):
    reviews = real_dataset.reviews.copy()
    reviews.loc[123, "label"] = 1 - reviews.loc[123, "label"]
    assert replace(real_dataset, reviews=reviews).fingerprint != real_dataset.fingerprint


def test_save_and_load_round_trip_without_pickle(tmp_path, sample_corpus):
    dataset = build_dataset(sample_corpus)
    folder = tmp_path / "padded"
    dataset.save(folder)
    assert sorted(p.name for p in folder.iterdir()) == [
        "reviews.parquet",
        "sequences.npy",
        "vocabulary.json",
    ]
    np.testing.assert_array_equal(
        np.load(folder / "sequences.npy", allow_pickle=False), dataset.sequences
    )
    meta = json.loads((folder / "vocabulary.json").read_text())
    assert meta == {
        "sequence_length": dataset.sequence_length,
        "words": list(dataset.vocabulary.words),
    }

    loaded = PaddedDataset.load(folder)
    assert loaded.sequences.dtype == np.int32
    np.testing.assert_array_equal(loaded.sequences, dataset.sequences)
    pd.testing.assert_frame_equal(loaded.reviews, dataset.reviews)
    assert loaded.vocabulary == dataset.vocabulary
    assert loaded.sequence_length == dataset.sequence_length
    assert loaded.fingerprint == dataset.fingerprint
    for name in SPLITS:
        np.testing.assert_array_equal(loaded.split(name)[1], dataset.split(name)[1])


def test_save_and_load_keep_missing_titles_as_missing(tmp_path):
    dataset = _hand_dataset()
    dataset.save(tmp_path)
    loaded = PaddedDataset.load(tmp_path)
    assert loaded.reviews["title"].isna().tolist() == [False, True, False, True]
    assert loaded.reviews["title"][0] == "Nice"
    assert loaded.fingerprint == dataset.fingerprint


def test_a_dataset_too_small_to_train_on_says_which_split_falls_short():
    from sentiment_assets.model.dataset import trainability_problem

    texts = [f"review number {i}" for i in range(6)]
    corpus = pd.DataFrame(
        {
            "review_id": range(6),
            "label": [1] * 6,
            "title": [None] * 6,
            "text": texts,
            "stemmed": texts,
        }
    )
    problem = trainability_problem(build_dataset(corpus))
    assert problem is not None and "too few reviews to train on" in problem
    assert "only label 1" in problem or "no reviews" in problem


def test_a_split_with_one_label_is_no_dataset_to_train_on():
    """Both labels in training and test, one in validation: threshold tuning has nothing to do."""
    from sentiment_assets.model.dataset import trainability_problem

    texts = [f"review number {i}" for i in range(60)]
    corpus = pd.DataFrame(
        {"review_id": range(60), "label": 1, "title": None, "text": texts, "stemmed": texts}
    )
    dataset = build_dataset(corpus)
    # One "not recommended" review in each other split; splits follow the text, not the label.
    unhappy = [dataset.split_reviews(name)["review_id"].iloc[0] for name in ("train", "test")]
    corpus.loc[corpus["review_id"].isin(unhappy), "label"] = 0
    assert trainability_problem(build_dataset(corpus)) == (
        "too few reviews to train on: the validation split has only label 1 (60 reviews in all); "
        "land more drops"
    )


def test_the_real_dataset_can_train(real_dataset):
    from sentiment_assets.model.dataset import trainability_problem

    assert trainability_problem(real_dataset) is None
