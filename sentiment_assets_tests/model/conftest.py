"""Fixtures the model tests share."""

import pandas as pd
import pytest

from sentiment_assets.model.dataset import PaddedDataset


@pytest.fixture(scope="module")
def test_reviews(sample_dataset: PaddedDataset) -> pd.DataFrame:
    """The sample dataset's test split, the reviews the candidates are scored on."""
    return sample_dataset.split_reviews("test")
