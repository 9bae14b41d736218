"""The promotion protocol against the registry: the challenger and the production model scored on
the same reviews, the rule's verdict (`production.decide`), and the alias moved only to a version
registered with its evidence, and only if nobody moved it meanwhile.

Failures of the store leave as `MlflowStoreError` saying what they left as it was; another
decision that moved the alias first leaves as `ProductionMoved`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from sentiment_assets.lib import production
from sentiment_assets.lib.live_gap import latest_live, live_gap
from sentiment_assets.lib.monitoring import scorable
from sentiment_assets.lib.production import ProductionDecision
from sentiment_assets.lib.store_faults import MlflowStoreError
from sentiment_assets.lib.tracking import DAGSTER_RUN_TAG, PROMOTION_PENDING_TAG, MlflowStore
from sentiment_assets.model.stems import Corpus

if TYPE_CHECKING:
    import pandas as pd
    from mlflow.entities.model_registry import ModelVersion

    from sentiment_assets.lib.drift import Thresholds
    from sentiment_assets.lib.monitoring import LiveQuality
    from sentiment_assets.lib.training import CandidateResult

STEP = "production_model"


def promote(
    store: MlflowStore,
    best: CandidateResult,
    reviews: pd.DataFrame,
    live: list[LiveQuality],
    *,
    level: float,
    thresholds: Thresholds,
    run_id: str,
    run_ended: Callable[[str], bool],
    log: Callable[[str], None],
    warn: Callable[[str], None] | None = None,
) -> ProductionDecision:
    """Decide on the challenger `best` (`production.choose_challenger`) against the version behind
    the alias, on the test split's `reviews` (those a model scores, `monitoring.scorable`), and
    carry the decision out; the live records (`live`) give the live gap. `run_id` (the Dagster
    run) is tagged on a promoted version; `run_ended` tells whether a Dagster run has ended
    (`discard_abandoned`). `log` takes what the decision did, `warn` (by default `log`) what a
    person should see besides: a version deleted for a run that never moved the alias to it, a
    decision the challenger's run or its training's run lacks."""
    warn = warn or (lambda message: log(f"Warning: {message}"))
    latest = latest_live(live, thresholds)
    reviews = reviews[scorable(reviews)]
    with store.failures_explained(STEP, "the production alias was left where it is"):
        current = store.production_version()
        discard_abandoned(store, current, run_ended, warn)
        challenger, challenger_answers = production.score_model(
            store.load_model(best.model_uri),
            reviews,
            name=best.name,
            version=None,
            run_id=best.run_id,
        )
        champion = comparison = f1 = champion_answers = None
        labels = reviews[Corpus.LABEL].to_numpy()
        uncompared = production.comparison_problem(labels) if current is not None else None
        if current is not None:
            version = str(current.version)
            champion, champion_answers = production.score_model(
                store.load_model(store.version_uri(version)),
                reviews,
                name=store.candidate_name(current.run_id),
                version=version,
                run_id=current.run_id,
            )
            if uncompared is None:
                comparison = production.compare_roc_auc(
                    labels,
                    challenger_answers.probabilities,
                    champion_answers.probabilities,
                    level=level,
                )
                f1 = production.compare_f1(
                    labels, challenger_answers.labels, champion_answers.labels, level=level
                )
        gap = None
        if latest is not None:
            gap = live_gap(
                latest,
                reviews,
                challenger_answers.probabilities,
                champion_answers.probabilities if champion_answers is not None else None,
                challenger.test.roc_auc,
                thresholds,
            )
            log(f"Live gap: {gap.summary()}")
        verdict = production.decide(challenger, comparison, uncompared, f1)
        if verdict.promote:
            # The evidence goes on the version before the alias moves: if the step fails after
            # the move (storing this decision on a full disk, say), the registry still says why.
            evidence = production.promotion_tags(verdict, challenger, champion, comparison, f1)
            evidence[DAGSTER_RUN_TAG] = run_id
            evidence[PROMOTION_PENDING_TAG] = "true"
            expected = champion.version if champion is not None else None
            version = _register_unless_moved(
                store, best.model_uri, best.run_id, evidence, expected, verdict.reason
            )
            challenger = challenger.model_copy(update={"version": version})
    if verdict.promote:
        with store.failures_explained(STEP, "every value stored before is unchanged"):
            store.move_production(version)
        moved = f"the alias moved to version {version}, which keeps its {PROMOTION_PENDING_TAG} tag"
        with store.failures_explained(STEP, f"{moved} until the next decision clears it"):
            store.clear_pending(version)
        moved_from = f" from version {champion.version}" if champion is not None else ""
        log(
            f"Moved the production alias{moved_from} to version {version}; the evidence is on "
            "that version's tags"
        )
    held = challenger if verdict.promote else champion
    held_version = held.version if held is not None else None
    tags = production.decision_tags(verdict, held_version, run_id)
    records = {"the challenger's run": (best.run_id, tags)}
    if best.training_run_id is not None:  # the training's run: which candidate, and how it went
        records["the training's run"] = (
            best.training_run_id,
            {**tags, "decision.challenger": best.name},
        )
    for which, (mlflow_run, run_tags) in records.items():
        try:
            with store.failures_explained(STEP, f"the decision stands; {which} lacks it"):
                store.tag_run(mlflow_run, run_tags)
        except MlflowStoreError as err:
            # The decision is made and carried out: its record in a run is for people to read.
            warn(str(err))
    log(f"{'Promoted' if verdict.promote else 'Kept'}: {verdict.reason}")
    return ProductionDecision(
        promoted=verdict.promote,
        reason=verdict.reason,
        challenger=challenger,
        champion=champion,
        comparison=comparison,
        f1_comparison=f1,
        production_version=held_version,
        live_gap=gap,
    )


def _register_unless_moved(
    store: MlflowStore,
    model_uri: str,
    run_id: str,
    evidence: dict[str, str],
    expected: str | None,
    reason: str,
) -> str:
    """The challenger's registered version, with the decision's `reason` as its description, if
    the alias still names `expected` (the version compared against) before and after
    registering; else `ProductionMoved` (or the store's failure), and the version registered
    meanwhile is deleted again (only promoted versions stay registered). MLflow has no
    conditional alias update: this narrows the window to the moment between the last read and
    the move (two training runs may overlap where the pool allows it)."""
    store.expect_production(expected)
    version = store.register_version(model_uri, run_id, evidence)
    try:
        store.expect_production(expected)
        store.describe_version(version, reason)
    except BaseException:
        # Moved meanwhile, or the store failed: the version will not take production now. Left
        # registered if the store refuses this too; `discard_abandoned` deletes it later.
        store.discard_version(version)
        raise
    return version


def discard_abandoned(
    store: MlflowStore,
    current: ModelVersion | None,
    run_ended: Callable[[str], bool],
    log: Callable[[str], None],
) -> None:
    """Delete each version registered for a promotion whose Dagster run ended before the alias
    moved to it (killed, or failed, between registering and moving), so that only versions that
    held production stay registered with their evidence. The version behind the alias did get
    the move (its mark was not cleared): only its mark goes. A version whose run is unknown here
    or still runs is left alone."""
    held = str(current.version) if current is not None else None
    for pending in store.pending_versions():
        version = str(pending.version)
        if version == held:
            store.clear_pending(version)
            continue
        run = pending.tags.get(DAGSTER_RUN_TAG)
        if not run or not run_ended(run):
            continue
        # Read again just before deleting: a decision that moved the alias meanwhile keeps it.
        now = store.production_version()
        if now is not None and str(now.version) == version:
            continue
        if store.discard_version(version):
            log(
                f"Deleted version {version}: registered for a promotion by Dagster run {run}, "
                "which ended without moving the alias to it"
            )
