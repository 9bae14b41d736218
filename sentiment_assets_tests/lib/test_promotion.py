"""The promotion protocol against a registry stub: which scores the live gap judges, and which
pending versions the next decision deletes."""

from contextlib import contextmanager

import numpy as np
import pandas as pd
import pytest
from mlflow.entities.model_registry import ModelVersion, ModelVersionTag

from sentiment_assets.lib.production import SANITY_REVIEWS
from sentiment_assets.lib.promotion import discard_abandoned, promote
from sentiment_assets.lib.tracking import DAGSTER_RUN_TAG, PROMOTION_PENDING_TAG
from sentiment_assets.model import predictions as p
from sentiment_assets.model.stems import Corpus
from sentiment_assets_tests.lib import builders
from sentiment_assets_tests.lib.builders import PROBABILITIES, THRESHOLDS


def _version(version: str, pending_for_run: str | None = None) -> ModelVersion:
    """A registered version; with a Dagster run, one that run registered for a promotion."""
    tags = {}
    if pending_for_run is not None:
        tags = {DAGSTER_RUN_TAG: pending_for_run, PROMOTION_PENDING_TAG: "true"}
    return ModelVersion(
        "sentiment",
        version,
        0,
        run_id=f"run-{version}",
        tags=[ModelVersionTag(k, v) for k, v in tags.items()],
    )


class _Model:
    """A pyfunc stand-in: a fixed probability per review text, every sanity review right."""

    def __init__(self, probabilities: dict[str, float]) -> None:
        self.probabilities = probabilities | {t: 0.9 * y + 0.05 for t, y in SANITY_REVIEWS.items()}

    def predict(self, reviews: pd.DataFrame) -> pd.DataFrame:
        probability = np.array([self.probabilities[t] for t in reviews[p.TEXT_COLUMN]])
        return pd.DataFrame(
            {p.PROBABILITY_COLUMN: probability, p.LABEL_COLUMN: (probability >= 0.5).astype(int)}
        )


class _Registry:
    """The store methods `promote` uses, over versions held in memory. `production` is what each
    read of the alias returns, in turn (the last one from then on)."""

    def __init__(
        self,
        production: list[ModelVersion | None],
        pending: list[ModelVersion] | None = None,
        models: dict[str, _Model] | None = None,
    ) -> None:
        self.production = production
        self.pending = pending or []
        self.models = models or {}
        self.discarded: list[str] = []
        self.moved: list[str] = []

    @contextmanager
    def failures_explained(self, step: str, outcome: str):
        yield

    def production_version(self) -> ModelVersion | None:
        return self.production.pop(0) if len(self.production) > 1 else self.production[0]

    def pending_versions(self) -> list[ModelVersion]:
        return self.pending

    def load_model(self, uri: str) -> _Model:
        return self.models[uri]

    def version_uri(self, version: str) -> str:
        return f"models:/sentiment/{version}"

    def candidate_name(self, run_id: str) -> str:
        return run_id

    def expect_production(self, expected: str | None) -> None:
        pass

    def register_version(self, model_uri: str, run_id: str, evidence: dict[str, str]) -> str:
        return "4"

    def describe_version(self, version: str, description: str) -> None:
        self.described = (version, description)

    def tag_run(self, run_id: str, tags: dict[str, str]) -> None:
        self.tagged = (run_id, tags)

    def move_production(self, version: str) -> None:
        self.moved.append(version)

    def clear_pending(self, version: str) -> None:
        pass

    def discard_version(self, version: str) -> bool:
        self.discarded.append(version)
        return True


def test_the_live_gap_judges_the_challengers_scores_and_productions_apart() -> None:
    # The test split: three reviews of the live shortfall's drop "d", three of another drop.
    reviews = pd.DataFrame(
        {
            Corpus.TEXT: [f"review {i}" for i in range(6)],
            Corpus.TITLE: [None] * 6,
            Corpus.LABEL: [0, 1, 1, 0, 1, 0],
            Corpus.DROP: ["d", "d", "d", "other", "other", "other"],
        }
    )
    texts, labels = reviews[Corpus.TEXT], reviews[Corpus.LABEL]
    right = {t: 0.1 + 0.8 * y for t, y in zip(texts, labels, strict=True)}
    wrong = {t: 0.9 - 0.8 * y for t, y in zip(texts, labels, strict=True)}
    best = builders.candidate("challenger", 0.9, 0.9)
    # Version 3 holds production and scored drop "d" live, short of the floor.
    store = _Registry(
        [_version("3")],
        models={best.model_uri: _Model(right), "models:/sentiment/3": _Model(wrong)},
    )
    short = builders.quality(probabilities=[1 - x for x in PROBABILITIES])

    decision = promote(
        store,
        best,
        reviews,
        [short],
        level=0.05,
        thresholds=THRESHOLDS,
        run_id="dagster-run",
        run_ended=lambda run: False,
        log=lambda message: None,
    )

    gap = decision.live_gap
    assert gap.drop == "d" and gap.scored_by_version == "3" and gap.held_out_reviews == 3
    assert gap.challenger_roc_auc == 1.0 and gap.production_roc_auc == 0.0
    assert gap.closes is True
    assert decision.promoted and store.moved == ["4"]


def _split_scored_right(labels: list[int]) -> tuple[pd.DataFrame, dict[str, float]]:
    """A test split of drop "d" with these labels, and scores that rank it perfectly."""
    reviews = pd.DataFrame(
        {
            Corpus.TEXT: [f"review {i}" for i in range(len(labels))],
            Corpus.TITLE: [None] * len(labels),
            Corpus.LABEL: labels,
            Corpus.DROP: ["d"] * len(labels),
        }
    )
    return reviews, {f"review {i}": 0.1 + 0.8 * y for i, y in enumerate(labels)}


@pytest.mark.parametrize("not_recommended", [1, 0])
def test_a_test_split_too_small_to_compare_keeps_production_with_a_decision(
    not_recommended: int,
) -> None:
    """One review of a label: DeLong's test cannot compare, and the step failed with a traceback
    and no decision (a review); production stays, saying why: the test split, not the challenger
    (with none of a label, the gate refused the challenger for the split's fault)."""
    reviews, right = _split_scored_right([0] * not_recommended + [1] * (6 - not_recommended))
    best = builders.candidate("challenger", 0.9, 0.9)
    store = _Registry(
        [_version("3")],
        models={best.model_uri: _Model(right), "models:/sentiment/3": _Model(right)},
    )

    decision = promote(
        store,
        best,
        reviews,
        [],
        level=0.05,
        thresholds=THRESHOLDS,
        run_id="dagster-run",
        run_ended=lambda run: False,
        log=lambda message: None,
    )

    assert not decision.promoted and store.moved == []
    assert decision.production_version == "3" and decision.comparison is None
    assert decision.reason == (
        "not compared with production: a paired ROC AUC test needs two test reviews of each "
        f"label, and the test split holds {not_recommended} 'not recommended' and "
        f"{6 - not_recommended} 'recommended'"
    )
    assert store.tagged[1]["decision"] == "kept"


def test_a_version_deleted_for_a_run_that_never_moved_the_alias_is_a_warning() -> None:
    """What sentiment-run shows: version numbers jumped from 1 to 3 without a word."""
    reviews, scores = _split_scored_right([0, 1, 0, 1])
    best = builders.candidate("challenger", 0.9, 0.9)
    pending = _version("2", pending_for_run="killed-run")
    store = _Registry(
        [_version("1")],
        pending=[pending],
        models={best.model_uri: _Model(scores), "models:/sentiment/1": _Model(scores)},
    )
    logged, warned = [], []

    promote(
        store,
        best,
        reviews,
        [],
        level=0.05,
        thresholds=THRESHOLDS,
        run_id="dagster-run",
        run_ended=lambda run: run == "killed-run",
        log=logged.append,
        warn=warned.append,
    )

    assert store.discarded == ["2"]
    assert warned == [
        "Deleted version 2: registered for a promotion by Dagster run killed-run, which ended "
        "without moving the alias to it"
    ]
    assert not any("Deleted" in line for line in logged)


@pytest.mark.parametrize("refusing", ["challenger", "training-run"])
def test_each_run_that_refuses_the_decision_is_named_and_the_other_still_gets_it(
    refusing: str, tmp_path
) -> None:
    """The decision goes on the challenger's run and on its training's run (their parent); a store
    that refuses one is a warning naming that one, and the other run still records it."""
    from mlflow.exceptions import MlflowException

    from sentiment_assets.lib.tracking import MlflowStore

    explaining = MlflowStore(f"sqlite:///{tmp_path / 'unused.db'}")  # never opened

    class Refusing(_Registry):
        def failures_explained(self, step: str, outcome: str):
            return explaining.failures_explained(step, outcome)

        def tag_run(self, run_id: str, tags: dict[str, str]) -> None:
            if run_id == refusing:
                raise MlflowException("database is locked")
            self.runs_tagged[run_id] = tags

    reviews, scores = _split_scored_right([0, 1, 0, 1])
    best = builders.candidate("challenger", 0.9, 0.9).model_copy(
        update={"training_run_id": "training-run"}
    )
    store = Refusing([None], models={best.model_uri: _Model(scores)})
    store.runs_tagged = {}
    warned = []

    decision = promote(
        store,
        best,
        reviews,
        [],
        level=0.05,
        thresholds=THRESHOLDS,
        run_id="dagster-run",
        run_ended=lambda run: False,
        log=lambda message: None,
        warn=warned.append,
    )

    assert decision.promoted
    (tagged,) = store.runs_tagged
    assert tagged != refusing and store.runs_tagged[tagged]["decision"] == "promoted"
    assert store.runs_tagged[tagged].get("decision.challenger") == (
        "challenger" if tagged == "training-run" else None
    )
    which = "the training's run" if refusing == "training-run" else "the challenger's run"
    (warning,) = warned
    assert "database is locked" in warning
    assert warning.endswith(f"the decision stands; {which} lacks it")


def test_a_pending_version_the_alias_moved_to_meanwhile_is_not_discarded() -> None:
    # Version 2's run has ended, but between the first read of the alias (version 1) and the
    # delete, its decision moved the alias to it.
    pending = _version("2", pending_for_run="ended-run")
    store = _Registry([_version("1"), pending], pending=[pending])

    discard_abandoned(store, store.production_version(), lambda run: True, lambda message: None)

    assert store.discarded == []
    # Had the alias stayed on version 1, version 2 would have gone.
    unmoved = _Registry([_version("1")], pending=[pending])
    discard_abandoned(unmoved, unmoved.production_version(), lambda run: True, lambda m: None)
    assert unmoved.discarded == ["2"]
