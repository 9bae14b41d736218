import os
from pathlib import Path

import pytest


def real_drops_dir() -> Path:
    """The real review drops: $SENTIMENT_REVIEWS_DIR, else the shared data beside the project."""
    default = Path(__file__).resolve().parents[2] / "shared" / "data" / "reviews"
    return Path(os.environ.get("SENTIMENT_REVIEWS_DIR", default))


@pytest.fixture(scope="session")
def real_drops() -> list[Path]:
    """The real review CSV files, in name order; skips the test when there are none."""
    drops = sorted(real_drops_dir().glob("*.csv"))
    if not drops:
        pytest.skip(f"no real review drops in {real_drops_dir()}")
    return drops
