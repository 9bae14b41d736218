"""From stems to production: padded_dataset -> trained_models -> production_model."""

from collections.abc import Iterator
from typing import Any

import dagster as dg
import pandas as pd

from sentiment_assets.defs.asset_keys import PADDED_DATASET
from sentiment_assets.defs.monitoring.resources import MonitoringThresholds
from sentiment_assets.defs.platform.concurrency import MLFLOW_POOL
from sentiment_assets.defs.platform.io_manager import ArtifactIOManager
from sentiment_assets.defs.platform.metadata import (
    confusion_markdown,
    image_markdown,
    label_balance,
    metric_numbers,
    metrics_markdown,
)
from sentiment_assets.defs.platform.resources import (
    MlflowTracking,
    end_abandoned_runs,
    run_ended,
    run_tags,
    store_failures,
)
from sentiment_assets.defs.training.config import PromotionConfig, TrainingConfig
from sentiment_assets.defs.training.dataset_inputs import decided_on_stored
from sentiment_assets.lib import production
from sentiment_assets.lib.monitoring import LiveQuality
from sentiment_assets.lib.production import AucComparison, F1Comparison, ProductionDecision
from sentiment_assets.lib.promotion import promote
from sentiment_assets.lib.store_faults import MlflowStoreError, ProductionMoved
from sentiment_assets.lib.tracking import MlflowStore, model_uri
from sentiment_assets.lib.training import CandidateResult, TrainedModels
from sentiment_assets.lib.versions import code_version, training_version, value_version
from sentiment_assets.model.dataset import (
    MAX_SEQUENCE_LENGTH,
    SPLITS,
    PaddedDataset,
    build_dataset,
    corpus_of,
    trainability_problem,
)
from sentiment_assets.model.stems import Corpus


@dg.asset(kinds={"numpy", "parquet"}, code_version=code_version(__name__, "padded_dataset"))
def padded_dataset(
    context: dg.AssetExecutionContext, stemmed_corpus: dict[str, pd.DataFrame]
) -> dg.MaterializeResult[PaddedDataset]:
    """Every drop's reviews split into train/validation/test, encoded with the training vocabulary."""
    corpus = corpus_of(stemmed_corpus)
    dataset = build_dataset(corpus)
    problem = trainability_problem(dataset)
    if problem:
        raise dg.Failure(description=problem, allow_retries=False)
    cut = dataset.cut_reviews()
    if len(cut):
        longest = cut.loc[cut[Corpus.STEMS].str.split().map(len).idxmax()]
        context.log.warning(
            f"{len(cut)} review(s) have more than {MAX_SEQUENCE_LENGTH} stems, which no export "
            f"cut at 508 characters holds: the Keras candidates read their first "
            f"{dataset.sequence_length} (the longest: drop "
            f"{longest[Corpus.DROP]}, review id {longest[Corpus.REVIEW_ID]}, "
            f"{len(longest[Corpus.STEMS].split())} stems)"
        )
    splits = {
        name: {
            "rows": len(part := dataset.split_reviews(name)),
            **label_balance(part[Corpus.LABEL]),
        }
        for name in SPLITS
    }
    return dg.MaterializeResult(
        value=dataset,
        data_version=dg.DataVersion(dataset.fingerprint),
        metadata={
            "dagster/row_count": len(dataset.reviews),
            "drops": sorted(stemmed_corpus),
            "duplicates_dropped": len(corpus) - len(dataset.reviews),
            "splits": dg.MetadataValue.md(pd.DataFrame(splits).T.to_markdown()),
            **{f"{name}_rows": split["rows"] for name, split in splits.items()},
            **{
                f"{name}_not_recommended_share": split["not_recommended_share"]
                for name, split in splits.items()
            },
            "vocabulary_size": dataset.vocabulary.size,
            "sequence_length": dataset.sequence_length,
            "reviews_cut": len(cut),
            # The definition the vocabulary-drift check compares each drop with.
            "test_oov_rate": round(dataset.vocabulary.oov_rate(dataset.split_reviews("test")), 4),
            "fingerprint": dataset.fingerprint,
        },
    )


@dg.asset(
    kinds={"keras", "scikitlearn", "mlflow"},
    pool=MLFLOW_POOL,
    code_version=code_version(__name__, "trained_models"),
    output_required=False,  # not materialized when `only_new_data` finds the dataset unchanged
)
def trained_models(
    context: dg.AssetExecutionContext,
    config: TrainingConfig,
    padded_dataset: PaddedDataset,
    mlflow: MlflowTracking,
    io_manager: dg.ResourceParam[ArtifactIOManager],
) -> Iterator[dg.MaterializeResult[TrainedModels]]:
    """Candidate models, each its own MLflow run with its logged model, all child runs of one
    run for the training (which the decision is tagged on too); only the one that
    `production_model` promotes becomes a registered version. Its data version stands for the
    dataset and the training settings, so new settings count as a change."""
    from sentiment_assets.lib.training import train_candidates

    if config.only_new_data and decided_on_stored(context.instance):
        stored = io_manager.stored_value(context.asset_key, None, TrainedModels)
        if stored is not None and stored.data_version == padded_dataset.fingerprint:
            context.log.info(
                "The dataset is the one the stored candidates were trained on (fingerprint "
                f"{padded_dataset.fingerprint[:12]}), and production was decided on them: "
                "nothing trained, production left as it is"
            )
            return
    store = mlflow.store()

    def report(result: CandidateResult) -> None:
        context.log.info(
            f"{result.name}: validation ROC AUC {result.validation.roc_auc:.4f}, "
            f"{result.training_seconds:.1f} s, logged as {result.model_uri}"
        )

    with store_failures(store, "trained_models", "earlier values and production are as they were"):
        end_abandoned_runs(context, store)
        trained, curves = train_candidates(
            padded_dataset,
            config.build(),
            store,
            tags=run_tags(context),
            on_trained=report,
            dataset_uri=io_manager.stored_uri(PADDED_DATASET, None),
        )
    results = trained.candidates
    # The training's MLflow run first (the candidates' runs are its children), then each of them.
    runs = {f"mlflow_run_{r.name}": (r.experiment_id, r.run_id) for r in results}
    if trained.training_run_id is not None:
        runs = {"mlflow_training_run": (results[0].experiment_id, trained.training_run_id), **runs}
    yield dg.MaterializeResult(
        value=trained,
        data_version=dg.DataVersion(training_version(padded_dataset.fingerprint, config)),
        metadata={
            "validation_metrics": metrics_markdown({r.name: r.validation for r in results}),
            "test_metrics": metrics_markdown({r.name: r.test for r in results}),
            **_candidate_numbers(results),
            **{key: dg.MetadataValue.url(store.run_url(*run)) for key, run in runs.items()},
            **{f"confusion_{r.name}": confusion_markdown(r.test) for r in results},
            **{
                f"training_curves_{name}": image_markdown(png, name) for name, png in curves.items()
            },
            "dataset_fingerprint": padded_dataset.fingerprint,  # padded_dataset's data version
        },
    )


@dg.asset(
    kinds={"mlflow"},
    pool=MLFLOW_POOL,
    code_version=code_version(__name__, "production_model"),
)
def production_model(
    context: dg.AssetExecutionContext,
    config: PromotionConfig,
    trained_models: TrainedModels,
    padded_dataset: PaddedDataset,
    live_quality: dict[str, LiveQuality] | None,
    mlflow: MlflowTracking,
    monitoring: MonitoringThresholds,
) -> dg.MaterializeResult[ProductionDecision]:
    """The registry's `production` alias: moved to the best new candidate only when it is better
    beyond chance; only a promoted candidate becomes a registered version. It also reports how the
    challenger does on the latest drop production was scored on live (`live_quality`, none before
    the first drop is scored). The protocol is `lib.promotion.promote`."""
    store = mlflow.store()
    best = production.choose_challenger(trained_models.candidates)
    try:
        decision = promote(
            store,
            best,
            padded_dataset.split_reviews("test"),
            list((live_quality or {}).values()),
            level=config.significance_level,
            thresholds=monitoring.thresholds(),
            run_id=context.run.run_id,
            run_ended=lambda run_id: run_ended(context.instance, run_id),
            log=context.log.info,
            warn=context.log.warning,  # on the console of sentiment-run too
        )
    except MlflowStoreError as err:
        raise dg.Failure(description=str(err)) from err
    except ProductionMoved as moved:
        raise dg.Failure(description=str(moved), allow_retries=False) from moved
    return dg.MaterializeResult(
        value=decision,
        data_version=dg.DataVersion(value_version(decision)),
        metadata=_decision_metadata(decision, best, store),
    )


def _candidate_numbers(results: list[CandidateResult]) -> dict[str, float | int]:
    """Each candidate's headline figures, training time and epochs as numbers, for the UI's plots."""
    numbers: dict[str, float | int] = {}
    for r in results:
        numbers |= metric_numbers(f"{r.name}_validation", r.validation, _PLOTTED)
        numbers |= metric_numbers(f"{r.name}_test", r.test, _PLOTTED)
        numbers[f"{r.name}_training_seconds"] = round(r.training_seconds, 3)
        numbers[f"{r.name}_epochs_trained"] = r.epochs_trained
    return numbers


# The figures plotted per candidate; the tables beside them hold the rest.
_PLOTTED = ("roc_auc", "not_recommended_f1")


def _interval(comparison: AucComparison | F1Comparison, kind: str) -> str:
    return (
        f"{comparison.low:+.4f} to {comparison.high:+.4f} "
        f"({(1 - comparison.level) * 100:g}% {kind})"
    )


def _decision_metadata(
    decision: ProductionDecision, best: CandidateResult, store: MlflowStore
) -> dict[str, Any]:
    scores = {"challenger": decision.challenger.test}
    if decision.champion is not None:
        scores[f"production v{decision.champion.version}"] = decision.champion.test
    registered = (
        f", registered as version {decision.challenger.version}" if decision.promoted else ""
    )
    metadata = {
        "decision": "promoted" if decision.promoted else "kept",
        "reason": decision.reason,
        "challenger": f"{best.name} (run {best.run_id}{registered})",
        "scores": metrics_markdown(scores),
        "challenger_run": dg.MetadataValue.url(store.run_url(best.experiment_id, best.run_id)),
        **metric_numbers("challenger_test", decision.challenger.test),
    }
    comparison = decision.comparison
    if comparison is not None:
        metadata |= {
            "roc_auc_difference": comparison.difference,
            "roc_auc_difference_interval": _interval(comparison, "confidence"),
            "p_value": comparison.p_value,
            "significance_level": comparison.level,
        }
    f1 = decision.f1_comparison
    if f1 is not None:
        metadata |= {
            "not_recommended_f1_difference": f1.difference,
            "not_recommended_f1_difference_interval": _interval(f1, "paired bootstrap"),
        }
    if decision.live_gap is not None:
        gap = decision.live_gap
        metadata |= {
            "live_gap": gap.summary(),
            "live_gap_drop": gap.drop,
            "live_gap_shortfall": "; ".join(gap.shortfall) or "none",
            "live_gap_challenger_roc_auc": gap.challenger_roc_auc,
        }
    held = decision.production
    if held is not None:
        metadata |= {
            "production_version": decision.production_version,
            **metric_numbers("production_test", held.test),
            "model_uri": model_uri(store.model_name),
            "production_version_url": dg.MetadataValue.url(
                store.model_version_url(decision.production_version)
            ),
            "sanity_predictions": dg.MetadataValue.md(
                pd.DataFrame([s.model_dump() for s in held.sanity]).to_markdown(index=False)
            ),
        }
    return metadata
