import os

import pytest


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The scale-out stack needs Debian's PostgreSQL and Redis and takes minutes: `make
    test-scaleout` runs it (SENTIMENT_SCALEOUT=1); elsewhere its tests say so and skip."""
    if os.environ.get("SENTIMENT_SCALEOUT") == "1":
        return
    skip = pytest.mark.skip(reason="the scale-out stack runs with make test-scaleout")
    for item in items:
        if "scaleout" in item.nodeid.split("/"):
            item.add_marker(skip)
