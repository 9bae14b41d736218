"""The code location: every definition under `defs/`, with one group and one freshness policy."""

import warnings
from datetime import timedelta
from pathlib import Path

import dagster as dg

GROUP = "sentiment"

# Review exports arrive about weekly: an asset not refreshed for 3 days warns, for 7 fails.
WEEKLY_FRESHNESS = dg.FreshnessPolicy.time_window(
    fail_window=timedelta(days=7), warn_window=timedelta(days=3)
)


@dg.definitions
def defs() -> dg.Definitions:
    # What `dg.load_from_defs_folder` builds, less its catalog of the component types every
    # installed integration offers (the UI's docs of dagster-aws's Athena, ECR, ... components):
    # gathering it imported all those integrations at each load, 0.8 s of a 2.0 s load here
    # (README, "Benchmark"). This project declares no components of its own; the tree
    # is still attached, so the UI and `dg` see the defs folder as they would.
    tree = dg.ComponentTree.for_project(Path(__file__).parent)
    with warnings.catch_warnings():
        # Preview features used here: partitioned asset checks, module loading, map_asset_specs.
        warnings.simplefilter("ignore", dg.PreviewWarning)
        loaded = dg.Definitions.merge(
            tree.build_defs(tree.defs_module_path), dg.Definitions(component_tree=tree)
        )
        return loaded.map_asset_specs(
            func=lambda spec: spec.replace_attributes(
                group_name=GROUP, freshness_policy=WEEKLY_FRESHNESS
            )
        )
