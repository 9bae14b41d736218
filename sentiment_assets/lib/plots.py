"""Pictures of a training run: loss and accuracy curves per epoch, as PNG bytes."""

from __future__ import annotations

import io


def training_curves_png(history: dict[str, list[float]], title: str) -> bytes:
    """Training and validation loss and accuracy by epoch; the dashed line marks the best epoch."""
    import matplotlib

    matplotlib.use("Agg")  # no display on a server
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, 2, figsize=(7, 2.8), dpi=90)
    epochs = range(1, len(history.get("loss", [])) + 1)
    best = min(range(len(history["val_loss"])), key=history["val_loss"].__getitem__) + 1
    for axis, metric in zip(axes, ("loss", "accuracy"), strict=True):
        plotted = [
            (key, label)
            for key, label in ((metric, "train"), (f"val_{metric}", "validation"))
            if key in history
        ]
        for key, label in plotted:
            axis.plot(epochs, history[key], marker="o", markersize=3, label=label)
        axis.axvline(best, color="grey", linestyle="--", linewidth=1)
        axis.set_xlabel("epoch")
        axis.set_title(metric)
        if plotted:  # a history without the metric leaves its panel empty, without a legend
            axis.legend(fontsize=8)
    figure.suptitle(title, fontsize=10)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    plt.close(figure)
    return buffer.getvalue()
