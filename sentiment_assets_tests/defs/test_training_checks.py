"""The dataset's blocking check: it fails on a review in two splits or an id given twice."""

from dataclasses import replace

import pytest

from sentiment_assets.cli.sample_drops import write_sample_drops
from sentiment_assets.defs.training.checks import no_review_in_two_splits
from sentiment_assets.model.dataset import build_dataset, corpus_of
from sentiment_assets.model.reviews import read_reviews
from sentiment_assets.model.stems import Corpus, stem_reviews


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory):
    """Two sample drops made into a dataset as `padded_dataset` makes it (each review's drop
    beside it)."""
    drops = write_sample_drops(tmp_path_factory.mktemp("drops"), drops=2, rows_per_drop=300)
    return build_dataset(corpus_of({p.stem: stem_reviews(read_reviews(p)) for p in drops}))


def _checked(dataset):
    result = no_review_in_two_splits(padded_dataset=dataset)
    return result.passed, {k: v.value for k, v in result.metadata.items()}


def test_the_pipelines_dataset_passes(dataset) -> None:
    assert _checked(dataset) == (True, {"texts_in_two_splits": 0, "repeated_review_ids": 0})


def test_a_test_review_also_in_training_fails_it(dataset) -> None:
    reviews = dataset.reviews.copy()
    train = reviews.index[reviews[Corpus.SPLIT] == "train"][0]
    test = reviews.index[reviews[Corpus.SPLIT] == "test"][0]
    # Told apart only by the white space around it: the same review for a reader.
    reviews.loc[train, Corpus.TEXT] = f"  {reviews.loc[test, Corpus.TEXT]}\n"

    passed, figures = _checked(replace(dataset, reviews=reviews))

    assert not passed and figures == {"texts_in_two_splits": 1, "repeated_review_ids": 0}


def test_a_review_id_given_twice_in_one_drop_fails_it(dataset) -> None:
    reviews = dataset.reviews.copy()
    first, second = reviews.index[reviews[Corpus.DROP] == reviews[Corpus.DROP].iloc[0]][:2]
    reviews.loc[second, Corpus.REVIEW_ID] = reviews.loc[first, Corpus.REVIEW_ID]

    passed, figures = _checked(replace(dataset, reviews=reviews))

    assert not passed and figures == {"texts_in_two_splits": 0, "repeated_review_ids": 1}
