import hashlib

import pandas as pd
import pytest
from sklearn.feature_extraction.text import CountVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split

from sentiment_assets.cli.sample_drops import SHIFTED, main, sample_reviews, write_sample_drops
from sentiment_assets.model.reviews import (
    KAGGLE_COLUMNS,
    LABEL,
    REVIEW_ID,
    TEXT,
    TITLE,
    read_reviews,
)

CATEGORIES = ["Division Name", "Department Name", "Class Name"]
# The values shared/data/README.md lists for the real drops.
README_VALUES = {
    "Division Name": {"General", "General Petite", "Initmates"},
    "Department Name": {"Tops", "Dresses", "Bottoms", "Intimate", "Jackets", "Trend"},
    "Class Name": {
        *("Dresses", "Knits", "Blouses", "Sweaters", "Pants", "Jeans", "Fine gauge", "Skirts"),
        *("Jackets", "Lounge", "Swim", "Outerwear", "Shorts", "Sleep", "Legwear", "Intimates"),
        *("Layering", "Trend", "Casual bottoms", "Chemises"),
    },
}


@pytest.fixture(scope="module")
def reviews() -> pd.DataFrame:
    return sample_reviews(4500)


def _digests(paths):
    return [hashlib.sha256(path.read_bytes()).hexdigest() for path in paths]


def test_same_seed_same_bytes(tmp_path):
    first = write_sample_drops(tmp_path / "a", drops=2, rows_per_drop=300)
    again = write_sample_drops(tmp_path / "b", drops=2, rows_per_drop=300)
    other = write_sample_drops(tmp_path / "c", drops=2, rows_per_drop=300, seed=1)
    assert [path.name for path in first] == ["reviews_sample-01.csv", "reviews_sample-02.csv"]
    assert _digests(first) == _digests(again)
    assert set(_digests(first)).isdisjoint(_digests(other))


def test_drops_read_back_in_the_kaggle_layout(tmp_path):
    paths = write_sample_drops(tmp_path, drops=3, rows_per_drop=400, seed=5)
    header = ",Clothing ID,Age,Title,Review Text,Rating,Recommended IND,Positive Feedback Count,"
    header += "Division Name,Department Name,Class Name\n"
    ids = []
    for number, path in enumerate(paths):
        assert path.read_text("utf-8").startswith(header)
        read = read_reviews(path)
        assert list(read.columns) == [REVIEW_ID, *KAGGLE_COLUMNS]
        assert len(read) == 400
        pd.testing.assert_frame_equal(read, sample_reviews(400, seed=5, first_id=number * 400))
        ids += read[REVIEW_ID].tolist()
    assert ids == list(range(1200))


def test_schema_and_value_ranges(reviews):
    assert reviews["Clothing ID"].between(0, 1205).all()
    assert reviews["Age"].between(18, 99).all()
    assert set(reviews["Rating"]) == {1, 2, 3, 4, 5}
    assert set(reviews[LABEL]) == {0, 1}
    assert 0.78 < reviews[LABEL].mean() < 0.86
    assert (reviews["Positive Feedback Count"] >= 0).all()
    for column, values in README_VALUES.items():
        assert set(reviews[column].dropna()) <= values
    # A Clothing ID always belongs to one class, as in the source.
    assert (
        reviews.dropna(subset=CATEGORIES).groupby("Clothing ID")["Class Name"].nunique().max() == 1
    )


def test_as_messy_as_the_real_data(reviews):
    texts = reviews[TEXT].dropna()
    assert 0.02 < reviews[TEXT].isna().mean() < 0.06
    assert 0.12 < reviews[TITLE].isna().mean() < 0.20
    no_category = reviews[CATEGORIES].isna()
    assert no_category.any(axis=1).sum() == no_category.all(axis=1).sum() > 0
    assert texts.str.contains("\r\n", regex=False).any()
    assert texts.str.contains(r"[^\r]\n").any()
    assert texts.str.contains("ã©", regex=False).any()
    assert texts.str.contains("&#39;", regex=False).any()
    duplicates = reviews[reviews.drop(columns=REVIEW_ID).duplicated(keep=False)]
    assert len(duplicates) > 0 and duplicates[[TITLE, TEXT]].isna().all().all()
    assert texts.duplicated().any()
    assert ((reviews["Rating"] == 5) & (reviews[LABEL] == 0)).any()


def test_text_predicts_the_label_well_but_not_perfectly(reviews):
    """Bag-of-words logistic regression: the label must be learnable, but not given away."""
    with_text = reviews.dropna(subset=[TEXT])
    train, test = train_test_split(with_text, test_size=0.25, random_state=0)
    vectorizer = CountVectorizer()
    model = LogisticRegression(max_iter=1000).fit(
        vectorizer.fit_transform(train[TEXT]), train[LABEL]
    )
    accuracy = model.score(vectorizer.transform(test[TEXT]), test[LABEL])
    baseline = max(test[LABEL].mean(), 1 - test[LABEL].mean())
    print(f"bag-of-words accuracy {accuracy:.3f}, majority baseline {baseline:.3f}")
    assert baseline + 0.05 < accuracy < 0.98


def test_command_line(tmp_path, capsys):
    assert main([str(tmp_path / "cli"), "--drops", "2", "--rows", "50", "--seed", "7"]) == 0
    written = sorted((tmp_path / "cli").iterdir())
    assert capsys.readouterr().out.split() == [str(path) for path in written]
    expected = write_sample_drops(tmp_path / "api", drops=2, rows_per_drop=50, seed=7)
    assert _digests(written) == _digests(expected)


@pytest.mark.slow  # a fresh interpreter
def test_the_module_runs_as_the_command_does(tmp_path):
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-m", "sentiment_assets.cli.sample_drops", str(tmp_path), "--drops", "1"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str(tmp_path / "reviews_sample-01.csv")
    assert (tmp_path / "reviews_sample-01.csv").stat().st_size > 0


def test_a_shifted_drop_has_another_label_share_vocabulary_and_length(reviews):
    shifted = sample_reviews(4500, mix=SHIFTED)
    assert 0.50 < shifted[LABEL].mean() < 0.62  # about 43 % not recommended, against 18 %
    words = {w for text in shifted[TEXT].dropna() for w in text.lower().split()}
    usual = {w for text in reviews[TEXT].dropna() for w in text.lower().split()}
    assert len(words - usual) > len(words) / 2
    length = shifted[TEXT].dropna().str.split().str.len().mean()
    assert length < reviews[TEXT].dropna().str.split().str.len().mean() / 1.5
    # Still the Kaggle schema.
    assert list(shifted.columns) == list(reviews.columns)


def test_command_line_mix(tmp_path):
    argv = [str(tmp_path / "cli"), "--drops", "1", "--rows", "60", "--name", "shop"]
    argv += ["--vocabulary", "home", "--ratings", "20,15,15,15,35", "--sentences", "45,35,15,4,1"]
    assert main(argv) == 0
    expected = write_sample_drops(tmp_path / "api", 1, 60, mix=SHIFTED, name="shop")
    assert _digests(sorted((tmp_path / "cli").iterdir())) == _digests(expected)
    assert expected[0].name == "shop-01.csv"
    with pytest.raises(SystemExit):
        main([str(tmp_path / "bad"), "--ratings", "1,2,3"])
