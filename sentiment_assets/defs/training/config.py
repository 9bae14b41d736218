"""What `trained_models` trains and how much evidence `production_model` asks for, editable in the
launchpad."""

import dagster as dg
from pydantic import Field

from sentiment_assets.lib.production import DEFAULT_SIGNIFICANCE_LEVEL
from sentiment_assets.lib.training import PlannedCandidate
from sentiment_assets.model.candidates import DEFAULT_CANDIDATES, KerasTraining


class CandidateConfig(dg.Config):
    """One candidate; settings left empty take the family's defaults."""

    name: str
    family: str = Field(description="seed-keras, tfidf-logreg, tfidf-nb or ngram-mlp")
    refit: bool | None = Field(
        default=None,
        description="After the threshold is tuned on validation, fit again on train+validation "
        "for the logged model; empty: the family's default (tfidf-logreg and tfidf-nb refit).",
    )
    embedding_dim: int | None = Field(default=None, description="seed-keras")
    batch_size: int | None = Field(default=None, description="seed-keras, ngram-mlp")
    c: float | None = Field(
        default=None, description="tfidf-logreg, tfidf-nb: inverse regularisation"
    )
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

    def build(self) -> list[PlannedCandidate]:
        """Fresh, untrained candidates as configured, each with whether it is refitted."""
        from sentiment_assets.lib.training import plan
        from sentiment_assets.model.candidates import make_candidate

        training = KerasTraining(self.epochs, self.patience, self.seed)
        return [
            plan(
                make_candidate(
                    spec.family,
                    spec.name,
                    training,
                    **spec.model_dump(exclude={"name", "family", "refit"}, exclude_none=True),
                ),
                spec.refit,
            )
            for spec in self.candidates
        ]


class PromotionConfig(dg.Config):
    """How much evidence moves the production alias; editable in the launchpad."""

    significance_level: float = Field(
        default=DEFAULT_SIGNIFICANCE_LEVEL,
        gt=0,
        lt=1,
        description="The challenger replaces production only when its test ROC AUC is higher and "
        "DeLong's paired test on the same test reviews gives a two-sided p-value below this level "
        "(equivalently, the 1 - level interval of the difference lies above zero). Lower asks for "
        "more evidence; the first model needs only the quality gate.",
    )
