"""What `trained_models` trains and how much evidence `production_model` asks for, editable in the
launchpad."""

from typing import Any

import dagster as dg
from pydantic import Field, model_validator

from sentiment_assets.lib.production import DEFAULT_SIGNIFICANCE_LEVEL
from sentiment_assets.lib.training import PlannedCandidate, duplicate_names
from sentiment_assets.model.candidates import (
    DEFAULT_CANDIDATES,
    FAMILIES,
    KerasTraining,
    settings_problem,
)

_REFITTING = " and ".join(name for name, family in FAMILIES.items() if family.refits)


class CandidateConfig(dg.Config):
    """One candidate; settings left empty take the family's defaults."""

    name: str
    family: str = Field(description=", ".join(FAMILIES))
    refit: bool | None = Field(
        default=None,
        description="After the threshold is tuned on validation, fit again on train+validation "
        f"for the logged model; empty: the family's default ({_REFITTING} refit).",
    )
    # Bounded here, so that a value no model can train with is refused at launch, not halfway
    # through training with a library's error (a Dagster review: `c: -1`, `epochs: -3`).
    embedding_dim: int | None = Field(default=None, ge=1, description="seed-keras")
    batch_size: int | None = Field(default=None, ge=1, description="seed-keras, ngram-mlp")
    c: float | None = Field(
        default=None, gt=0, description="tfidf-logreg, tfidf-nb: inverse regularisation"
    )
    units: int | None = Field(default=None, ge=1, description="ngram-mlp: hidden units")
    dropout: float | None = Field(default=None, ge=0, lt=1, description="ngram-mlp")

    def settings(self) -> dict[str, Any]:
        """The family's settings given here (the others take the family's defaults)."""
        return self.model_dump(exclude={"name", "family", "refit"}, exclude_none=True)


class TrainingConfig(dg.Config):
    """Which candidates to train and how long; editable in the launchpad."""

    candidates: list[CandidateConfig] = Field(
        default_factory=lambda: [CandidateConfig(**c) for c in DEFAULT_CANDIDATES],
        min_length=1,
        description="At least one: an empty line-up would store no candidates over the last ones.",
    )
    epochs: int = Field(
        default=KerasTraining.max_epochs,
        ge=1,
        description="Upper bound; early stopping usually ends sooner.",
    )
    patience: int = Field(
        default=KerasTraining.patience, ge=0, description="Epochs without a better validation loss."
    )
    seed: int = KerasTraining.seed
    # Not a training setting (left out of the candidates' data version, `exclude`): whether to
    # train at all.
    only_new_data: bool = Field(
        default=False,
        exclude=True,
        description="Train only when the dataset differs from the one the stored candidates were "
        "trained on. The retraining sensor sets it, so a drop stored again unchanged (a backfill) "
        "trains nothing.",
    )

    @model_validator(mode="after")
    def _trainable(self) -> "TrainingConfig":
        """Refused when the step starts, before any candidate trains (a TypeError halfway
        through training otherwise)."""
        if problem := duplicate_names([spec.name for spec in self.candidates]):
            raise ValueError(problem)
        for spec in self.candidates:
            if problem := settings_problem(spec.family, spec.settings()):
                raise ValueError(f"candidate '{spec.name}': {problem}")
        return self

    def build(self) -> list[PlannedCandidate]:
        """Fresh, untrained candidates as configured, each with whether it is refitted."""
        from sentiment_assets.lib.training import plan
        from sentiment_assets.model.candidates import make_candidate

        training = KerasTraining(self.epochs, self.patience, self.seed)
        return [
            plan(make_candidate(spec.family, spec.name, training, **spec.settings()), spec.refit)
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
