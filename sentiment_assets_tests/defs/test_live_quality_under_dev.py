"""Under `dg dev`, a new drop is scored by the production model before the retraining that
includes it: the order is read back from the event log of the instance the daemon ran."""

import shutil
from functools import partial
from pathlib import Path

import dagster as dg
import pytest

from sentiment_assets.cli.platform import prepare
from sentiment_assets.cli.sample_drops import write_sample_drops
from sentiment_assets.defs.platform.resources import ArtifactIOManager
from sentiment_assets.lib.monitoring import LiveQuality
from sentiment_assets.lib.storage.store import Slot
from sentiment_assets.lib.storage.values import read_value
from sentiment_assets_tests.defs.under_dev import TRAINING_SECONDS, dagster_dev, trained_by_sensor

pytestmark = [pytest.mark.slow, pytest.mark.under_dev]

NEW = "reviews_sample-02"


def test_a_drop_is_scored_live_before_the_retraining_that_includes_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    landing, later = tmp_path / "landing", tmp_path / "later"
    write_sample_drops(later, drops=2, rows_per_drop=500)
    landing.mkdir()
    shutil.move(later / "reviews_sample-01.csv", landing)
    monkeypatch.setenv("SENTIMENT_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster_home"))
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.delenv("SENTIMENT_ALERT_WEBHOOK", raising=False)
    prepare()

    with dg.DagsterInstance.get() as instance, dagster_dev(tmp_path / "dagster_dev.log") as dev:
        first = dev.wait_for(
            "first retraining", lambda: trained_by_sensor(instance, after=0), TRAINING_SECONDS
        )
        shutil.move(later / f"{NEW}.csv", landing)
        second = dev.wait_for(
            "retraining on the new drop",
            lambda: trained_by_sensor(instance, after=first),
            TRAINING_SECONDS,
        )

        scored = _materializations(instance, "live_quality", NEW)
        assert len(scored) == 1
        (built,) = [
            r
            for r in _materializations(instance, "padded_dataset")
            if NEW in r.asset_materialization.metadata["drops"].value
        ]
        training = instance.get_run_record_by_id(built.run_id)
        ingestion = instance.get_run_record_by_id(scored[0].run_id)

    # The event log orders it: the drop's live record, then the dataset that includes the drop,
    # built by a run that started only after the scoring run had ended.
    assert scored[0].storage_id < built.storage_id
    assert ingestion.dagster_run.job_name == "ingest_drop"
    assert ingestion.end_time <= training.start_time == second
    # The record names the version that scored it, the first retraining's, which never saw it.
    quality = (
        ArtifactIOManager()
        .store()
        .read(Slot("live_quality", NEW), partial(read_value, expected=LiveQuality))
    )
    assert quality.production_version == "1" and quality.may_have_learned_from_drop is False
    assert quality.live and quality.metrics.roc_auc > 0.8


def _materializations(
    instance: dg.DagsterInstance, asset: str, partition: str | None = None
) -> list[dg.EventLogRecord]:
    records = instance.fetch_materializations(
        dg.AssetRecordsFilter(
            asset_key=dg.AssetKey(asset), asset_partitions=[partition] if partition else None
        ),
        limit=100,
    ).records
    return list(records)
