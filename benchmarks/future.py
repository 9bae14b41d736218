"""Section 5: quality on future data. Each candidate is trained on every drop but the latest, the
way `trained_models` trains it, and scored on the latest drop, which it has never seen.

`python -m benchmarks.future` runs this section alone (`--help` for its options).
"""

from __future__ import annotations

import argparse
import copy
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from benchmarks.report import Summary, print_table, summary_table, verdict

if TYPE_CHECKING:
    import pandas as pd

    from sentiment_assets.lib.training import PlannedCandidate
    from sentiment_assets.model.dataset import PaddedDataset
    from sentiment_assets.model.evaluation import Metrics

# What the production model reaches on reviews it has never seen (issue 13).
FUTURE_TARGETS = (
    ("ROC AUC", "roc_auc", 0.965),
    ("accuracy", "accuracy", 0.92),
    ("F1 not recommended", "not_recommended_f1", 0.79),
)


@dataclass(frozen=True)
class FutureScore:
    """One candidate trained on the earlier drops: its validation figures (before any refit, which
    chose its threshold) and how the logged model scored the latest drop."""

    name: str
    family: str
    refit: bool
    threshold: float
    validation: Metrics
    future: Metrics
    fit_seconds: float
    refit_seconds: float | None


def time_ordered_evaluation(
    drops: Sequence[Path], candidates: Sequence[PlannedCandidate]
) -> tuple[PaddedDataset, pd.DataFrame, list[FutureScore]]:
    """Train every candidate on `drops` but the last (in time order) as the pipeline does, and
    score every review of the last drop (`score_unseen`); the training dataset, the latest drop's
    reviews and the scores."""
    if len(drops) < 2:
        raise ValueError(f"a time-ordered evaluation needs two drops or more, got {len(drops)}")
    *earlier, latest = drops
    dataset = drops_dataset(earlier)
    unseen = drops_dataset([latest], check=False).reviews
    return dataset, unseen, [score_unseen(dataset, unseen, planned) for planned in candidates]


def score_unseen(
    dataset: PaddedDataset, unseen: pd.DataFrame, planned: PlannedCandidate
) -> FutureScore:
    """Fit the candidate on `dataset` as `trained_models` does and score every unseen review
    through `Predictor`, the code that serves it."""
    from sentiment_assets.lib.training import fit_candidate
    from sentiment_assets.model.evaluation import classification_metrics
    from sentiment_assets.model.predictions import LABEL_COLUMN, PROBABILITY_COLUMN, Predictor
    from sentiment_assets.model.stems import Corpus

    fitted = fit_candidate(dataset, planned)
    predicted = Predictor(planned.candidate, fitted.threshold).predict(review_frame(unseen))
    future = classification_metrics(
        unseen[Corpus.LABEL].to_numpy(),
        predicted[PROBABILITY_COLUMN].to_numpy(),
        predicted=predicted[LABEL_COLUMN].to_numpy(),
    )
    return FutureScore(
        name=planned.candidate.name,
        family=planned.candidate.family,
        refit=planned.refit,
        threshold=fitted.threshold,
        validation=fitted.validation,
        future=future,
        fit_seconds=fitted.fit_seconds,
        refit_seconds=fitted.refit_seconds,
    )


def learning_curve(
    drops: Sequence[Path], planned: PlannedCandidate, shares: Sequence[float] = (0.25, 0.5, 0.75)
) -> pd.DataFrame:
    """How the candidate scores the latest drop when it learns from only the first share of the
    earlier drops' reviews (in time order) and from all of them: how much more data is worth. A
    share too small to train on (a split without both labels) is left out."""
    import pandas as pd

    *earlier, latest = drops
    corpus = stemmed_drops(earlier)
    unseen = drops_dataset([latest], check=False).reviews
    rows = []
    for share in (*shares, 1.0):
        try:
            dataset = dataset_of(corpus.iloc[: round(len(corpus) * share)], earlier)
        except ValueError:  # too few reviews for a split to hold both labels (small drops)
            if share == 1.0:
                raise
            continue
        fresh = planned._replace(candidate=copy.deepcopy(planned.candidate))
        score = score_unseen(dataset, unseen, fresh)
        rows.append(
            {
                "share of the earlier drops": f"{share:.0%}",
                "reviews (deduplicated)": len(dataset.reviews),
                "ROC AUC": round(score.future.roc_auc, 4),
                "accuracy": round(score.future.accuracy, 4),
                "not-rec F1": round(score.future.not_recommended_f1, 4),
            }
        )
    return pd.DataFrame(rows)


def drops_dataset(drops: Sequence[Path], *, check: bool = True) -> PaddedDataset:
    """The drops read, stemmed and split as `raw_reviews`, `stemmed_corpus` and `padded_dataset`
    do (duplicates dropped, keyed by partition); with `check`, refused when it cannot train."""
    return dataset_of(stemmed_drops(drops), drops, check=check)


def stemmed_drops(drops: Sequence[Path]) -> pd.DataFrame:
    """The drops read and stemmed as `raw_reviews` and `stemmed_corpus` do, in time order."""
    from sentiment_assets.lib.drops import partition_key
    from sentiment_assets.model.dataset import corpus_of
    from sentiment_assets.model.reviews import read_reviews
    from sentiment_assets.model.stems import stem_reviews

    return corpus_of({partition_key(path): stem_reviews(read_reviews(path)) for path in drops})


def dataset_of(corpus: pd.DataFrame, drops: Sequence[Path], *, check: bool = True) -> PaddedDataset:
    """The stemmed corpus split as `padded_dataset` does; with `check`, refused (naming `drops`)
    when it cannot train."""
    from sentiment_assets.model.dataset import build_dataset, trainability_problem

    dataset = build_dataset(corpus)
    problem = trainability_problem(dataset) if check else None
    if problem:
        raise ValueError(f"{', '.join(p.name for p in drops)}: {problem}")
    return dataset


def review_frame(reviews: pd.DataFrame) -> pd.DataFrame:
    """Corpus rows as a logged model takes them: raw text and title."""
    import pandas as pd

    from sentiment_assets.model.predictions import TEXT_COLUMN, TITLE_COLUMN
    from sentiment_assets.model.stems import Corpus

    return pd.DataFrame(
        {
            TEXT_COLUMN: reviews[Corpus.TEXT].to_numpy(),
            TITLE_COLUMN: reviews[Corpus.TITLE].to_numpy(),
        }
    )


def benchmark_future(
    drops: Sequence[Path], *, summary: Summary, candidates: Sequence[PlannedCandidate] | None = None
) -> None:
    """Print the section's table and add the production pick's figures against the targets."""
    from sentiment_assets.lib.production import choose_challenger

    planned = list(candidates) if candidates is not None else default_plan()
    *earlier, latest = drops
    print(
        f"5. Training {len(planned)} candidates on {', '.join(p.name for p in earlier)}; "
        f"scoring {latest.name} ...",
        flush=True,
    )
    unfitted = {p.candidate.name: copy.deepcopy(p) for p in planned}
    dataset, unseen, scores = time_ordered_evaluation(drops, planned)
    print_table(
        f"5. Quality on future data: trained on {len(dataset.reviews):,} reviews of the earlier "
        f"drops (train split {len(dataset.split_reviews('train')):,}, validation "
        f"{len(dataset.split_reviews('validation')):,}), scored on all {len(unseen):,} reviews "
        f"of {latest.name}",
        scores_table(scores),
    )
    pick = choose_challenger(scores)
    print(f"5. Training {pick.name} again on shares of the earlier drops ...", flush=True)
    print_table(
        f"5. Learning curve: {pick.name} (the production pick) trained on the first share of the "
        f"earlier drops' reviews in time order, scored on all of {latest.name}",
        learning_curve(drops, unfitted[pick.name]),
    )
    summary += [
        (
            f"production pick ({pick.name}) on the next drop, {label}",
            f"{getattr(pick.future, key):.4f}",
            verdict(getattr(pick.future, key), target, at_least=True, unit=""),
        )
        for label, key, target in FUTURE_TARGETS
    ]


def scores_table(scores: Sequence[FutureScore]) -> pd.DataFrame:
    import pandas as pd

    return pd.DataFrame(
        [
            {
                "candidate": s.name,
                "family": s.family,
                "refit": "yes" if s.refit else "no",
                "val ROC AUC": round(s.validation.roc_auc, 4),
                "threshold": s.threshold,
                "ROC AUC": round(s.future.roc_auc, 4),
                "accuracy": round(s.future.accuracy, 4),
                "not-rec precision": round(s.future.not_recommended_precision, 4),
                "not-rec recall": round(s.future.not_recommended_recall, 4),
                "not-rec F1": round(s.future.not_recommended_f1, 4),
                "fit s": round(s.fit_seconds, 1),
                "refit s": "" if s.refit_seconds is None else round(s.refit_seconds, 1),
            }
            for s in scores
        ]
    )


def default_plan(
    names: Sequence[str] | None = None, *, refit: bool | None = None
) -> list[PlannedCandidate]:
    """The default line-up, or the named candidates (of the line-up, or a family that needs no
    settings, by its name), each refitted as its family does unless `refit` says otherwise."""
    from sentiment_assets.lib.training import plan
    from sentiment_assets.model.candidates import DEFAULT_CANDIDATES, FAMILIES, make_candidate

    known = {family: {"name": family, "family": family} for family in FAMILIES}
    known = {name: spec for name, spec in known.items() if name != "seed-keras"}
    known |= {spec["name"]: spec for spec in DEFAULT_CANDIDATES}
    unknown = sorted(set(names or ()) - set(known))
    if unknown:
        raise ValueError(f"unknown candidate(s) {', '.join(unknown)}; known: {', '.join(known)}")
    chosen = [known[name] for name in names] if names else DEFAULT_CANDIDATES
    return [plan(make_candidate(**spec), refit) for spec in chosen]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--candidates",
        nargs="+",
        help="names from the default line-up, or tfidf-logreg, tfidf-nb, ngram-mlp",
    )
    parser.add_argument(
        "--no-refit", action="store_true", help="log the models fitted on the training split"
    )
    args = parser.parse_args(argv)
    from sentiment_assets_tests.support import real_drops_dir

    drops = sorted(real_drops_dir().glob("*.csv"))
    if len(drops) < 2:
        print(f"benchmark: need two drops or more (*.csv) in {real_drops_dir()}", file=sys.stderr)
        return 2
    summary: Summary = []
    candidates = default_plan(args.candidates, refit=False if args.no_refit else None)
    benchmark_future(drops, summary=summary, candidates=candidates)
    print_table("Summary", summary_table(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
