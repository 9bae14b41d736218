"""The code location: the five assets in data-flow order, documented, loadable without TensorFlow."""

import subprocess
import sys

import dagster as dg

from sentiment_assets.definitions import defs

EDGES = {
    "raw_reviews": set(),
    "stemmed_corpus": {"raw_reviews"},
    "padded_dataset": {"stemmed_corpus"},
    "trained_models": {"padded_dataset"},
    "production_model": {"trained_models", "padded_dataset"},
}


def test_the_graph_runs_from_csv_drop_to_production_model() -> None:
    graph = defs.resolve_asset_graph()
    assert {k.to_user_string() for k in graph.get_all_asset_keys()} == set(EDGES)
    for asset, parents in EDGES.items():
        node = graph.get(dg.AssetKey(asset))
        assert {p.to_user_string() for p in node.parent_keys} == parents, asset


def test_every_asset_is_described_grouped_and_kinded_for_the_ui() -> None:
    for spec in defs.resolve_all_asset_specs():
        assert spec.group_name == "sentiment"
        assert spec.description and len(spec.description) > 30
        assert spec.kinds


def test_drops_are_partitions_and_the_rest_spans_them() -> None:
    graph = defs.resolve_asset_graph()
    partitioned = {
        k.to_user_string() for k in graph.get_all_asset_keys() if graph.get(k).partitions_def
    }
    assert partitioned == {"raw_reviews", "stemmed_corpus"}


def test_loading_the_code_location_does_not_import_tensorflow_or_mlflow() -> None:
    code = (
        "import sys, sentiment_assets.definitions; "
        "print(sorted(m for m in ('tensorflow', 'keras', 'mlflow', 'sklearn', 'nltk') "
        "if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
