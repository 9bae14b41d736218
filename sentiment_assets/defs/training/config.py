"""What `trained_models` trains, editable in the launchpad."""

import dagster as dg
from pydantic import Field

from sentiment_assets.model.candidates import DEFAULT_CANDIDATES, Candidate, KerasTraining


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

    def build(self) -> list[Candidate]:
        """Fresh, untrained candidates as configured."""
        from sentiment_assets.model.candidates import make_candidate

        training = KerasTraining(self.epochs, self.patience, self.seed)
        return [
            make_candidate(
                spec.family,
                spec.name,
                training,
                **spec.model_dump(exclude={"name", "family"}, exclude_none=True),
            )
            for spec in self.candidates
        ]
