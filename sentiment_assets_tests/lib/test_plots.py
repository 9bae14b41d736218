"""Training curves render as a PNG, and the confusion counts add up."""

import numpy as np

from sentiment_assets.defs.platform.metadata import confusion_markdown
from sentiment_assets.lib.plots import training_curves_png
from sentiment_assets.model.evaluation import classification_metrics

HISTORY = {
    "loss": [0.5, 0.35, 0.3, 0.28],
    "val_loss": [0.45, 0.33, 0.31, 0.32],
    "accuracy": [0.82, 0.86, 0.88, 0.89],
    "val_accuracy": [0.83, 0.87, 0.88, 0.885],
}


def test_training_curves_are_a_png_image() -> None:
    from io import BytesIO

    from PIL import Image

    png = training_curves_png(HISTORY, "candidate")
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    width, height = Image.open(BytesIO(png)).size
    assert width > height > 100


def test_confusion_counts_match_the_predictions() -> None:
    labels = np.array([1, 1, 0, 0, 1])
    metrics = classification_metrics(labels, np.array([0.9, 0.2, 0.1, 0.7, 0.8]))
    assert metrics.n_not_recommended_predicted_not_recommended == 1
    assert metrics.n_not_recommended_predicted_recommended == 1
    assert metrics.n_recommended_predicted_not_recommended == 1
    assert metrics.n_recommended_predicted_recommended == 2
    table = confusion_markdown(metrics).value
    assert "| actually recommended     |" in table and "2 |" in table
