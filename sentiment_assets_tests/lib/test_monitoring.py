"""The live record of a drop, without Dagster or MLflow: metrics from production's predictions,
the gate on them, the predictions table, and the challenger against the latest shortfall."""

import math
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from sentiment_assets.lib import live_gap, monitoring
from sentiment_assets.lib.drift import population_stability_index
from sentiment_assets.lib.monitoring import LiveQuality, Scored, Scoring
from sentiment_assets.model.dataset import PaddedDataset, Vocabulary
from sentiment_assets.model.evaluation import brier_score, classification_metrics
from sentiment_assets.model.stems import Corpus
from sentiment_assets_tests.lib import builders
from sentiment_assets_tests.lib.builders import LABELS, PROBABILITIES, SCORED_AT, THRESHOLDS


def test_the_live_record_is_the_metrics_of_production_on_the_drop() -> None:
    quality = builders.quality()
    labels, probabilities = np.array(LABELS), np.array(PROBABILITIES)
    assert quality.metrics == classification_metrics(labels, probabilities)
    assert quality.metrics.roc_auc == pytest.approx(7 / 8)  # 7 of 8 pairs ranked right
    assert quality.brier_score == pytest.approx(brier_score(labels, probabilities))
    assert sum(b.reviews for b in quality.reliability) == 6
    assert quality.production_version == "3" and quality.reviews == 6
    assert quality.live and quality.scored_at == SCORED_AT
    assert quality.test_metrics is None and quality.roc_auc_gap is None  # no training data
    assert quality.drift.not_recommended_share == pytest.approx(1 / 3)
    # Stored as JSON and read back whole.
    assert LiveQuality.model_validate_json(quality.model_dump_json()) == quality


def test_a_drop_before_any_production_model_says_so() -> None:
    quality = monitoring.measure_live_quality("first", builders.drop(LABELS), None, None, SCORED_AT)
    assert quality.production_version is None and quality.metrics is None
    assert not quality.live and quality.reliability == []
    assert quality.status() == "no production model when the drop was scored: nothing scored it"
    assert monitoring.live_shortfall(quality, THRESHOLDS) == []
    assert monitoring.live_figures(quality) == {
        "reviews": 6.0,
        "not_recommended_share": pytest.approx(1 / 3),
        "mean_words": 2.0,
    }


def test_the_gate_fails_below_the_floor_or_far_below_the_test_estimate() -> None:
    # Labels flipped: production ranks every pair but one the wrong way round.
    flipped = builders.quality(probabilities=[1 - x for x in PROBABILITIES])
    assert monitoring.live_shortfall(flipped, THRESHOLDS) == [
        "live ROC AUC 0.1250 is below the floor 0.75"
    ]
    good = builders.quality()
    assert monitoring.live_shortfall(good, THRESHOLDS) == []
    # Against its own test estimate: 0.875 live is fine beside 0.92, not beside 0.93.
    for test_auc, problems in ((0.92, 0), (0.93, 1)):
        test = classification_metrics(np.array([0, 1]), np.array([0.2, 0.8]))
        estimate = good.model_copy(update={"test_metrics": _with_auc(test, test_auc)})
        found = monitoring.live_shortfall(estimate, THRESHOLDS)
        assert len(found) == problems, found
    assert found == ["live ROC AUC 0.8750 is 0.0550 below its test estimate 0.9300 (margin 0.05)"]


def test_the_gate_does_not_judge_a_drop_with_too_few_of_one_label() -> None:
    # Labels flipped, on 2 'not recommended' reviews of 6: far below the floor, yet noise.
    flipped = builders.quality(probabilities=[1 - x for x in PROBABILITIES])
    strict = THRESHOLDS.model_copy(update={"min_live_reviews_per_label": 3})
    assert monitoring.live_shortfall(flipped, strict) == []
    assert monitoring.too_few_to_rank(flipped, strict) == (
        "not judged: the reviews measured hold 2 'not recommended' and 4 'recommended'; the gate "
        "judges a ROC AUC on at least 3 of each (min_live_reviews_per_label)"
    )
    enough = THRESHOLDS.model_copy(update={"min_live_reviews_per_label": 2})
    assert monitoring.too_few_to_rank(flipped, enough) is None
    assert monitoring.live_shortfall(flipped, enough)


def _with_auc(metrics, roc_auc: float):
    from dataclasses import replace

    return replace(metrics, roc_auc=roc_auc)


def test_a_model_that_may_have_learned_from_the_drop_is_not_live() -> None:
    learned = builders.quality(learned=True, probabilities=[1 - x for x in PROBABILITIES])
    assert not learned.live
    assert "not a live measure" in learned.status()
    assert monitoring.live_shortfall(learned, THRESHOLDS) == []
    # Trained outside this Dagster instance: unknown, and judged.
    unknown = builders.quality(learned=None, probabilities=[1 - x for x in PROBABILITIES])
    assert unknown.live and "unknown" in unknown.status()
    assert monitoring.live_shortfall(unknown, THRESHOLDS)


def test_a_live_record_is_kept_against_a_later_scoring_that_is_not_live() -> None:
    live = builders.quality().model_copy(update={"content": "sha-a"})
    later = builders.quality(learned=True).model_copy(
        update={"content": "sha-a", "scored_at": "2026-12-01T00:00:00+00:00"}
    )
    assert monitoring.record_to_keep(later, live) is live
    # A later live measure, other content, or a stored record that is not live: the new one.
    relive = later.model_copy(update={"may_have_learned_from_drop": False})
    assert monitoring.record_to_keep(relive, live) is relive
    other = later.model_copy(update={"content": "sha-b"})
    assert monitoring.record_to_keep(other, live) is other
    # Not live either, of the same content: the stored one stays, so nothing downstream changes.
    earlier = later.model_copy(update={"scored_at": "2026-11-30T00:00:00+00:00"})
    assert monitoring.record_to_keep(later, earlier) is earlier
    assert monitoring.record_to_keep(later, None) is later
    # A record stored before content was kept says nothing of its content: replaced.
    assert monitoring.record_to_keep(later, live.model_copy(update={"content": None})) is later


def test_a_drop_of_one_label_says_it_has_no_roc_auc_and_is_not_the_latest_live() -> None:
    scoring = Scoring("3", "run-3", builders.scored(PROBABILITIES), None, False)
    one_label = monitoring.measure_live_quality(
        "all-happy", builders.drop([1] * 6), None, scoring, "z"
    )
    assert one_label.live and not one_label.ranked
    assert one_label.status().endswith(
        "every review has one label, so there is no ROC AUC to judge"
    )
    assert monitoring.live_shortfall(one_label, THRESHOLDS) == []
    earlier = builders.quality()
    assert live_gap.latest_live([earlier, one_label], THRESHOLDS) == earlier


def test_a_drop_of_one_label_leaves_its_roc_auc_out_of_the_figures() -> None:
    scoring = Scoring("3", "run-3", builders.scored(PROBABILITIES), None, False)
    one_label = monitoring.measure_live_quality(
        "all-happy", builders.drop([1] * 6), None, scoring, "z"
    )
    figures = monitoring.live_figures(one_label)
    assert "live_roc_auc" not in figures
    assert "live_accuracy" in figures  # the measured figures stay
    assert not any(math.isnan(v) for v in figures.values()), figures


def _dataset_holding(reviews: pd.DataFrame, splits: list[str]) -> PaddedDataset:
    """A dataset of these reviews in these splits (the sequences do not matter here)."""
    held = reviews.assign(**{Corpus.SPLIT: splits, Corpus.DROP: "earlier"})
    return PaddedDataset(held, np.zeros((len(held), 2), dtype=np.int32), Vocabulary(("review",)), 2)


def test_reviews_already_in_the_training_data_are_left_out_of_the_live_figures() -> None:
    reviews = builders.drop(LABELS)
    # An export sent again in part: four of its reviews are in the training data, one of them
    # only in the test split (evaluated, never learned), one with other spacing.
    earlier = reviews.iloc[:4].copy()
    earlier.loc[2, Corpus.TEXT] = f"  {earlier.loc[2, Corpus.TEXT]} "
    dataset = _dataset_holding(earlier, ["train", "test", "validation", "train"])
    learned = frozenset({"earlier"})
    assert monitoring.in_training(reviews, dataset, learned).tolist() == [1, 0, 1, 1, 0, 0]
    # The drop's own spacing does not matter either.
    spaced = reviews.assign(**{Corpus.TEXT: " " + reviews[Corpus.TEXT] + "\n"})
    assert monitoring.in_training(spaced, dataset, learned).tolist() == [1, 0, 1, 1, 0, 0]
    # Only the drops production's training may have read count: not a drop a later retraining,
    # which kept production, added to the dataset; nothing when that is unknown.
    assert not monitoring.in_training(reviews, dataset, frozenset({"later"})).any()
    assert not monitoring.in_training(reviews, dataset, None).any()
    # The dataset production trained on, when still stored, says exactly what it learned,
    # whatever the current dataset holds now (a drop sent again and rebuilt into it, a review).
    trained_on = reviews.iloc[3:5].assign(**{Corpus.SPLIT: ["validation", "test"]})
    exact = monitoring.in_training(reviews, dataset, learned, trained_on)
    assert exact.tolist() == [0, 0, 0, 1, 0, 0]

    scoring = Scoring(
        "3", "run-3", builders.scored(PROBABILITIES), None, False, learned_drops=learned
    )
    quality = monitoring.measure_live_quality("d", reviews, dataset, scoring, SCORED_AT)
    unseen = [1, 4, 5]
    expected = classification_metrics(
        np.array(LABELS)[unseen], np.array(PROBABILITIES)[unseen], predicted=np.array([1, 1, 1])
    )
    assert quality.metrics == expected and quality.reviews == 6
    assert quality.reviews_in_training == 3 and quality.live
    assert quality.status().endswith(
        "3 of its 6 reviews are in the data production was trained on, and left out of the live "
        "figures"
    )
    assert monitoring.live_figures(quality)["reviews_in_training"] == 3

    # Every review learned already: no live figures at all, and the gate has nothing to judge.
    whole = _dataset_holding(reviews, ["train"] * 6)
    none_live = monitoring.measure_live_quality("d", reviews, whole, scoring, SCORED_AT)
    assert none_live.metrics is None and not none_live.live
    assert none_live.status().endswith(
        "every review of the drop is in the data production was trained on: no live measure"
    )
    assert monitoring.live_shortfall(none_live, THRESHOLDS) == []


def test_latest_live_is_the_newest_live_record() -> None:
    old, new = (
        builders.quality(),
        builders.quality().model_copy(update={"scored_at": "2026-11-28T00:00:00+00:00"}),
    )
    learned = builders.quality(learned=True).model_copy(
        update={"scored_at": "2026-12-01T00:00:00+00:00"}
    )
    assert live_gap.latest_live([old, learned, new], THRESHOLDS) == new
    assert live_gap.latest_live([learned], THRESHOLDS) is None


def test_of_two_live_records_scored_in_the_same_second_the_later_drop_is_the_latest() -> None:
    first, second = builders.quality(), builders.quality().model_copy(update={"drop": "e"})
    assert live_gap.latest_live([first, second], THRESHOLDS).drop == "e"
    assert live_gap.latest_live([second, first], THRESHOLDS).drop == "e"


def test_a_drop_too_small_to_judge_is_not_the_latest_live() -> None:
    """A newer handful of reviews, not judged by the gate, hid an earlier shortfall (a review)."""
    from dataclasses import replace

    short = builders.quality(probabilities=[1 - x for x in PROBABILITIES])  # 2 and 4 reviews
    one = replace(
        short.metrics,
        n_not_recommended_predicted_recommended=0,
        n_not_recommended_predicted_not_recommended=1,
    )
    tiny = builders.quality().model_copy(
        update={"drop": "tiny", "scored_at": "2026-12-01T00:00:00+00:00", "metrics": one}
    )
    assert live_gap.latest_live([short, tiny], THRESHOLDS) == tiny  # one of each is enough
    two = THRESHOLDS.model_copy(update={"min_live_reviews_per_label": 2})
    assert live_gap.latest_live([short, tiny], two) == short


def test_drop_predictions_one_row_per_review_with_the_version() -> None:
    table = monitoring.predictions_table(builders.drop(LABELS), builders.scored(PROBABILITIES), "3")
    assert list(table.columns) == list(monitoring.PREDICTION_COLUMNS)
    assert table[Corpus.REVIEW_ID].tolist() == [10, 11, 12, 13, 14, 15]
    assert table["recommended_ind"].tolist() == LABELS
    assert table["label"].tolist() == [0, 1, 0, 1, 1, 1]
    assert table["sentiment"].tolist()[:2] == ["not recommended", "recommended"]
    assert set(table["model_version"]) == {"3"}


def test_reviews_with_nothing_a_model_reads_are_not_scored_and_said_so() -> None:
    """Another script or emoji alone: production is given only the others (it refuses these),
    the live figures and the predictions are theirs, and the record counts the rest."""
    reviews = pd.concat(
        [
            builders.drop(LABELS),
            pd.DataFrame(
                {
                    Corpus.REVIEW_ID: [16, 17],
                    Corpus.LABEL: [0, 0],
                    Corpus.TITLE: [None, "😡"],
                    Corpus.TEXT: ["Ужасное качество", "😡😡😡"],
                    Corpus.STEMS: ["", ""],
                }
            ),
        ],
        ignore_index=True,
    )
    which = [True] * 6 + [False, False]
    assert monitoring.scorable(reviews).tolist() == which
    scoring = Scoring("3", "run-3", builders.scored(PROBABILITIES, which), None, False)

    quality = monitoring.measure_live_quality("d", reviews, None, scoring, SCORED_AT)

    alone = builders.quality()  # the six scored reviews without the others
    assert (quality.metrics, quality.brier_score, quality.reliability) == (
        alone.metrics,
        alone.brier_score,
        alone.reliability,
    )
    assert (quality.reviews, quality.reviews_unscored, alone.reviews_unscored) == (8, 2, 0)
    # The drift sees every review: the label share counts the two unscored ones.
    assert quality.drift.not_recommended_share == pytest.approx(4 / 8)
    assert "2 review(s) hold no letter (a-z) or digit the model reads" in quality.status()
    assert monitoring.live_figures(quality)["reviews_unscored"] == 2.0
    table = monitoring.predictions_table(reviews, scoring.drop, "3")
    assert table[Corpus.REVIEW_ID].tolist() == [10, 11, 12, 13, 14, 15]


def test_a_drop_none_of_whose_reviews_a_model_reads_is_recorded_not_scored() -> None:
    """A whole drop in another script: production scores nothing of it (a review found the score
    drift failing the step on no scores at all), and its drift is still measured."""
    reviews = builders.drop(LABELS).assign(
        **{Corpus.TEXT: "Ужасное качество", Corpus.TITLE: None, Corpus.STEMS: ""}
    )
    dataset = _dataset_holding(builders.drop(LABELS), ["train"] * 3 + ["test"] * 3)
    nothing = builders.scored([], [False] * 6)
    scoring = Scoring("3", "run-3", nothing, builders.scored(PROBABILITIES[3:]), False)

    quality = monitoring.measure_live_quality("d", reviews, dataset, scoring, SCORED_AT)

    assert quality.metrics is None and not quality.live and quality.reviews_unscored == 6
    assert quality.test_metrics is not None and quality.drift.score_psi is None
    assert quality.drift.oov_rate == 1.0  # every word in letters the stemmer drops
    assert "6 review(s) hold no letter (a-z) or digit the model reads" in quality.status()


def test_the_challenger_is_judged_on_the_drops_held_out_reviews() -> None:
    # The current test split: four reviews of the shortfall's drop "d", two of another drop.
    test = pd.DataFrame(
        {Corpus.DROP: ["d", "d", "other", "d", "d", "other"], Corpus.LABEL: [0, 1, 0, 0, 1, 1]}
    )
    challenger = np.array([0.1, 0.9, 0.9, 0.2, 0.8, 0.1])  # ranks d's reviews perfectly
    production = np.array([0.9, 0.1, 0.5, 0.8, 0.2, 0.5])  # inverts them
    short = builders.quality(probabilities=[1 - x for x in PROBABILITIES])

    gap = live_gap.live_gap(short, test, challenger, production, 0.97, THRESHOLDS)

    assert gap.drop == "d" and gap.scored_by_version == "3" and gap.held_out_reviews == 4
    assert gap.live_roc_auc == pytest.approx(0.125) and gap.shortfall
    assert gap.challenger_roc_auc == 1.0 and gap.production_roc_auc == 0.0
    assert gap.closes is True
    # A challenger 0.06 below its own test estimate there does not close it.
    assert not live_gap.live_gap(short, test, challenger, None, 1.06, THRESHOLDS).closes
    # Without a shortfall there is nothing to close.
    assert (
        live_gap.live_gap(builders.quality(), test, challenger, None, 0.97, THRESHOLDS).closes
        is None
    )
    learned = builders.quality(learned=True)
    with pytest.raises(ValueError, match="not scored live"):
        live_gap.live_gap(learned, test, challenger, None, 0.97, THRESHOLDS)


def test_a_challenger_is_not_said_to_close_the_gap_on_held_out_reviews_of_one_label() -> None:
    # The shortfall's drop "d" has only recommended reviews left in the test split.
    test = pd.DataFrame(
        {Corpus.DROP: ["d", "other", "d", "other", "d"], Corpus.LABEL: [1, 0, 1, 1, 1]}
    )
    challenger = np.array([0.9, 0.1, 0.8, 0.9, 0.7])
    production = np.array([0.2, 0.9, 0.3, 0.1, 0.4])
    short = builders.quality(probabilities=[1 - x for x in PROBABILITIES])

    gap = live_gap.live_gap(short, test, challenger, production, 0.97, THRESHOLDS)

    assert gap.shortfall and gap.held_out_reviews == 3
    assert gap.challenger_roc_auc is None and gap.production_roc_auc is None
    assert gap.closes is None
    assert gap.summary().endswith(
        "3 of its reviews are held out, 0 of them 'not recommended', too few of a label to rank"
    )


def test_a_challenger_is_not_judged_on_too_few_held_out_reviews_of_one_label() -> None:
    # Drop "d" has 2 'not recommended' and 2 'recommended' reviews in the test split.
    test = pd.DataFrame({Corpus.DROP: ["d"] * 4, Corpus.LABEL: [0, 1, 0, 1]})
    challenger = np.array([0.1, 0.9, 0.2, 0.8])
    short = builders.quality(probabilities=[1 - x for x in PROBABILITIES])
    strict = THRESHOLDS.model_copy(update={"min_live_reviews_per_label": 3})

    gap = live_gap.live_gap(short, test, challenger, None, 0.97, strict)

    assert gap.challenger_roc_auc is None and gap.closes is None
    assert live_gap.live_gap(short, test, challenger, None, 0.97, THRESHOLDS).closes is True


def test_a_model_trained_elsewhere_is_a_live_measure_with_its_gap_signed_test_minus_live() -> None:
    elsewhere = builders.quality(learned=None)
    assert elsewhere.live and elsewhere.may_have_learned_from_drop is None
    assert not builders.quality(learned=True).live
    with_test = elsewhere.model_copy(
        update={"test_metrics": replace(elsewhere.metrics, roc_auc=elsewhere.metrics.roc_auc + 0.1)}
    )
    assert with_test.roc_auc_gap == pytest.approx(0.1)  # positive: worse live than on test
    assert monitoring.live_figures(with_test)["roc_auc_gap"] == pytest.approx(0.1)


def test_test_figures_read_the_labels_of_the_test_reviews_scored() -> None:
    """A test split holding a review no model reads: its label is left out with it."""
    reviews = builders.drop(LABELS)
    test = reviews.iloc[:4].copy()
    test.loc[1, [Corpus.TEXT, Corpus.TITLE]] = ["😡😡😡", None]
    dataset = _dataset_holding(
        pd.concat([reviews, test], ignore_index=True), ["train"] * 6 + ["test"] * 4
    )
    scored = [True, False, True, True]
    probabilities = [0.2, 0.9, 0.1]
    scoring = Scoring(
        "3", "run-3", builders.scored(PROBABILITIES), builders.scored(probabilities, scored), False
    )
    quality = monitoring.measure_live_quality("d", reviews, dataset, scoring, SCORED_AT)
    labels = np.array(LABELS[:4])[scored]
    assert quality.test_reviews == 3
    assert quality.test_metrics == classification_metrics(
        labels, np.array(probabilities), predicted=np.array([0, 1, 0])
    )


def test_a_live_roc_auc_exactly_at_the_floor_passes() -> None:
    # "Below the floor" fails: the floor itself is the least a drop may score (0.75 is exact in
    # binary, so the comparison is not blurred by rounding).
    assert monitoring.live_gate(0.75, None, THRESHOLDS) == []
    assert monitoring.live_gate(0.7499, None, THRESHOLDS) == [
        "live ROC AUC 0.7499 is below the floor 0.75"
    ]


def test_a_live_roc_auc_exactly_the_margin_below_its_test_estimate_passes() -> None:
    # Only further below than the margin fails, in values exact in binary (0.875, 1.0, 0.125) ...
    eighth = THRESHOLDS.model_copy(update={"live_roc_auc_margin": 0.125})
    assert monitoring.live_gate(0.875, 1.0, eighth) == []
    assert monitoring.live_gate(0.8749, 1.0, eighth) == [
        "live ROC AUC 0.8749 is 0.1251 below its test estimate 1.0000 (margin 0.125)"
    ]
    # ... and in fractions that are not: 0.80 - 0.75 is 0.050000000000000044 in binary floating
    # point, and failed the default margin of 0.05 (a mutation audit): 3/4 against 4/5 is a tie.
    assert monitoring.live_gate(3 / 4, 4 / 5, THRESHOLDS) == []
    assert monitoring.live_gate(0.7499, 0.8, THRESHOLDS) != []


def test_the_status_of_a_plain_live_record_says_only_who_scored_it() -> None:
    # No review in training, none unscored, both labels: nothing to add (no "0 of its 6 reviews").
    assert builders.quality().status() == (
        "scored by production version 3 before any retraining learned from the drop"
    )


def test_a_drop_before_any_production_model_does_not_say_its_unreadable_reviews_went_unscored() -> (
    None
):
    # Nothing scored the drop at all: its reviews in another script are not singled out.
    reviews = builders.drop(LABELS).assign(**{Corpus.TEXT: ["Ужасное качество"] * 2 + ["ok"] * 4})
    reviews[Corpus.TITLE] = None
    quality = monitoring.measure_live_quality("first", reviews, None, None, SCORED_AT)
    assert quality.status() == "no production model when the drop was scored: nothing scored it"


def test_a_drop_of_one_label_in_part_learned_says_every_review_measured_has_one_label() -> None:
    # The drop has both labels, but the reviews left once those in training are out hold one.
    reviews = builders.drop(LABELS)
    dataset = _dataset_holding(reviews.iloc[:2], ["train", "validation"])  # both 'not recommended'
    scoring = Scoring(
        "3", "run-3", builders.scored(PROBABILITIES), None, False, frozenset({"earlier"})
    )
    quality = monitoring.measure_live_quality("d", reviews, dataset, scoring, SCORED_AT)
    assert quality.reviews_in_training == 2 and not quality.ranked
    assert quality.status().endswith(
        "; every review measured has one label, so there is no ROC AUC to judge"
    )


def test_the_live_record_leaves_out_what_the_dataset_production_trained_on_held() -> None:
    # The current dataset holds three of the drop's reviews in train or validation; the dataset
    # production trained on, still stored, held only the fourth review there: it decides.
    reviews = builders.drop(LABELS)
    dataset = _dataset_holding(reviews.iloc[:4], ["train", "test", "validation", "train"])
    trained_on = reviews.iloc[3:5].assign(**{Corpus.SPLIT: ["validation", "test"]})
    scoring = Scoring(
        "3",
        "run-3",
        builders.scored(PROBABILITIES),
        None,
        False,
        learned_drops=frozenset({"earlier"}),
        learned_reviews=trained_on,
    )
    quality = monitoring.measure_live_quality("d", reviews, dataset, scoring, SCORED_AT)
    assert quality.reviews_in_training == 1
    unseen = [0, 1, 2, 4, 5]
    assert quality.metrics == classification_metrics(
        np.array(LABELS)[unseen],
        np.array(PROBABILITIES)[unseen],
        predicted=np.array([0, 1, 0, 1, 1]),
    )


def test_the_live_and_test_metrics_count_the_models_own_labels() -> None:
    # A model labels at its own threshold (here 0.65), not at 0.5: its accuracy is that of the
    # labels it gave (5 of 6 right), not of a cut at 0.5 (4 of 6), on the drop as on the test split.
    reviews = builders.drop(LABELS)
    dataset = _dataset_holding(
        pd.concat([reviews, reviews], ignore_index=True), ["train"] * 6 + ["test"] * 6
    )
    own = Scored(np.ones(6, dtype=bool), builders.predicted(PROBABILITIES, threshold=0.65))
    scoring = Scoring("3", "run-3", own, own, False)
    quality = monitoring.measure_live_quality("d", reviews, dataset, scoring, SCORED_AT)
    assert quality.metrics.accuracy == pytest.approx(5 / 6)
    assert quality.test_metrics.accuracy == pytest.approx(5 / 6)


def test_reviews_no_model_reads_count_as_in_training_when_the_training_data_holds_them() -> None:
    # The dataset keeps every review of a drop, those no model reads too: a drop sent again
    # whole is in training whole, and says so (not "6 of its 8").
    reviews = pd.concat(
        [
            builders.drop(LABELS),
            pd.DataFrame(
                {
                    Corpus.REVIEW_ID: [16, 17],
                    Corpus.LABEL: [0, 0],
                    Corpus.TITLE: [None, None],
                    Corpus.TEXT: ["Ужасное качество", "😡😡😡"],
                    Corpus.STEMS: ["", ""],
                }
            ),
        ],
        ignore_index=True,
    )
    dataset = _dataset_holding(reviews, ["train"] * 8)
    which = [True] * 6 + [False, False]
    scoring = Scoring(
        "3", "run-3", builders.scored(PROBABILITIES, which), None, False, frozenset({"earlier"})
    )
    quality = monitoring.measure_live_quality("d", reviews, dataset, scoring, SCORED_AT)
    assert (quality.reviews_in_training, quality.reviews_unscored) == (8, 2)
    assert "every review of the drop is in the data production was trained on" in quality.status()


def test_the_live_records_score_drift_bins_the_drop_by_the_test_splits_scores() -> None:
    # Production's scores on the test split are the reference; the other way round gives another
    # figure (10.3 against 6.9 here).
    reviews = builders.drop(LABELS)
    dataset = _dataset_holding(
        pd.concat([reviews, reviews], ignore_index=True), ["train"] * 6 + ["test"] * 6
    )
    test_scores = [0.2, 0.3, 0.35, 0.45, 0.5, 0.55]
    scoring = Scoring(
        "3", "run-3", builders.scored(PROBABILITIES), builders.scored(test_scores), False
    )
    quality = monitoring.measure_live_quality("d", reviews, dataset, scoring, SCORED_AT)
    expected = population_stability_index(np.array(test_scores), np.array(PROBABILITIES))
    assert quality.drift.score_psi == pytest.approx(expected)
    assert expected != pytest.approx(
        population_stability_index(np.array(PROBABILITIES), np.array(test_scores)), rel=0.05
    )


def test_a_record_of_unknown_content_does_not_keep_one_of_unknown_content_either() -> None:
    # Neither says what it measured: nothing says they are the same content, so the new one stays.
    stored = builders.quality(learned=True)
    new = stored.model_copy(update={"scored_at": "2026-12-01T00:00:00+00:00"})
    assert stored.content is None and new.content is None
    assert monitoring.record_to_keep(new, stored) is new


def test_the_figures_hold_the_calibration_and_the_test_estimate() -> None:
    good = builders.quality()
    test = replace(good.metrics, roc_auc=0.9)
    figures = monitoring.live_figures(good.model_copy(update={"test_metrics": test}))
    assert figures["brier_score"] == pytest.approx(good.brier_score)
    assert figures["calibration_error"] == pytest.approx(good.calibration_error)
    assert figures["test_roc_auc"] == pytest.approx(0.9)
    assert figures["roc_auc_gap"] == pytest.approx(0.9 - 0.875)


def test_a_drop_of_one_label_is_not_said_to_hold_too_few_of_a_label() -> None:
    # It has no ROC AUC at all (the status says so); "too few to rank" is for one it has.
    scoring = Scoring("3", "run-3", builders.scored(PROBABILITIES), None, False)
    one_label = monitoring.measure_live_quality(
        "all-happy", builders.drop([1] * 6), None, scoring, "z"
    )
    assert monitoring.too_few_to_rank(one_label, THRESHOLDS) is None


def test_a_label_absent_is_too_few_whatever_the_minimum() -> None:
    # A minimum of 0 (the resource refuses it, the pure rule does not rely on that) still asks
    # for one review of each label: with none of one there is no ROC AUC.
    none = THRESHOLDS.model_copy(update={"min_live_reviews_per_label": 0})
    assert monitoring.too_few_of_a_label(0, 5, none) == (
        "not judged: the reviews measured hold 0 'not recommended' and 5 'recommended'; the gate "
        "judges a ROC AUC on at least 1 of each (min_live_reviews_per_label)"
    )
    assert monitoring.too_few_of_a_label(1, 1, none) is None


def test_too_few_recommended_reviews_are_not_judged_either() -> None:
    # The minimum holds for each label: a drop of mostly unhappy reviews is short of happy ones.
    strict = THRESHOLDS.model_copy(update={"min_live_reviews_per_label": 3})
    assert monitoring.too_few_of_a_label(5, 2, strict).startswith(
        "not judged: the reviews measured hold 5 'not recommended' and 2 'recommended'"
    )
    assert monitoring.too_few_of_a_label(3, 3, strict) is None


def test_the_latest_live_record_is_the_last_scored_whatever_the_drop_names() -> None:
    # The drop name only breaks a tie of the same second: "a", scored later, is the latest.
    early = builders.quality().model_copy(update={"drop": "z"})
    later = builders.quality().model_copy(
        update={"drop": "a", "scored_at": "2026-11-28T00:00:00+00:00"}
    )
    assert live_gap.latest_live([early, later], THRESHOLDS).drop == "a"
    assert live_gap.latest_live([later, early], THRESHOLDS).drop == "a"


def test_the_live_gap_keeps_the_drops_live_and_test_roc_auc_apart() -> None:
    test = pd.DataFrame({Corpus.DROP: ["d"] * 4, Corpus.LABEL: [0, 1, 0, 1]})
    short = builders.quality(probabilities=[1 - x for x in PROBABILITIES])
    estimated = short.model_copy(update={"test_metrics": replace(short.metrics, roc_auc=0.9)})
    gap = live_gap.live_gap(estimated, test, np.array([0.1, 0.9, 0.2, 0.8]), None, 0.97, THRESHOLDS)
    assert (gap.live_roc_auc, gap.test_roc_auc) == (pytest.approx(0.125), 0.9)


def test_the_live_gap_summary_says_what_the_challenger_did() -> None:
    test = pd.DataFrame({Corpus.DROP: ["d"] * 4, Corpus.LABEL: [0, 1, 0, 1]})
    challenger = np.array([0.1, 0.9, 0.2, 0.8])  # ranks d's reviews perfectly
    production = 1 - challenger  # inverts them
    short = builders.quality(probabilities=[1 - x for x in PROBABILITIES])

    closes = live_gap.live_gap(short, test, challenger, production, 0.97, THRESHOLDS)
    assert closes.summary() == (
        "d: version 3 scored 0.1250 live; on its 4 held-out reviews the challenger scores 1.0000, "
        "production 0.0000; it closes the gap"
    )
    # 0.06 below its own test estimate there: it does not.
    not_closed = live_gap.live_gap(short, test, challenger, None, 1.06, THRESHOLDS)
    assert not_closed.summary() == (
        "d: version 3 scored 0.1250 live; on its 4 held-out reviews the challenger scores 1.0000; "
        "it does not close the gap"
    )
    # No shortfall: nothing to close, and said so.
    fine = live_gap.live_gap(builders.quality(), test, challenger, None, 0.97, THRESHOLDS)
    assert fine.summary() == (
        "d: version 3 scored 0.8750 live (no shortfall); on its 4 held-out reviews the challenger "
        "scores 1.0000"
    )
