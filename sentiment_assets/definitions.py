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
    loaded = dg.load_from_defs_folder(path_within_project=Path(__file__).parent)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", dg.PreviewWarning)  # map_asset_specs is in preview
        return loaded.map_asset_specs(
            func=lambda spec: spec.replace_attributes(
                group_name=GROUP, freshness_policy=WEEKLY_FRESHNESS
            )
        )
