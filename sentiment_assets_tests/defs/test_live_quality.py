"""Live quality through the real jobs, on sample drops: a new drop is scored by production before
any retraining learns from it, its predictions are stored, a drop with flipped labels fails the
live gate and alerts, and a drop from another shop sets off the drift checks."""

import json
import shutil
from dataclasses import replace
from functools import partial
from pathlib import Path

import dagster as dg
import pandas as pd
import pytest

from sentiment_assets.cli.sample_drops import LIKE_REAL, SHIFTED, write_sample_drops
from sentiment_assets.defs.monitoring.checks import (
    live_quality_gate,
    review_length_drift,
    score_drift,
    vocabulary_drift,
)
from sentiment_assets.defs.monitoring.resources import MonitoringThresholds
from sentiment_assets.defs.platform.io_manager import ArtifactIOManager
from sentiment_assets.lib import settings
from sentiment_assets.lib.monitoring import (
    LiveQuality,
    Scoring,
    live_gate,
    measure_live_quality,
    scorable,
)
from sentiment_assets.lib.production import ProductionDecision
from sentiment_assets.lib.storage.store import Slot
from sentiment_assets.lib.storage.values import write_value
from sentiment_assets.lib.tracking import MONITORING_EXPERIMENT, MlflowStore
from sentiment_assets.model.reviews import LABEL, TEXT, TITLE, read_reviews
from sentiment_assets_tests.lib import builders
from sentiment_assets_tests.lib.builders import LABELS, PROBABILITIES, SCORED_AT
from sentiment_assets_tests.support import (
    QUICK_TRAINING,
    definitions,
    failure_message,
    flip_labels,
    ingest,
    raise_check_alerts,
    train,
)

ROWS = 600
DRIFT_CHECKS = {"label_balance_drift", "vocabulary_drift", "review_length_drift", "score_drift"}


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data folder and Dagster home in which two sample drops were ingested (before any
    production model) and the quick family trained on them: version 1 is production."""
    folder = tmp_path_factory.mktemp("live_template")
    write_sample_drops(folder / "landing", drops=2, rows_per_drop=ROWS)
    (folder / "dagster_home").mkdir()
    with (
        pytest.MonkeyPatch.context() as env,
        dg.instance_for_test(temp_dir=str(folder / "dagster_home")) as instance,
    ):
        env.setenv("SENTIMENT_DATA_DIR", str(folder))
        env.delenv("MLFLOW_TRACKING_URI", raising=False)
        assert all(
            r.success for r in ingest(instance, ["reviews_sample-01", "reviews_sample-02"]).values()
        )
        assert train(instance, **QUICK_TRAINING).success
    return folder


@pytest.fixture
def live(template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A copy of the template for this test alone: (data folder, Dagster instance)."""
    folder = tmp_path / "data"
    shutil.copytree(template, folder)
    monkeypatch.setenv("SENTIMENT_DATA_DIR", str(folder))
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    with dg.instance_for_test(temp_dir=str(folder / "dagster_home")) as instance:
        yield folder, instance


def _land(folder: Path, mix=None, name: str = "reviews_sample", rows: int = ROWS) -> str:
    """A third drop in the landing folder; its partition key."""
    if mix is None:
        path = write_sample_drops(folder / "landing", drops=3, rows_per_drop=ROWS)[-1]
    else:
        path = write_sample_drops(folder / "landing", 1, rows, seed=3, mix=mix, name=name)[0]
    return path.stem


def _materialize(instance: dg.DagsterInstance, key: str, asset: str) -> dg.ExecuteInProcessResult:
    """One asset of one drop materialized alone, as from the UI."""
    return (
        definitions()
        .resolve_job_def("ingest_drop")
        .execute_in_process(
            instance=instance, partition_key=key, asset_selection=[dg.AssetKey(asset)]
        )
    )


def _records(instance: dg.DagsterInstance, drop: str) -> list[str]:
    """The `scored_at` of each live_quality materialization of the drop, oldest first."""
    records = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=dg.AssetKey("live_quality"), asset_partitions=[drop]),
        limit=100,
        ascending=True,
    ).records
    return [r.asset_materialization.metadata["scored_at"].value for r in records]


def _retrain_keeping_production(instance: dg.DagsterInstance) -> None:
    """A retraining that rebuilds the dataset and keeps version 1 (no evidence is enough)."""
    run_config = {
        "ops": {
            "trained_models": {"config": QUICK_TRAINING},
            "production_model": {"config": {"significance_level": 1e-12}},
        }
    }
    job = definitions().resolve_job_def("train_and_promote")
    kept = job.execute_in_process(instance=instance, run_config=run_config)
    assert kept.output_for_node("production_model").production_version == "1"


def _checks(result: dg.ExecuteInProcessResult) -> dict[str, dg.AssetCheckEvaluation]:
    return {c.check_name: c for c in result.get_asset_check_evaluations()}


def _alerts() -> list[dict]:
    path = settings.alerts_path()
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


@pytest.mark.slow  # a production model trained first
def test_a_new_drop_is_scored_by_production_before_any_retraining(live) -> None:
    folder, instance = live
    key = _land(folder)

    result = ingest(instance, [key])[key]

    assert result.success
    quality: LiveQuality = result.output_for_node("score_drop", "live_quality")
    assert quality.production_version == "1" and quality.may_have_learned_from_drop is False
    assert quality.live and quality.drop == key
    assert quality.metrics.roc_auc > 0.85 and quality.test_metrics.roc_auc > 0.85
    assert quality.test_reviews > 0 and quality.brier_score < 0.15 and quality.reliability
    # A drop like the others: every check passes, and none alerts.
    checks = _checks(result)
    assert {name for name, c in checks.items() if not c.passed} == set()
    assert DRIFT_CHECKS | {"live_quality_gate"} <= set(checks)
    raise_check_alerts(instance, result)
    assert _alerts() == []
    # The figures are numbers the UI plots drop after drop.
    (materialized,) = [
        m for m in result.get_asset_materialization_events() if m.asset_key.path == ["live_quality"]
    ]
    metadata = materialized.materialization.metadata
    assert metadata["live_roc_auc"].value == pytest.approx(quality.metrics.roc_auc, abs=1e-6)
    assert quality.drift.score_psi is not None
    assert metadata["score_psi"].value == pytest.approx(quality.drift.score_psi, abs=1e-6)
    assert isinstance(metadata["reviews"], dg.IntMetadataValue)
    assert metadata["reviews"].value == quality.reviews
    # Logged to MLflow as a monitoring run of the version that scored it.
    store = MlflowStore.default()
    experiment = store.client().get_experiment_by_name(MONITORING_EXPERIMENT)
    (run,) = store.client().search_runs([experiment.experiment_id])
    assert run.data.tags["drop"] == key and run.data.tags["production_version"] == "1"
    assert run.data.metrics["live_roc_auc"] == pytest.approx(quality.metrics.roc_auc)
    # The drop is its evaluation dataset, the file it was read from as the source.
    [drop] = run.inputs.dataset_inputs
    assert drop.dataset.name == key and drop.dataset.digest == quality.content[:16]
    landed = settings.landing_dir() / f"{key}.csv"
    assert json.loads(drop.dataset.source) == {"uri": landed.absolute().as_uri()}


@pytest.mark.slow  # a production model trained first
def test_drop_predictions_hold_every_review_with_text_and_the_version(live) -> None:
    folder, instance = live
    key = _land(folder)
    assert ingest(instance, [key])[key].success

    # As the README shows: the stored asset, read through Dagster.
    predictions = definitions().load_asset_value(
        "drop_predictions", partition_key=key, instance=instance
    )

    reviews = read_reviews(folder / "landing" / f"{key}.csv")
    with_text = reviews[reviews[TEXT].notna() & (reviews[TEXT].str.strip() != "")]
    assert predictions["review_id"].tolist() == with_text["review_id"].tolist()
    assert predictions["recommended_ind"].tolist() == with_text[LABEL].tolist()
    assert set(predictions["model_version"]) == {"1"}
    assert predictions["probability"].between(0, 1).all()
    assert set(predictions["label"]) == {0, 1}
    unhappy = predictions[predictions["sentiment"] == "not recommended"]
    assert (unhappy["label"] == 0).all() and 0 < len(unhappy) < len(predictions) / 2


@pytest.mark.slow  # a production model trained first, and a retraining
def test_reviews_with_nothing_a_model_reads_are_not_scored_and_the_rest_are(live) -> None:
    """Production refuses a review in another script or of emoji alone: scoring the drop, and the
    next decision on a test split holding such reviews, go on with the others."""
    folder, instance = live
    key = _land(folder)
    path = folder / "landing" / f"{key}.csv"
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    foreign = frame.index[:40]
    frame.loc[foreign, TEXT] = ["Ужасное качество", "😡😡😡 !!!"] * 20
    frame.loc[foreign, TITLE] = ""
    frame.rename(columns={"Unnamed: 0": ""}).to_csv(path, index=False, lineterminator="\n")

    scored = ingest(instance, [key])[key]

    assert scored.success
    quality: LiveQuality = scored.output_for_node("score_drop", "live_quality")
    assert quality.live and quality.reviews_unscored == 40
    assert "40 review(s) hold no letter (a-z) or digit" in quality.status()
    predictions = scored.output_for_node("score_drop", "drop_predictions")
    assert len(predictions) == quality.reviews - 40
    assert not set(predictions["review_id"]) & {int(i) for i in frame.loc[foreign, "Unnamed: 0"]}
    # The dataset now holds them, some in its test split: the decision scores the others.
    decided = train(instance, **QUICK_TRAINING)
    assert decided.success, failure_message(decided)
    test = decided.output_for_node("padded_dataset").split_reviews("test")
    assert not scorable(test).all()


@pytest.mark.slow  # a production model trained first
def test_predictions_of_a_drop_that_landed_before_production_are_made_later_alone(live) -> None:
    _, instance = live
    # reviews_sample-01 landed before version 1 existed: no predictions were stored for it.
    result = _materialize(instance, "reviews_sample-01", "drop_predictions")

    assert result.success
    materialized = [m.asset_key.path[-1] for m in result.get_asset_materialization_events()]
    assert materialized == ["drop_predictions"]  # its live record stays the one of its landing
    predictions = definitions().load_asset_value(
        "drop_predictions", partition_key="reviews_sample-01", instance=instance
    )
    assert set(predictions["model_version"]) == {"1"} and len(predictions) > 0


@pytest.mark.slow  # a production model trained first
def test_flipped_labels_fail_the_live_gate_alert_and_the_retraining_reports_the_gap(live) -> None:
    folder, instance = live
    # Big enough that its reviews held out of the retraining hold 30 of each label, as the live
    # gate asks of a drop (min_live_reviews_per_label).
    key = _land(folder, LIKE_REAL, name="reviews_flipped", rows=2400)
    flip_labels(folder / "landing" / f"{key}.csv")

    result = ingest(instance, [key])[key]

    assert result.success  # the gate alerts; it does not stop the drop from being stored
    gate = _checks(result)["live_quality_gate"]
    assert not gate.passed and gate.severity == dg.AssetCheckSeverity.ERROR
    assert "below the floor 0.75" in gate.description
    raise_check_alerts(instance, result)
    alerts = [a for a in _alerts() if a["check"] == "live_quality_gate"]
    assert len(alerts) == 1
    assert alerts[0]["severity"] == "ERROR" and alerts[0]["partition"] == key
    assert alerts[0]["assets"] == ["live_quality"] and alerts[0]["run_id"] == result.run_id
    assert alerts[0]["error"].startswith(
        f"check live_quality_gate on live_quality [{key}] (a failure)"
    )

    # The retraining that follows learns from the drop and says how the challenger does on the
    # drop's reviews it held out.
    decision: ProductionDecision = train(instance, **QUICK_TRAINING).output_for_node(
        "production_model"
    )
    gap = decision.live_gap
    assert gap.drop == key and gap.scored_by_version == "1" and gap.shortfall
    assert gap.held_out_reviews > 0 and gap.challenger_roc_auc is not None
    # Production learned the labels the other way round: it inverts the drop's reviews.
    assert gap.production_roc_auc < 0.5
    thresholds = MonitoringThresholds().thresholds()
    shortfall = live_gate(gap.challenger_roc_auc, decision.challenger.test.roc_auc, thresholds)
    assert gap.closes is (not shortfall)


@pytest.mark.slow  # a production model trained first
def test_the_drift_checks_fire_on_a_drop_from_another_shop(live) -> None:
    folder, instance = live
    key = _land(folder, SHIFTED, name="reviews_other_shop")

    result = ingest(instance, [key])[key]

    assert result.success
    checks = _checks(result)
    failed = {name for name, c in checks.items() if not c.passed}
    assert failed >= DRIFT_CHECKS
    assert all(checks[name].severity == dg.AssetCheckSeverity.WARN for name in DRIFT_CHECKS)
    raise_check_alerts(instance, result)
    warned = {a["check"]: a for a in _alerts() if a["severity"] == "WARN"}
    assert set(warned) == DRIFT_CHECKS
    assert warned["vocabulary_drift"]["causes"][0]["error"].startswith("out-of-vocabulary rate")


@pytest.mark.slow  # a production model trained first
def test_rescored_after_a_retraining_that_learned_from_it_is_not_live(live) -> None:
    _, instance = live
    # reviews_sample-02 was stored before version 1's training run, which learned from it; its
    # stems stored again since (a changed stemming code, say) do not make it unseen.
    assert _materialize(instance, "reviews_sample-02", "stemmed_corpus").success
    rescored = _materialize(instance, "reviews_sample-02", "live_quality")

    quality: LiveQuality = rescored.output_for_node("score_drop", "live_quality")
    # Scored by version 1, which learned it, the record would not be live: the one stored when
    # the drop landed, before any production model, stays, and nothing downstream changes.
    assert quality.production_version is None and not quality.live
    assert _records(instance, "reviews_sample-02")[-2:] == [quality.scored_at] * 2
    gate = _checks(rescored)["live_quality_gate"]
    assert gate.passed and "nothing scored it" in gate.description
    # Only live_quality was asked for: the predictions stored earlier stay as they were.
    assert not [
        m
        for m in rescored.get_asset_materialization_events()
        if m.asset_key.path == ["drop_predictions"]
    ]


@pytest.mark.slow  # a production model trained first, then a retraining
def test_reviews_production_learned_are_left_out_and_those_it_never_read_are_not(live) -> None:
    folder, instance = live
    landing = folder / "landing"
    key = _land(folder)
    first: LiveQuality = ingest(instance, [key])[key].output_for_node("score_drop", "live_quality")
    # The sample drops repeat a few short reviews: those of the earlier drops' train and
    # validation splits are left out.
    assert first.live and 0 < first.reviews_in_training < 0.05 * first.reviews
    # A retraining that keeps production (no evidence is enough): the dataset now holds the new
    # drop, which version 1 never read.
    _retrain_keeping_production(instance)

    rescored = _materialize(instance, key, "live_quality").output_for_node(
        "score_drop", "live_quality"
    )
    assert rescored.live and rescored.reviews_in_training == first.reviews_in_training

    # An earlier drop version 1 learned, sent again with its first reviews' labels corrected:
    # new content, but only its test-split reviews (never learned) are measured live.
    reviews = pd.read_csv(landing / "reviews_sample-01.csv")
    reviews.loc[:9, LABEL] = 1 - reviews.loc[:9, LABEL]
    reviews.to_csv(landing / "reviews_corrected.csv", index=False, lineterminator="\n")
    resent = ingest(instance, ["reviews_corrected"])["reviews_corrected"]
    quality: LiveQuality = resent.output_for_node("score_drop", "live_quality")
    assert quality.live and 0.6 * quality.reviews < quality.reviews_in_training < quality.reviews
    assert "left out of the live figures" in quality.status()


@pytest.mark.slow  # a production model trained first
def test_learned_content_is_never_live_under_another_name_and_new_content_is(live) -> None:
    folder, instance = live
    landing = folder / "landing"
    # Version 1 learned reviews_sample-02; the same file sent again under another name:
    shutil.copyfile(landing / "reviews_sample-02.csv", landing / "reviews_resent.csv")
    resent = ingest(instance, ["reviews_resent"])["reviews_resent"]
    quality: LiveQuality = resent.output_for_node("score_drop", "live_quality")
    assert quality.may_have_learned_from_drop is True and not quality.live

    # A learned drop sent again under its own name, cut short: new content, but the reviews
    # version 1 learned from its first content are left out (a review found them measured live).
    cut = pd.read_csv(landing / "reviews_sample-01.csv").head(200)
    cut.to_csv(landing / "reviews_sample-01.csv", index=False, lineterminator="\n")
    recut = ingest(instance, ["reviews_sample-01"])["reviews_sample-01"]
    quality = recut.output_for_node("score_drop", "live_quality")
    assert quality.live and 0.6 * quality.reviews < quality.reviews_in_training < quality.reviews

    # New content under a learned drop's name (a corrected export) is unseen by version 1.
    (newer,) = write_sample_drops(folder / "newer", 1, ROWS, seed=11)
    shutil.copyfile(newer, landing / "reviews_sample-02.csv")
    replaced = ingest(instance, ["reviews_sample-02"])["reviews_sample-02"]
    quality = replaced.output_for_node("score_drop", "live_quality")
    assert quality.may_have_learned_from_drop is False and quality.live


@pytest.mark.slow  # a production model trained first, and a retraining
def test_what_production_learned_is_read_from_the_dataset_it_trained_on_not_todays(live) -> None:
    """The dataset rebuilt since production trained no longer holds all it learned: the reviews
    left out are those of the dataset its MLflow run names (`data_version`), still kept."""
    folder, instance = live
    landing = folder / "landing"
    whole = pd.read_csv(landing / "reviews_sample-01.csv")
    # reviews_sample-01 sent again cut short, and a retraining that keeps version 1 rebuilds the
    # dataset with the cut drop: today's dataset holds only its first 200 reviews.
    whole.head(200).to_csv(landing / "reviews_sample-01.csv", index=False, lineterminator="\n")
    assert ingest(instance, ["reviews_sample-01"])["reviews_sample-01"].success
    _retrain_keeping_production(instance)

    # The rest of the first export lands under a new name: version 1 learned most of it.
    whole.iloc[200:].to_csv(landing / "reviews_tail.csv", index=False, lineterminator="\n")
    tail = ingest(instance, ["reviews_tail"])["reviews_tail"]
    quality: LiveQuality = tail.output_for_node("score_drop", "live_quality")
    assert quality.live and 0.6 * quality.reviews < quality.reviews_in_training < quality.reviews


@pytest.mark.slow  # a production model trained first
def test_a_live_record_outlives_scoring_again_by_a_model_that_learned_the_drop(
    live, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder, instance = live
    key = _land(folder)
    first: LiveQuality = ingest(instance, [key])[key].output_for_node("score_drop", "live_quality")
    assert first.live and first.content
    store = MlflowStore.default()
    experiment = store.client().get_experiment_by_name(MONITORING_EXPERIMENT)
    # Production is now a version whose training may have read the drop (as after a retraining).
    monkeypatch.setattr(
        "sentiment_assets.defs.monitoring.scoring._trained_after_stored", lambda *args: True
    )

    def score_again() -> LiveQuality:
        again = _materialize(instance, key, "live_quality")
        assert again.success
        return again.output_for_node("score_drop", "live_quality")

    assert score_again() == first
    stored = definitions().load_asset_value("live_quality", partition_key=key, instance=instance)
    assert LiveQuality.model_validate(stored) == first
    assert len(store.client().search_runs([experiment.experiment_id])) == 1  # no second record

    # A record stored before records named their content is kept too, the drop unchanged since.
    legacy = first.model_copy(update={"content": None})
    ArtifactIOManager().store().write(
        Slot("live_quality", key), partial(write_value, legacy), "legacy-run"
    )
    assert score_again() == first


@pytest.mark.slow  # a production model trained first
def test_a_live_record_left_running_by_a_killed_scoring_is_ended_by_the_next_one(live) -> None:
    from sentiment_assets.lib.tracking import DAGSTER_RUN_TAG

    folder, instance = live
    monitoring = MlflowStore.default().monitoring()
    client = monitoring.client()
    ended = instance.get_runs(limit=1)[0].run_id  # a Dagster run of this instance, finished
    # What a process killed while it logged a live record leaves: its MLflow run RUNNING. One of
    # a Dagster run this instance does not know is left alone.
    left = client.create_run(monitoring.experiment_id(), tags={DAGSTER_RUN_TAG: ended})
    foreign = client.create_run(monitoring.experiment_id(), tags={DAGSTER_RUN_TAG: "elsewhere"})

    key = _land(folder)
    assert ingest(instance, [key])[key].success

    assert client.get_run(left.info.run_id).info.status == "KILLED"
    assert client.get_run(foreign.info.run_id).info.status == "RUNNING"


@pytest.mark.slow  # a production model trained first
def test_a_live_record_logged_by_a_scoring_killed_before_dagster_stored_it_is_ended(live) -> None:
    from sentiment_assets.lib.tracking import DAGSTER_RUN_TAG, DROP_TAG

    folder, instance = live
    monitoring = MlflowStore.default().monitoring()
    client = monitoring.client()
    unrelated = instance.get_runs(limit=1)[0].run_id  # finished; it stored no live record
    key = _land(folder)
    assert ingest(instance, [key])[key].success
    (stored,) = client.search_runs([monitoring.experiment_id()], f"tags.drop = '{key}'")

    def finished(dagster_run: str) -> str:
        run = client.create_run(
            monitoring.experiment_id(), tags={DAGSTER_RUN_TAG: dagster_run, DROP_TAG: key}
        )
        client.set_terminated(run.info.run_id, status="FINISHED")
        return run.info.run_id

    # What a scoring killed after its MLflow run ended, before Dagster stored the record, leaves:
    # a FINISHED record of a Dagster run that ended without materializing it. One of a Dagster
    # run this instance does not know is left alone.
    lost, foreign = finished(unrelated), finished("elsewhere")

    assert _materialize(instance, key, "live_quality").success

    status = {run_id: client.get_run(run_id).info.status for run_id in (lost, foreign)}
    assert status == {lost: "KILLED", foreign: "FINISHED"}
    assert client.get_run(stored.info.run_id).info.status == "FINISHED"  # Dagster stored it


def test_a_drop_before_any_production_model_records_that_plainly(data_dir: Path, instance) -> None:
    write_sample_drops(data_dir / "landing", drops=1, rows_per_drop=300)

    result = ingest(instance, ["reviews_sample-01"])["reviews_sample-01"]

    assert result.success
    quality: LiveQuality = result.output_for_node("score_drop", "live_quality")
    assert quality.production_version is None and quality.metrics is None
    assert "no production model" in quality.status()
    assert quality.drift.oov_rate is None  # no training data yet either
    materialized = {m.asset_key.path[-1] for m in result.get_asset_materialization_events()}
    assert "drop_predictions" not in materialized and "live_quality" in materialized
    assert all(c.passed for c in result.get_asset_check_evaluations())
    assert not (data_dir / "mlflow").exists()  # nothing was created to find that out


def test_label_share_is_compared_with_the_earlier_drops_only(data_dir: Path, instance) -> None:
    from sentiment_assets.cli.sample_drops import sample_reviews

    write_sample_drops(data_dir / "landing", drops=2, rows_per_drop=300)
    # A drop where every review is "not recommended": far from the others.
    unhappy = sample_reviews(300, seed=5).assign(**{LABEL: 0})
    unhappy.rename(columns={"review_id": ""}).to_csv(
        data_dir / "landing" / "unhappy.csv", index=False, lineterminator="\n"
    )
    runs = ingest(instance, ["reviews_sample-01", "unhappy", "reviews_sample-02"])
    drift = {key: _checks(run)["label_balance_drift"] for key, run in runs.items()}

    assert drift["reviews_sample-01"].passed  # nothing earlier to compare with
    assert drift["reviews_sample-01"].metadata["earlier_drops"].value == 0
    assert not drift["unhappy"].passed
    assert drift["unhappy"].severity == dg.AssetCheckSeverity.WARN
    assert drift["unhappy"].metadata["not_recommended_share"].value == 1.0
    assert "from the earlier drops' 0.1" in drift["unhappy"].description
    # The drop after it is compared with both earlier ones, the unhappy one included.
    assert drift["reviews_sample-02"].metadata["earlier_drops"].value == 2
    assert not drift["reviews_sample-02"].passed
    # Its figures: the shares to 4 places, and how far apart they are, unsigned (it is below).
    later = {name: value.value for name, value in drift["reviews_sample-02"].metadata.items()}
    apart = later["earlier_drops_share"] - later["not_recommended_share"]
    assert apart > 0.1 and later["difference"] == pytest.approx(apart, abs=2e-4)

    # Checked again later, the first drop still has no earlier drop (later ones do not count).
    again = _materialize(instance, "reviews_sample-01", "raw_reviews")
    assert _checks(again)["label_balance_drift"].metadata["earlier_drops"].value == 0


def test_a_drop_of_a_handful_of_reviews_is_not_judged(data_dir: Path, instance) -> None:
    """Three reviews gave a review-length PSI of 5.5 with the mean length within a word of the
    training data's, and every drift check warned (and alerted); a ROC AUC of one review against
    two says as little."""
    from sentiment_assets.cli.sample_drops import sample_reviews

    write_sample_drops(data_dir / "landing", drops=2, rows_per_drop=300)
    tiny = sample_reviews(3, seed=5).assign(**{LABEL: [1, 0, 1]})
    tiny.rename(columns={"review_id": ""}).to_csv(
        data_dir / "landing" / "tiny.csv", index=False, lineterminator="\n"
    )
    ingest(instance, ["reviews_sample-01", "reviews_sample-02"])
    assert train(instance, **QUICK_TRAINING).success

    [run] = ingest(instance, ["tiny"]).values()

    checks = _checks(run)
    for name in DRIFT_CHECKS:
        assert checks[name].passed, name
        assert checks[name].description.startswith("not judged: the drop has 3 review(s)"), name
    gate = checks["live_quality_gate"]
    assert gate.passed and gate.description.endswith(
        "; not judged: the reviews measured hold 1 'not recommended' and 2 'recommended'; the gate "
        "judges a ROC AUC on at least 30 of each (min_live_reviews_per_label)"
    )


@pytest.mark.slow
def test_the_real_drops_stay_quiet_and_a_drop_from_another_shop_does_not(
    real_drops: list[Path], data_dir: Path, instance
) -> None:
    """Each real drop lands after production was trained on the ones before, as weekly drops do;
    then a drop from another shop. Prints the figures the README quotes."""
    for path in real_drops:
        shutil.copy(path, data_dir / "landing" / path.name)
    keys = [path.stem for path in real_drops]
    shifted = write_sample_drops(data_dir / "landing", 1, 1500, mix=SHIFTED, name="other_shop")
    records: dict[str, tuple[LiveQuality, dict[str, dg.AssetCheckEvaluation]]] = {}
    for key in [*keys, shifted[0].stem]:
        result = ingest(instance, [key])[key]
        assert result.success
        records[key] = result.output_for_node("score_drop", "live_quality"), _checks(result)
        if key != shifted[0].stem:
            assert train(instance, **QUICK_TRAINING).success

    for key, (quality, checks) in records.items():
        drift, label = quality.drift, checks["label_balance_drift"].metadata
        print(
            f"{key}: live ROC AUC {quality.metrics.roc_auc if quality.metrics else None}, "
            f"gap to test {quality.roc_auc_gap}, Brier {quality.brier_score}, "
            f"label share {label['not_recommended_share'].value} (earlier "
            f"{label['earlier_drops_share'].value}), OOV {drift.oov_rate} (test split "
            f"{drift.reference_oov_rate}), length PSI {drift.review_length_psi}, "
            f"score PSI {drift.score_psi}"
        )
    first, *later = keys
    assert records[first][0].production_version is None
    for key in later:
        quality, checks = records[key]
        assert quality.live and quality.drift.score_psi is not None
        assert all(c.passed for c in checks.values()), {n: c.description for n, c in checks.items()}
    _, loud = records[shifted[0].stem]
    assert {name for name, c in loud.items() if not c.passed} == DRIFT_CHECKS | {
        "live_quality_gate"
    }


# The checks called directly on a built record (no job, no instance): what each reports.
ONE_EACH = MonitoringThresholds(min_live_reviews_per_label=1, min_drift_reviews=1)


def test_the_live_quality_gate_fails_as_an_error_with_its_figures() -> None:
    flipped = builders.quality(probabilities=[1 - x for x in PROBABILITIES])
    gate = live_quality_gate(live_quality=flipped, monitoring=ONE_EACH)
    assert not gate.passed and gate.severity == dg.AssetCheckSeverity.ERROR
    assert gate.description == "live ROC AUC 0.1250 is below the floor 0.75"
    assert {k: v.value for k, v in gate.metadata.items()} == {
        "production_version": "3",
        "live_roc_auc": pytest.approx(0.125),
        "test_roc_auc": None,
        "roc_auc_floor": 0.75,
        "margin": 0.05,
    }


def test_the_live_quality_gate_gives_each_shortfall_and_the_test_estimate() -> None:
    flipped = builders.quality(probabilities=[1 - x for x in PROBABILITIES])
    estimated = flipped.model_copy(update={"test_metrics": replace(flipped.metrics, roc_auc=0.9)})
    gate = live_quality_gate(live_quality=estimated, monitoring=ONE_EACH)
    assert gate.description == (
        "live ROC AUC 0.1250 is below the floor 0.75; "
        "live ROC AUC 0.1250 is 0.7750 below its test estimate 0.9000 (margin 0.05)"
    )
    assert gate.metadata["test_roc_auc"].value == pytest.approx(0.9)


def test_the_live_quality_gate_on_a_drop_of_one_label_passes_with_no_roc_auc() -> None:
    # Not a NaN in the metadata (the UI plots it): no figure.
    scoring = Scoring("3", "run-3", builders.scored(PROBABILITIES), None, False)
    one_label = measure_live_quality("all-happy", builders.drop([1] * 6), None, scoring, "z")
    gate = live_quality_gate(live_quality=one_label, monitoring=ONE_EACH)
    assert gate.passed and gate.metadata["live_roc_auc"].value is None
    assert gate.description == one_label.status()


def test_a_drift_check_without_its_figure_says_why_it_was_not_measured() -> None:
    # No training data and no production model: no score PSI, no length PSI; a warning, passed.
    first = measure_live_quality("first", builders.drop(LABELS), None, None, SCORED_AT)
    score = score_drift(live_quality=first, monitoring=ONE_EACH)
    assert score.passed and score.severity == dg.AssetCheckSeverity.WARN
    assert score.description == "not measured: no production model, or no training data yet"
    length = review_length_drift(live_quality=first, monitoring=ONE_EACH)
    assert length.passed and length.description == "not measured: no training data yet"
    assert {k: v.value for k, v in length.metadata.items()} == {
        "review_length_psi": None,
        "mean_words": 2.0,
        "reference_mean_words": None,
    }


def test_each_drift_check_judges_its_own_figure() -> None:
    # Review lengths far off, scores and vocabulary as before: only the length check warns.
    quality = builders.quality()
    lengths = quality.drift.model_copy(
        update={
            "reference_mean_words": 20.0,
            "review_length_psi": 2.0,
            "oov_rate": 0.0,
            "reference_oov_rate": 0.0,
            "score_psi": 0.0,
        }
    )
    shifted = quality.model_copy(update={"drift": lengths})
    found = {
        name: check(live_quality=shifted, monitoring=ONE_EACH)
        for name, check in (
            ("vocabulary_drift", vocabulary_drift),
            ("review_length_drift", review_length_drift),
            ("score_drift", score_drift),
        )
    }
    assert {name for name, c in found.items() if not c.passed} == {"review_length_drift"}
    assert found["review_length_drift"].description == (
        "review length PSI 2.000 above 0.25 (mean 2.0 words against 20.0)"
    )
