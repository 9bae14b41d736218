"""New drops end to end on the real data: sensor, ingestion, one retraining, quarantine, alerts."""

import json
import os
import shutil
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import ClassVar

import dagster as dg
import pandas as pd
import pytest

from sentiment_assets.defs.platform.concurrency import MLFLOW_POOL
from sentiment_assets.lib import settings
from sentiment_assets.lib.production import ProductionDecision
from sentiment_assets.lib.tracking import MlflowStore
from sentiment_assets_tests.support import (
    Ticks,
    definitions,
    failure_message,
    raise_alert,
    retrain_sensor,
)

pytestmark = pytest.mark.slow

# Two quick candidates keep this test short; the full line-up is the pipeline test's job.
LIGHT_TRAINING = {
    "candidates": [
        {"name": "embedding-32", "family": "seed-keras", "embedding_dim": 32, "batch_size": 32},
        {"name": "tfidf-logreg", "family": "tfidf-logreg"},
    ],
    "epochs": 6,
}


class Platform:
    """The sensor, the ingestion job and the automation evaluated the way the daemon would."""

    def __init__(self, instance: dg.DagsterInstance, landing: Path) -> None:
        self.instance, self.ticks = instance, Ticks(instance, landing)

    def land_and_ingest(self) -> dict[str, dg.ExecuteInProcessResult]:
        return self.ticks.land_and_ingest()

    def retrain_requested(self) -> bool:
        result = retrain_sensor(self.instance)
        return isinstance(result, dg.RunRequest)

    def retrain(self) -> dg.ExecuteInProcessResult:
        return (
            definitions()
            .resolve_job_def("train_and_promote")
            .execute_in_process(
                instance=self.instance,
                run_config={"ops": {"trained_models": {"config": LIGHT_TRAINING}}},
                raise_on_error=False,
            )
        )


@pytest.fixture
def platform(data_dir: Path, instance) -> Platform:
    platform = Platform(instance, data_dir / "landing")
    assert not platform.retrain_requested()  # nothing has landed yet
    return platform


def test_drops_land_retrain_once_and_promote_only_better_models(
    platform: Platform, real_drops: list[Path], data_dir: Path
) -> None:
    first, second, third = real_drops[:3]
    for path in (first, second):
        shutil.copy(path, data_dir / "landing" / path.name)
    ingested = platform.land_and_ingest()
    assert sorted(ingested) == ["reviews_2026-01", "reviews_2026-02"]
    assert all(r.success for r in ingested.values())

    # Two drops landed together: one retraining for both.
    assert platform.retrain_requested()
    first_training = platform.retrain()
    assert first_training.success
    assert not platform.retrain_requested()
    store = MlflowStore.default()
    first_version = str(store.production_version().version)

    # The third drop: only it is read and stemmed, then exactly one retraining.
    shutil.copy(third, data_dir / "landing" / third.name)
    assert sorted(platform.land_and_ingest()) == ["reviews_2026-03"]
    stemmed = platform.instance.fetch_materializations(dg.AssetKey("stemmed_corpus"), limit=10)
    assert [r.asset_materialization.partition for r in stemmed.records] == [
        "reviews_2026-03",
        "reviews_2026-02",
        "reviews_2026-01",
    ]
    assert platform.retrain_requested()
    second_training = platform.retrain()
    assert second_training.success
    decision: ProductionDecision = second_training.output_for_node("production_model")
    dataset = second_training.asset_materializations_for_node("padded_dataset")[0]
    assert dataset.metadata["drops"].value == [p.stem for p in (first, second, third)]
    # The champion was re-scored on the new test split, and the alias follows the rule.
    assert decision.champion.version == first_version
    assert decision.promoted is decision.comparison.better_beyond_chance
    expected = decision.challenger.version if decision.promoted else first_version
    assert str(store.production_version().version) == expected
    # Both training runs hold the pool that the instance's run queue lets one run use at a time.
    assert all(
        run.run_op_concurrency and MLFLOW_POOL in run.run_op_concurrency.all_pools
        for run in platform.instance.get_runs(dg.RunsFilter(job_name="train_and_promote"))
    )


def test_a_malformed_drop_is_quarantined_and_the_others_are_untouched(
    platform: Platform, real_drops: list[Path], data_dir: Path
) -> None:
    good = real_drops[0]
    shutil.copy(good, data_dir / "landing" / good.name)
    platform.land_and_ingest()
    stored = _stored_corpus(platform.instance)
    before = stored[good.stem]

    broken = good.read_bytes()[:-500]  # cut mid-record: the export died ...
    path = data_dir / "landing" / "reviews_2026-04.csv"
    path.write_bytes(broken)
    an_hour_ago = time.time() - 3600
    os.utime(path, (an_hour_ago, an_hour_ago))  # ... an hour ago: past the grace period
    results = platform.land_and_ingest()

    assert not results["reviews_2026-04"].success
    assert "reviews_2026-04.csv" in failure_message(results["reviews_2026-04"])
    quarantined = data_dir / "quarantine" / "reviews_2026-04.csv"
    assert quarantined.read_bytes() == broken
    note = (data_dir / "quarantine" / "reviews_2026-04.csv.error.txt").read_text()
    assert note.startswith("reviews_2026-04.csv: the file is incomplete")
    assert "judged truncated; " in note
    assert not (data_dir / "landing" / "reviews_2026-04.csv").exists()
    pd.testing.assert_frame_equal(_stored_corpus(platform.instance)[good.stem], before)
    # The line goes on: the dataset builds from the drops that did materialize.
    assert platform.retrain_requested()
    dataset = (
        definitions()
        .resolve_implicit_global_asset_job_def()
        .execute_in_process(
            instance=platform.instance, asset_selection=[dg.AssetKey("padded_dataset")]
        )
    )
    assert dataset.asset_materializations_for_node("padded_dataset")[0].metadata["drops"].value == [
        good.stem
    ]


def _stored_corpus(instance: dg.DagsterInstance) -> dict[str, pd.DataFrame]:
    """Every stored stemmed drop, read back through the project's storage."""
    from sentiment_assets.defs.platform.io_manager import ArtifactIOManager

    return ArtifactIOManager().load_partitions(instance, dg.AssetKey("stemmed_corpus"))


class _Webhook(BaseHTTPRequestHandler):
    received: ClassVar[list[dict]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        _Webhook.received.append(json.loads(body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


def test_a_failed_run_becomes_an_alert_line_and_a_webhook_post(
    platform: Platform, data_dir: Path, monkeypatch
) -> None:
    server = HTTPServer(("127.0.0.1", 0), _Webhook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setenv("SENTIMENT_ALERT_WEBHOOK", f"http://127.0.0.1:{server.server_port}/hook")
    _Webhook.received.clear()
    try:
        (data_dir / "landing" / "bad.csv").write_bytes(b",Title\n0,Nice\n")
        failed = platform.land_and_ingest()["bad"]
        raise_alert(platform.instance, failed)
    finally:
        server.shutdown()

    (line,) = settings.alerts_path().read_text().splitlines()
    alert = json.loads(line)
    assert alert["job"] == "ingest_drop"
    assert alert["run_id"] == failed.run_id
    assert alert["partition"] == "bad"
    assert alert["assets"] == ["drop_predictions", "live_quality", "raw_reviews", "stemmed_corpus"]
    assert "raw_reviews" in alert["error"]
    assert alert["causes"] == [
        {
            "step": "raw_reviews",
            "error": "bad.csv: missing required column(s): 'Review Text', 'Recommended IND' "
            "(the header has: 'Unnamed: 0', 'Title')",
        }
    ]
    assert _Webhook.received == [alert]
