"""What is stale or missing, as the UI's "Materialize changed and missing" sees it: Dagster's own
stale-status resolver over the code location's asset graph. Its API is internal to Dagster, so it
is used here only."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

import dagster as dg
from dagster._core.asset_graph_view.asset_graph_view import AssetGraphView
from dagster._core.definitions.data_version import (
    DEFAULT_DATA_VERSION,
    NULL_DATA_VERSION,
    CachingStaleStatusResolver,
    StaleCause,
    StaleStatus,
)
from dagster._core.definitions.temporal_context import TemporalContext

MISSING = "never materialized"


class Staleness:
    """Stale status at one moment (a new one sees materializations made after it was built)."""

    def __init__(self, instance: dg.DagsterInstance, defs: dg.Definitions) -> None:
        graph = defs.resolve_asset_graph()
        now = TemporalContext(effective_dt=datetime.now(UTC), last_event_id=None)
        view = AssetGraphView(temporal_context=now, instance=instance, asset_graph=graph)
        self._resolver = CachingStaleStatusResolver(instance, graph, view)

    def stale_or_missing(
        self, keys: Iterable[dg.AssetKey], partition: str | None = None
    ) -> dict[dg.AssetKey, str]:
        """The keys (of one partition, for partitioned assets) that are stale or missing, each
        with why, in the words of the UI."""
        found = {}
        for key in keys:
            status = self._resolver.get_status(key, partition)
            if status == StaleStatus.MISSING:
                found[key] = MISSING
            elif status == StaleStatus.STALE:
                found[key] = "; ".join(
                    _describe(cause) for cause in self._resolver.get_stale_causes(key, partition)
                )
        return found

    def data_version(self, key: dg.AssetKey, partition: str | None = None) -> str | None:
        """The data version of the asset's latest materialization; None before the first."""
        version = self._resolver.get_current_data_version(key, partition)
        return None if version in (NULL_DATA_VERSION, DEFAULT_DATA_VERSION) else version.value


def _describe(cause: StaleCause) -> str:
    dependency = cause.dependency
    if dependency is None:
        return cause.reason
    name = dependency.asset_key.to_user_string()
    where = f" ({dependency.partition_key})" if dependency.partition_key else ""
    return f"{cause.reason}: {name}{where}"
