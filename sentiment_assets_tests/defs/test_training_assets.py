"""padded_dataset -> trained_models -> production_model through the real job, on sample drops: the
wiring, where the real drops are absent (one quick family), and the promotion rule at work."""

import json
from pathlib import Path

import dagster as dg
import pytest

from sentiment_assets.cli.sample_drops import write_sample_drops
from sentiment_assets.defs.training.config import CandidateConfig, TrainingConfig
from sentiment_assets.lib.production import ProductionDecision
from sentiment_assets.lib.tracking import MlflowStore
from sentiment_assets.lib.training import CandidateResult, TrainedModels
from sentiment_assets.model.dataset import MAX_SEQUENCE_LENGTH, split_of
from sentiment_assets_tests.support import (
    QUICK_TRAINING,
    coin_flip_production,
    coin_flip_version,
    definitions,
    failure_message,
    flip_labels,
    ingest,
    mlflow_writes,
    retrain_sensor,
    train,
)


@pytest.fixture
def drops(data_dir: Path, instance) -> None:
    write_sample_drops(data_dir / "landing", drops=2, rows_per_drop=600)
    ingest(instance, ["reviews_sample-01", "reviews_sample-02"])


# A network that cannot learn in one epoch with one unit: the gate refuses it.
WEAK_TRAINING = {
    "candidates": [
        {"name": "weak", "family": "seed-keras", "embedding_dim": 1, "batch_size": 4096}
    ],
    "epochs": 1,
}


def _versions(store: MlflowStore) -> list[str]:
    found = store.client().search_model_versions(f"name = '{store.model_name}'")
    return sorted(str(v.version) for v in found)


@pytest.mark.slow  # a training run
def test_sample_drops_train_log_and_promote_once(drops, instance) -> None:
    result = train(instance, **QUICK_TRAINING)

    assert result.success
    trained: TrainedModels = result.output_for_node("trained_models")
    (candidate,) = trained.candidates
    dataset = result.asset_materializations_for_node("padded_dataset")[0]
    assert trained.data_version == dataset.metadata["fingerprint"].value
    store = MlflowStore.default()
    run = store.client().get_run(candidate.run_id)
    assert run.info.status == "FINISHED"
    assert run.data.tags["candidate"] == "tfidf" and run.data.tags["data_version"]
    # Its dataset input: the padded_dataset, under its fingerprint, where Dagster stored it.
    [inputs] = run.inputs.dataset_inputs
    assert (inputs.dataset.name, inputs.dataset.digest) == ("padded_dataset", trained.data_version)
    assert inputs.dataset.source_type == "local"
    stored = json.loads(inputs.dataset.source)["uri"]
    assert stored == Path(dataset.metadata["stored_at"].value).absolute().as_uri()
    assert run.data.metrics["test_roc_auc"] == candidate.test.roc_auc
    # tfidf-logreg is refitted on train+validation by default, and the run says so.
    assert run.data.params["refit"] == "True"
    assert run.data.metrics["refit_seconds"] == candidate.refit_seconds > 0

    # The first model needs only the quality gate; it becomes the first registered version.
    first: ProductionDecision = result.output_for_node("production_model")
    assert first.promoted and first.champion is None and first.comparison is None
    assert first.production_version == first.challenger.version == "1"
    production = store.production_version()
    assert str(production.version) == "1" and production.run_id == candidate.run_id
    (gate,) = [
        c
        for c in result.get_asset_check_evaluations()
        if c.asset_key.path[-1] == "production_model"
    ]
    assert gate.check_name == "production_quality_gate" and gate.passed
    _assert_plottable(result, candidate, first)

    # A rerun on unchanged data trains the same model again: nothing is registered or moved.
    again = train(instance, **QUICK_TRAINING)
    decision: ProductionDecision = again.output_for_node("production_model")
    assert decision.champion is not None and decision.champion.version == "1"
    assert decision.champion.test == first.challenger.test == decision.challenger.test
    assert decision.comparison.difference == 0 and decision.comparison.p_value == 1.0
    assert not decision.promoted and decision.production_version == "1"
    assert decision.challenger.version is None
    assert _versions(store) == ["1"]
    assert str(store.production_version().version) == "1"
    metadata = again.asset_materializations_for_node("production_model")[0].metadata
    assert metadata["decision"].value == "kept"
    assert "not better by more than chance at level 0.05" in metadata["reason"].value
    assert metadata["roc_auc_difference"].value == 0
    assert metadata["roc_auc_difference_interval"].value == "+0.0000 to +0.0000 (95% confidence)"
    assert metadata["p_value"].value == 1.0 and metadata["significance_level"].value == 0.05
    # The same answers: no F1 difference either, in any resample.
    assert decision.f1_comparison.difference == 0
    assert metadata["not_recommended_f1_difference"].value == 0
    assert (
        metadata["not_recommended_f1_difference_interval"].value
        == "+0.0000 to +0.0000 (95% paired bootstrap)"
    )


def _assert_plottable(
    result: dg.ExecuteInProcessResult, candidate: CandidateResult, decision: ProductionDecision
) -> None:
    """Beside the tables, the figures the UI plots across materializations are numbers."""

    def numbers(node: str) -> dict[str, float | int]:
        (materialization,) = result.asset_materializations_for_node(node)
        return {
            key: value.value
            for key, value in materialization.metadata.items()
            if isinstance(value, dg.FloatMetadataValue | dg.IntMetadataValue)
        }

    dataset = numbers("padded_dataset")
    splits = [dataset[f"{split}_rows"] for split in ("train", "validation", "test")]
    assert all(isinstance(rows, int) for rows in splits)
    assert sum(splits) == dataset["dagster/row_count"]
    assert 0 < dataset["test_not_recommended_share"] < 1
    trained = numbers("trained_models")
    assert trained["tfidf_validation_roc_auc"] == candidate.validation.roc_auc
    assert trained["tfidf_test_roc_auc"] == candidate.test.roc_auc
    assert trained["tfidf_test_not_recommended_f1"] == candidate.test.not_recommended_f1
    assert trained["tfidf_training_seconds"] == round(candidate.training_seconds, 3) > 0
    assert trained["tfidf_epochs_trained"] == 1 and isinstance(trained["tfidf_epochs_trained"], int)
    production = numbers("production_model")
    assert production["production_test_roc_auc"] == decision.production.test.roc_auc
    assert production["production_test_not_recommended_f1"] == (
        decision.production.test.not_recommended_f1
    )
    assert production["production_test_accuracy"] == decision.production.test.accuracy
    assert production["challenger_test_roc_auc"] == decision.challenger.test.roc_auc


@pytest.mark.slow  # a training run
def test_a_clearly_better_challenger_is_promoted_a_marginal_one_is_not(drops, instance) -> None:
    store = MlflowStore.default()
    coin_flip_production(store)

    # A TF-IDF model beats a coin flip by far more than chance, on 166 test reviews.
    twin = {"candidates": [{"name": "twin", "family": "tfidf-logreg", "c": 2.5}]}
    better: ProductionDecision = train(instance, **twin).output_for_node("production_model")
    assert better.promoted, better.reason
    assert better.comparison.low > 0 and better.comparison.p_value < 1e-6
    assert better.champion.name == "coin-flip"
    assert better.production_version == better.challenger.version == "2"
    assert str(store.production_version().version) == "2"

    # Its slightly more regularised twin scores about the same: whatever the sign of the small
    # difference, it is within chance at the configured level, and production stays. (A higher
    # score that is not significant is tested on the pure function, test_auc_comparison.py.)
    run_config = {
        "ops": {
            "trained_models": {"config": QUICK_TRAINING},
            "production_model": {"config": {"significance_level": 0.01}},
        }
    }
    result = (
        definitions()
        .resolve_job_def("train_and_promote")
        .execute_in_process(instance=instance, run_config=run_config)
    )
    marginal: ProductionDecision = result.output_for_node("production_model")
    assert marginal.comparison.level == 0.01
    assert marginal.comparison.low < 0 < marginal.comparison.high
    assert not marginal.promoted, marginal.reason
    assert "99% interval" in marginal.reason
    assert _versions(store) == ["1", "2"]
    assert str(store.production_version().version) == "2"


@pytest.mark.slow  # a training run
def test_a_production_quality_gate_that_fails_is_shown(drops, instance) -> None:
    # A network that cannot learn in one epoch with one unit: it is refused, and there is no
    # production model for the gate to pass.
    result = train(instance, **WEAK_TRAINING)

    decision: ProductionDecision = result.output_for_node("production_model")
    assert not decision.promoted and decision.production_version is None
    (gate,) = [
        c for c in result.get_asset_check_evaluations() if c.check_name == "production_quality_gate"
    ]
    assert not gate.passed and gate.description == "no production model yet"
    assert "challenger refused" in decision.reason
    assert _versions(MlflowStore.default()) == []  # a refused model is never registered


@pytest.mark.slow  # two training runs
def test_production_that_fails_the_gate_on_new_data_is_shown(data_dir, drops, instance) -> None:
    # Production learned the sample drops; then both come again with every label the other way
    # round. A challenger too weak to be promoted leaves production in place, scored on the new
    # test split below the floor: the blocking gate fails and says why.
    assert train(instance, **QUICK_TRAINING).success
    keys = ["reviews_sample-01", "reviews_sample-02"]
    for key in keys:
        flip_labels(data_dir / "landing" / f"{key}.csv")
    assert all(result.success for result in ingest(instance, keys).values())

    result = train(instance, **WEAK_TRAINING)

    assert not result.success  # the blocking check fails the run, which alerts
    decision: ProductionDecision = result.output_for_node("production_model")
    assert not decision.promoted and decision.production_version == "1"
    (gate,) = [
        c for c in result.get_asset_check_evaluations() if c.check_name == "production_quality_gate"
    ]
    assert not gate.passed
    assert gate.metadata["version"].value == "1"
    assert gate.metadata["roc_auc"].value < 0.5
    assert "ROC AUC" in gate.description and "majority baseline" in gate.description
    assert str(MlflowStore.default().production_version().version) == "1"


@pytest.mark.slow  # a training run
def test_a_drop_stored_again_unchanged_retrains_nothing(drops, instance) -> None:
    assert train(instance, **QUICK_TRAINING).success
    # A backfill of a drop: read and stemmed again, to the same content (and scored again).
    assert ingest(instance, ["reviews_sample-01"])["reviews_sample-01"].success
    before = mlflow_writes()
    request = retrain_sensor(instance)
    assert isinstance(request, dg.RunRequest)  # stems newer than the dataset: it looks

    result = train(instance, **request.run_config["ops"]["trained_models"]["config"])

    assert result.success
    built = {m.asset_key.path[-1] for m in result.get_asset_materialization_events()}
    assert built == {"padded_dataset"}  # to the same fingerprint: nothing trained or decided
    assert mlflow_writes() == before
    assert isinstance(retrain_sensor(instance), dg.SkipReason)

    # Candidates stored after the last decision (that decision failed, say): the next such run
    # trains and decides.
    instance.report_runless_asset_event(dg.AssetMaterialization("trained_models"))
    again = train(instance, **request.run_config["ops"]["trained_models"]["config"])
    built = {m.asset_key.path[-1] for m in again.get_asset_materialization_events()}
    assert again.success and built == {"padded_dataset", "trained_models", "production_model"}


def test_a_review_longer_than_any_export_is_cut_and_named_not_padded_to(
    data_dir: Path, instance
) -> None:
    """A cell that swallowed a sheet once padded every review to its length (53 GiB asked for)."""
    import pandas as pd

    [first, _] = write_sample_drops(data_dir / "landing", drops=2, rows_per_drop=600)
    reviews = pd.read_csv(first, index_col=0)
    # Three stems a sentence, in the training split (a longer one elsewhere is cut as well).
    sentences = next(n for n in range(300, 400) if split_of("Lovely soft fabric. " * n) == "train")
    reviews.iloc[7, reviews.columns.get_loc("Review Text")] = "Lovely soft fabric. " * sentences
    reviews.to_csv(first)
    ingest(instance, ["reviews_sample-01", "reviews_sample-02"])

    result = train(instance, **QUICK_TRAINING)

    assert result.success
    built = result.asset_materializations_for_node("padded_dataset")[0].metadata
    assert built["sequence_length"].value == MAX_SEQUENCE_LENGTH
    assert built["reviews_cut"].value == 1
    review_id = reviews.index[7]
    said = [entry.user_message for entry in instance.all_logs(result.run_id)]
    assert any(
        "1 review(s) have more than 200 stems" in line
        and f"drop reviews_sample-01, review id {review_id}, {3 * sentences} stems" in line
        for line in said
    ), said


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


def test_settings_left_empty_take_the_family_defaults_even_for_the_seed() -> None:
    (planned,) = TrainingConfig(candidates=[CandidateConfig(name="e", family="seed-keras")]).build()

    assert (planned.candidate.embedding_dim, planned.candidate.batch_size) == (32, 32)


@pytest.mark.parametrize(
    ("candidates", "message"),
    [
        (
            [{"name": "x", "family": "tfidf-nb", "embedding_dim": 8}],
            "candidate 'x': a tfidf-nb candidate has no setting 'embedding_dim'",
        ),
        (
            [{"name": "x", "family": "tfidf-nb"}, {"name": "x", "family": "ngram-mlp"}],
            "each candidate needs a name of its own; given twice: x",
        ),
        ([{"name": "x", "family": "bert"}], "candidate 'x': unknown candidate family 'bert'"),
        # An empty line-up stored no candidates over the last ones, and the decision then failed
        # on max() of nothing (a Dagster review); a setting no model trains with failed halfway.
        ([], "List should have at least 1 item"),
        ([{"name": "x", "family": "tfidf-nb", "c": -1}], "Input should be greater than 0"),
    ],
)
def test_a_configuration_that_cannot_train_is_refused_before_training(
    candidates, message, drops, data_dir: Path, instance
) -> None:
    result = train(instance, candidates=candidates)

    assert not result.success
    (failure,) = [e for e in result.all_events if e.is_step_failure]
    assert failure.step_key == "trained_models"
    error, said = failure.step_failure_data.error, []
    while error is not None:  # the config's error, maybe as the cause of Dagster's
        said.append(error.message)
        error = error.cause
    assert any(message in line for line in said), said
    assert not (data_dir / "mlflow").exists()  # no candidate began


def _two_versions_the_first_in_production(store: MlflowStore) -> tuple[str, str]:
    """Two coin-flip versions of two runs (registering one run's model twice gives its one
    version); the first is production."""
    first, other = coin_flip_version(store), coin_flip_version(store)
    store.set_production(first)
    return first, other


@pytest.mark.slow  # a training run
def test_production_moved_during_the_decision_is_never_overwritten(
    drops, instance, monkeypatch
) -> None:
    from sentiment_assets.lib import production

    store = MlflowStore.default()
    first, other = _two_versions_the_first_in_production(store)
    score = production.score_model

    def score_while_another_decision_moves_the_alias(model, reviews, **kwargs):
        if kwargs["version"] == first:  # scoring the champion: another run promotes meanwhile
            store.set_production(other)
        return score(model, reviews, **kwargs)

    monkeypatch.setattr(production, "score_model", score_while_another_decision_moves_the_alias)
    registered = []
    register = MlflowStore.register_version

    def register_and_count(self, *args, **kwargs):
        registered.append(args)
        return register(self, *args, **kwargs)

    monkeypatch.setattr(MlflowStore, "register_version", register_and_count)
    result = train(instance, **QUICK_TRAINING)

    # The TF-IDF challenger beat the coin flip it was compared with, but production moved: the
    # decision fails, registers nothing (not even for a moment), and leaves the other decision's
    # alias alone.
    _assert_the_other_decision_stands(result, store, first, other)
    assert registered == []


@pytest.mark.slow  # a training run
def test_production_moved_after_the_challenger_was_registered_unregisters_it(
    drops, instance, monkeypatch
) -> None:
    store = MlflowStore.default()
    first, other = _two_versions_the_first_in_production(store)
    register = MlflowStore.register_version

    def register_while_another_decision_moves_the_alias(self, *args, **kwargs):
        version = register(self, *args, **kwargs)
        self.set_production(other)  # between registering and the last look at the alias
        return version

    monkeypatch.setattr(
        MlflowStore, "register_version", register_while_another_decision_moves_the_alias
    )
    result = train(instance, **QUICK_TRAINING)

    # The other decision's alias stands, and the challenger registered for nothing is gone again.
    _assert_the_other_decision_stands(result, store, first, other)


def _assert_the_other_decision_stands(
    result: dg.ExecuteInProcessResult, store: MlflowStore, first: str, other: str
) -> None:
    """The decision failed on the alias moving from `first` to `other`, which it left alone, and
    the registry holds those two versions only."""
    assert not result.success
    assert "moved from version 1 to 2" in failure_message(result)
    assert str(store.production_version().version) == other
    assert _versions(store) == [first, other]
