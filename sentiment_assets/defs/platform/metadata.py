"""Asset metadata that renders in the Dagster UI: schemas, label balance, samples, metric tables."""

from __future__ import annotations

import base64
from typing import Any

import dagster as dg
import pandas as pd

from sentiment_assets.model.evaluation import NOT_RECOMMENDED, Metrics, not_recommended_share

_DTYPE_NAMES = {
    "int64": "int",
    "Int64": "int",
    "float64": "float",
    "object": "string",
    "bool": "bool",
}


def table_schema(frame: pd.DataFrame) -> dg.TableSchema:
    return dg.TableSchema(
        columns=[
            dg.TableColumn(str(name), _DTYPE_NAMES.get(str(dtype), str(dtype)))
            for name, dtype in frame.dtypes.items()
        ]
    )


def label_balance(labels: pd.Series) -> dict[str, Any]:
    """Counts of each label and the share of 'not recommended', the class the retailer must catch."""
    labels = labels.astype(int)
    return {
        "recommended": int((labels == 1).sum()),
        "not_recommended": int((labels == NOT_RECOMMENDED).sum()),
        "not_recommended_share": not_recommended_share(labels),
    }


def sample_markdown(frame: pd.DataFrame, rows: int = 5, width: int = 80) -> dg.MetadataValue:
    sample = frame.head(rows).copy()
    for column in sample.select_dtypes(include="object"):
        sample[column] = sample[column].map(
            lambda v: v if not isinstance(v, str) else v.replace("\n", " ")[:width]
        )
    return dg.MetadataValue.md(sample.to_markdown(index=False))


def metrics_markdown(rows: dict[str, Metrics]) -> dg.MetadataValue:
    """A table with one column per scored model and one row per metric (counts left out)."""
    frame = pd.DataFrame({name: metrics.headline() for name, metrics in rows.items()})
    return dg.MetadataValue.md(frame.round(4).to_markdown())


def metric_numbers(prefix: str, metrics: Metrics, names: tuple[str, ...] = ()) -> dict[str, float]:
    """Figures of `metrics` (all headline figures unless `names`) as numbers of their own, keyed
    `<prefix>_<figure>`: the UI plots each across materializations, which a table cannot give
    (`constant_output` as 0 or 1, so a collapse shows as a step)."""
    figures = metrics.headline()
    return {f"{prefix}_{name}": figures[name] for name in names or figures}


def image_markdown(png: bytes, alt: str) -> dg.MetadataValue:
    """A PNG shown inline in the asset's metadata."""
    return dg.MetadataValue.md(f"![{alt}](data:image/png;base64,{base64.b64encode(png).decode()})")


def confusion_markdown(metrics: Metrics) -> dg.MetadataValue:
    """The test confusion matrix from the `n_<true>_predicted_<guess>` counts of the metrics."""
    classes = ("not_recommended", "recommended")
    table = pd.DataFrame(
        {
            f"predicted {guess.replace('_', ' ')}": [
                getattr(metrics, f"n_{truth}_predicted_{guess}") for truth in classes
            ]
            for guess in classes
        },
        index=[f"actually {truth.replace('_', ' ')}" for truth in classes],
    )
    return dg.MetadataValue.md(table.to_markdown())
