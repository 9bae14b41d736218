"""padded_dataset -> trained_models -> production_model through the real job, on sample drops: the
wiring, where the real drops are absent (one quick family)."""

from pathlib import Path

from sentiment_assets.cli.sample_drops import write_sample_drops
from sentiment_assets.defs.training.config import CandidateConfig, TrainingConfig
from sentiment_assets.lib.production import ProductionDecision
from sentiment_assets.lib.tracking import MlflowStore
from sentiment_assets.lib.training import TrainedModels
from sentiment_assets_tests.support import ingest, train

QUICK = {"candidates": [{"name": "tfidf", "family": "tfidf-logreg"}]}


def test_sample_drops_train_log_and_promote(data_dir: Path, instance) -> None:
    write_sample_drops(data_dir / "landing", drops=2, rows_per_drop=600)
    ingest(instance, ["reviews_sample-01", "reviews_sample-02"])

    result = train(instance, **QUICK)

    assert result.success
    trained: TrainedModels = result.output_for_node("trained_models")
    (candidate,) = trained.candidates
    dataset = result.asset_materializations_for_node("padded_dataset")[0]
    assert trained.data_version == dataset.metadata["fingerprint"].value
    store = MlflowStore.default()
    run = store.client().get_run(candidate.run_id)
    assert run.info.status == "FINISHED"
    assert run.data.tags["candidate"] == "tfidf" and run.data.tags["data_version"]
    assert run.data.metrics["test_roc_auc"] == candidate.test.roc_auc
    # tfidf-logreg is refitted on train+validation by default, and the run says so.
    assert run.data.params["refit"] == "True"
    assert run.data.metrics["refit_seconds"] == candidate.refit_seconds > 0

    decision: ProductionDecision = result.output_for_node("production_model")
    assert decision.promoted and decision.champion is None
    assert decision.production_version == candidate.version
    assert str(store.production_version().version) == candidate.version
    (gate,) = [
        c
        for c in result.get_asset_check_evaluations()
        if c.asset_key.path[-1] == "production_model"
    ]
    assert gate.check_name == "production_quality_gate" and gate.passed

    # The next training compares its challenger with the production model on the same test split.
    again: ProductionDecision = train(instance, **QUICK).output_for_node("production_model")
    assert again.champion is not None and again.champion.version == candidate.version
    assert again.champion.test == decision.challenger.test


def test_a_production_quality_gate_that_fails_is_shown(data_dir: Path, instance) -> None:
    write_sample_drops(data_dir / "landing", drops=2, rows_per_drop=600)
    ingest(instance, ["reviews_sample-01", "reviews_sample-02"])
    # A network that cannot learn in one epoch with one unit: it is refused, and there is no
    # production model for the gate to pass.
    weak = {
        "candidates": [
            {"name": "weak", "family": "seed-keras", "embedding_dim": 1, "batch_size": 4096}
        ],
        "epochs": 1,
    }
    result = train(instance, **weak)

    decision: ProductionDecision = result.output_for_node("production_model")
    assert not decision.promoted and decision.production_version is None
    (gate,) = [
        c for c in result.get_asset_check_evaluations() if c.check_name == "production_quality_gate"
    ]
    assert not gate.passed and gate.description == "no production model yet"
    assert "challenger refused" in decision.reason


def test_training_config_refits_as_the_family_does_unless_told() -> None:
    config = TrainingConfig(
        candidates=[
            CandidateConfig(name="a", family="tfidf-logreg"),
            CandidateConfig(name="b", family="tfidf-logreg", refit=False),
            CandidateConfig(name="s", family="seed-keras", embedding_dim=8, batch_size=8),
            CandidateConfig(
                name="t", family="seed-keras", embedding_dim=8, batch_size=8, refit=True
            ),
        ]
    )

    planned = config.build()

    assert [(p.candidate.name, p.refit) for p in planned] == [
        ("a", True),
        ("b", False),
        ("s", False),
        ("t", True),
    ]
