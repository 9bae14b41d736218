"""From the dataset to production: trained_models -> production_model, tracked in MLflow."""

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import dagster as dg
import pandas as pd
from pydantic import Field

from sentiment_assets import registry
from sentiment_assets.candidates import DEFAULT_CANDIDATES
from sentiment_assets.dataset import PaddedDataset
from sentiment_assets.defs.concurrency import MLFLOW_POOL
from sentiment_assets.defs.data_assets import GROUP, WEEKLY_FRESHNESS
from sentiment_assets.defs.metadata import confusion_markdown, image_markdown, metrics_markdown
from sentiment_assets.defs.resources import MlflowTracking
from sentiment_assets.evaluation import classification_metrics
from sentiment_assets.plots import training_curves_png

# Reviews whose sentiment nobody disputes; the production model must get them right.
SANITY_REVIEWS = {
    "I will tell my friends for sure": 1,
    "The fabric ripped after one wash, I am returning it": 0,
}


class CandidateConfig(dg.Config):
    """One candidate; settings left empty take the family's defaults."""

    name: str
    family: str = Field(description="seed-keras, tfidf-logreg or ngram-mlp")
    embedding_dim: int | None = Field(default=None, description="seed-keras")
    batch_size: int | None = Field(default=None, description="seed-keras, ngram-mlp")
    c: float | None = Field(default=None, description="tfidf-logreg: inverse regularisation")
    units: int | None = Field(default=None, description="ngram-mlp: hidden units")
    dropout: float | None = Field(default=None, description="ngram-mlp")


class TrainingConfig(dg.Config):
    """Which candidates to train and how long; editable in the launchpad."""

    candidates: list[CandidateConfig] = Field(
        default_factory=lambda: [CandidateConfig(**c) for c in DEFAULT_CANDIDATES]
    )
    epochs: int = Field(default=50, description="Upper bound; early stopping usually ends sooner.")
    patience: int = Field(default=2, description="Epochs without a better validation loss.")
    seed: int = 42


@dg.asset(
    group_name=GROUP,
    kinds={"keras", "scikitlearn", "mlflow"},
    pool=MLFLOW_POOL,
)
def trained_models(
    context: dg.AssetExecutionContext,
    config: TrainingConfig,
    padded_dataset: PaddedDataset,
    mlflow: MlflowTracking,
) -> dg.Output[list[dict[str, Any]]]:
    """Candidate models, each its own MLflow run and a new registered model version."""
    from sentiment_assets.candidates import make_candidate, uses_tensorflow
    from sentiment_assets.models import KerasTraining
    from sentiment_assets.training import train_candidate

    training = KerasTraining(config.epochs, config.patience, config.seed)
    candidates = [
        make_candidate(
            spec.family,
            spec.name,
            training,
            **spec.model_dump(exclude={"name", "family"}, exclude_none=True),
        )
        for spec in config.candidates
    ]

    def train(candidate: Any) -> dict[str, Any]:
        tags = {
            "algorithm": candidate.family,
            "candidate": candidate.name,
            "dagster_run_id": context.run.run_id,
            "dagster_asset_key": context.asset_key.to_user_string(),
            "data_version": padded_dataset.fingerprint,
        }
        with mlflow.start_run(run_name=candidate.name, tags=tags) as run:
            result = train_candidate(
                padded_dataset, candidate, registered_model_name=mlflow.registered_model_name
            )
        result["run_url"] = mlflow.run_url(run.info.experiment_id, run.info.run_id)
        context.log.info(
            f"{candidate.name}: validation ROC AUC {result['validation']['roc_auc']:.4f}, "
            f"version {result['version']}, {result['training_seconds']:.1f} s"
        )
        return result

    # TensorFlow already uses both cores, so its candidates go one after another; the
    # single-threaded scikit-learn fit runs beside them instead of after them.
    groups = [
        [c for c in candidates if uses_tensorflow(c)],
        [c for c in candidates if not uses_tensorflow(c)],
    ]
    with ThreadPoolExecutor(max_workers=2) as pool:
        finished = pool.map(lambda group: [train(c) for c in group], groups)
        by_name = {r["candidate"]: r for group in finished for r in group}
    results = [by_name[c.name] for c in candidates]
    return dg.Output(
        results,
        metadata={
            "validation_metrics": metrics_markdown(
                {r["candidate"]: r["validation"] for r in results}
            ),
            "test_metrics": metrics_markdown({r["candidate"]: r["test"] for r in results}),
            **{f"mlflow_run_{r['candidate']}": dg.MetadataValue.url(r["run_url"]) for r in results},
            **{f"confusion_{r['candidate']}": confusion_markdown(r["test"]) for r in results},
            **{
                f"training_curves_{r['candidate']}": image_markdown(
                    training_curves_png(r["history"], r["candidate"]), r["candidate"]
                )
                for r in results
                if r["history"]
            },
            "data_version": padded_dataset.fingerprint,
        },
    )


def score(model: Any, reviews: pd.DataFrame) -> dict[str, float]:
    """Metrics of a logged model on raw test reviews, through its bundled preprocessing and with
    its own decision threshold."""
    frame = pd.DataFrame({"review_text": reviews["text"], "title": reviews["title"]})
    predictions = model.predict(frame)
    probabilities = predictions["probability"].to_numpy()
    return classification_metrics(
        reviews["label"].to_numpy(), probabilities, predicted=predictions["label"].to_numpy()
    )


@dg.asset(
    group_name=GROUP,
    kinds={"mlflow"},
    freshness_policy=WEEKLY_FRESHNESS,
    pool=MLFLOW_POOL,
)
def production_model(
    context: dg.AssetExecutionContext,
    trained_models: list[dict[str, Any]],
    padded_dataset: PaddedDataset,
    mlflow: MlflowTracking,
) -> dg.Output[dict[str, Any]]:
    """The registry's `production` alias: moved to the best new candidate only when it is better."""
    best = max(trained_models, key=lambda r: r["validation"][registry.SELECTION_METRIC])
    test_reviews = padded_dataset.split_reviews("test")
    client = mlflow.client()
    name = mlflow.registered_model_name

    challenger_model = mlflow.load_model(f"models:/{name}/{best['version']}")
    challenger = score(challenger_model, test_reviews)
    current = registry.production_version(client, name)
    champion_model = mlflow.load_model(registry.model_uri(name)) if current else None
    champion = score(champion_model, test_reviews) if champion_model is not None else None
    decision = registry.decide(challenger, champion)
    if decision.promote:
        client.set_registered_model_alias(name, registry.PRODUCTION_ALIAS, best["version"])
    champion_version = str(current.version) if current else None
    production_version = best["version"] if decision.promote else champion_version
    context.log.info(f"{'Promoted' if decision.promote else 'Kept'}: {decision.reason}")

    summary: dict[str, Any] = {
        "promoted": decision.promote,
        "reason": decision.reason,
        "challenger": {
            "candidate": best["candidate"],
            "version": best["version"],
            "test": challenger,
        },
        "champion": {"version": champion_version, "test": champion} if current else None,
        "production_version": production_version,
        "model_uri": registry.model_uri(name),
    }
    metadata: dict[str, Any] = {
        "decision": "promoted" if decision.promote else "kept",
        "reason": decision.reason,
        "challenger": f"{best['candidate']} (version {best['version']})",
        "scores": metrics_markdown(
            {
                f"challenger v{best['version']}": challenger,
                **({f"production v{champion_version}": champion} if current else {}),
            }
        ),
        "challenger_run": dg.MetadataValue.url(best["run_url"]),
    }
    production = challenger_model if decision.promote else champion_model
    if production is not None:
        sanity = production.predict(pd.DataFrame({"review_text": list(SANITY_REVIEWS)}))
        summary["sanity"] = [
            {"text": text, "expected": expected, "probability": float(p), "label": int(label)}
            for (text, expected), p, label in zip(
                SANITY_REVIEWS.items(), sanity["probability"], sanity["label"], strict=True
            )
        ]
        metadata.update(
            {
                "production_version": production_version,
                "model_uri": registry.model_uri(name),
                "production_version_url": dg.MetadataValue.url(
                    mlflow.model_version_url(production_version)
                ),
                "sanity_predictions": dg.MetadataValue.md(
                    pd.DataFrame(summary["sanity"]).to_markdown(index=False)
                ),
            }
        )
    return dg.Output(summary, metadata=metadata)
