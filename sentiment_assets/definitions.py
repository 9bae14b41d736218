"""The code location: every definition under `defs/`, with one group and one freshness policy."""

import warnings
from datetime import timedelta
from pathlib import Path

import dagster as dg

GROUP = "sentiment"

# Review exports arrive about weekly: an asset not refreshed for 8 days warns (a drop is late),
# for 15 fails (a week's drop is missing). Warning after 3 days, as it once did, every asset
# showed a warning for most of every ordinary week.
WEEKLY_FRESHNESS = dg.FreshnessPolicy.time_window(
    fail_window=timedelta(days=15), warn_window=timedelta(days=8)
)


@dg.definitions
def defs() -> dg.Definitions:
    # What `dg.load_from_defs_folder` builds from the defs folder, less what Dagster's components
    # add around it, which this project (it declares no components) does not use: the catalog of
    # the component types installed packages offer, the component tree the UI lists, components
    # created from the UI. Building the catalog, or the tree's snapshot for the UI, imports every
    # integration that offers component types (dagster-aws here): about 1 s of the 2.5 s a code
    # server took to load this location (README, "Benchmark").
    tree = dg.ComponentTree.for_project(Path(__file__).parent)
    with warnings.catch_warnings():
        # Preview features used here: partitioned asset checks, module loading, map_asset_specs.
        warnings.simplefilter("ignore", dg.PreviewWarning)
        return tree.build_defs(tree.defs_module_path).map_asset_specs(
            func=lambda spec: spec.replace_attributes(
                group_name=GROUP, freshness_policy=WEEKLY_FRESHNESS
            )
        )
