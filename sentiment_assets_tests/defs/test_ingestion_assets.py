"""raw_reviews -> stemmed_corpus -> padded_dataset through the real jobs, on sample drops."""

import shutil
from pathlib import Path

import dagster as dg
import pytest

from sentiment_assets.cli.sample_drops import write_sample_drops
from sentiment_assets.defs.platform.resources import ArtifactIOManager
from sentiment_assets.lib.drops import file_sha256
from sentiment_assets.lib.storage.store import Slot
from sentiment_assets_tests.support import definitions, failure_message, ingest


def _value(asset: str, partition: str | None = None) -> Path:
    """The folder of the asset's current stored version."""
    store = ArtifactIOManager().store()
    slot = Slot(asset, partition)
    return store.path(slot, store.versions(slot)[0])


def test_each_drop_is_read_and_stemmed_alone(data_dir: Path, instance) -> None:
    write_sample_drops(data_dir / "landing", drops=2, rows_per_drop=300)
    results = ingest(instance, ["reviews_sample-01", "reviews_sample-02"])

    assert all(r.success for r in results.values())
    event = instance.get_latest_materialization_event(dg.AssetKey("raw_reviews"))
    metadata = event.asset_materialization.metadata
    assert metadata["dagster/row_count"].value == 300
    assert metadata["source_file"].value == "reviews_sample-02.csv"
    # Numbers of their own, which the UI plots drop after drop.
    assert isinstance(metadata["dagster/row_count"], dg.IntMetadataValue)
    assert isinstance(metadata["not_recommended_share"], dg.FloatMetadataValue)
    assert metadata["recommended"].value + metadata["not_recommended"].value == 300
    assert isinstance(metadata["not_recommended"], dg.IntMetadataValue)
    # The data version is the sha256 of the bytes read: the drop sensor compares files with it.
    assert event.asset_materialization.tags["dagster/data_version"] == file_sha256(
        data_dir / "landing" / "reviews_sample-02.csv"
    )
    assert instance.get_materialized_partitions(dg.AssetKey("stemmed_corpus")) == {
        "reviews_sample-01",
        "reviews_sample-02",
    }
    assert (_value("stemmed_corpus", "reviews_sample-01") / "data.parquet").exists()


def test_dataset_from_a_single_drop_and_from_several(data_dir: Path, instance) -> None:
    write_sample_drops(data_dir / "landing", drops=2, rows_per_drop=300)
    job = definitions().resolve_implicit_global_asset_job_def()
    ingest(instance, ["reviews_sample-01"])
    one = job.execute_in_process(instance=instance, asset_selection=[dg.AssetKey("padded_dataset")])
    ingest(instance, ["reviews_sample-02"])
    two = job.execute_in_process(instance=instance, asset_selection=[dg.AssetKey("padded_dataset")])

    def materialized(result):
        return result.asset_materializations_for_node("padded_dataset")[0].metadata

    assert materialized(one)["drops"].value == ["reviews_sample-01"]
    assert materialized(two)["drops"].value == ["reviews_sample-01", "reviews_sample-02"]
    assert (
        materialized(two)["dagster/row_count"].value > materialized(one)["dagster/row_count"].value
    )


BAD_DROPS = {
    "missing_column": (b",Title,Rating\n0,Nice,5\n", "missing required column"),
    "empty": (b" \n", "the file is empty"),
    "header_only": (
        b",Clothing ID,Age,Title,Review Text,Rating,Recommended IND\n",
        "header but no review rows",
    ),
    "not_utf8": (b",Review Text,Recommended IND\n0,caf\xe9 au lait,1\n", "not UTF-8"),
    "bad_label": (b",Review Text,Recommended IND\n0,Lovely,1\n1,Awful,2\n", "0 or 1"),
    "bad_age": (b",Age,Review Text,Recommended IND\n0,forty,Lovely,1\n", "'Age' must hold whole"),
    "unparseable": (b',Review Text,Recommended IND\n0,"Lovely",1,extra\n', "cannot be parsed"),
    "mostly_without_text": (
        b",Review Text,Recommended IND\n0,,1\n1,,0\n2,Lovely,1\n",
        "67% of reviews have no text",
    ),
    # Blank texts are no text either: stemming drops them like empty ones.
    "mostly_blank_text": (
        b',Review Text,Recommended IND\n0," ",1\n1,   ,0\n2,Lovely,1\n',
        "67% of reviews have no text",
    ),
    # Excel's "Unicode text" export: it ends in a NUL, and must not wait as if unfinished.
    "utf16": (",Review Text,Recommended IND\n0,Lovely,1\n".encode("utf-16"), "UTF-16 text"),
}


# Each problem is found by the reader (model/test_reviews.py); make test-fast runs one case
# through Dagster, make test every case.
@pytest.mark.parametrize(
    "case",
    [
        c if c == "missing_column" else pytest.param(c, marks=pytest.mark.slow)
        for c in sorted(BAD_DROPS)
    ],
)
def test_a_bad_drop_is_quarantined_with_its_name_and_loses_nothing(
    case: str, data_dir: Path, instance
) -> None:
    content, problem = BAD_DROPS[case]
    write_sample_drops(data_dir / "landing", drops=1, rows_per_drop=200)
    ingest(instance, ["reviews_sample-01"])
    good = _value("stemmed_corpus", "reviews_sample-01") / "data.parquet"
    before = good.read_bytes()

    (data_dir / "landing" / f"{case}.csv").write_bytes(content)
    result = ingest(instance, [case])[case]

    assert not result.success
    message = failure_message(result)
    assert f"{case}.csv" in message
    assert problem in message
    assert (data_dir / "quarantine" / f"{case}.csv").read_bytes() == content
    note = (data_dir / "quarantine" / f"{case}.csv.error.txt").read_text()
    assert note.startswith(f"{case}.csv: ") and problem in note
    assert good.read_bytes() == before
    assert instance.get_materialized_partitions(dg.AssetKey("raw_reviews")) == {"reviews_sample-01"}


@pytest.mark.slow  # waits out the retries
def test_bad_data_is_not_retried_but_a_vanished_file_is(data_dir: Path, instance) -> None:
    (data_dir / "landing" / "bad.csv").write_bytes(b",Review Text\n0,Lovely\n")
    bad = ingest(instance, ["bad"])["bad"]
    assert not bad.success
    assert not [e for e in bad.all_events if e.event_type_value == "STEP_UP_FOR_RETRY"]

    write_sample_drops(data_dir / "landing", drops=1, rows_per_drop=50)
    shutil.move(data_dir / "landing" / "reviews_sample-01.csv", data_dir / "elsewhere.csv")
    gone = ingest(instance, ["reviews_sample-01"])["reviews_sample-01"]
    assert not gone.success
    retries = [e for e in gone.all_events if e.event_type_value == "STEP_UP_FOR_RETRY"]
    assert len(retries) == 2
    cause = retries[0].event_specific_data.error.cause.message
    assert "no drop file for partition 'reviews_sample-01'" in cause


def test_a_materialized_drop_whose_files_are_gone_is_an_error_not_a_smaller_dataset(
    data_dir: Path, instance
) -> None:
    write_sample_drops(data_dir / "landing", drops=2, rows_per_drop=300)
    ingest(instance, ["reviews_sample-01", "reviews_sample-02"])
    shutil.rmtree(_value("stemmed_corpus", "reviews_sample-02"))

    result = (
        definitions()
        .resolve_implicit_global_asset_job_def()
        .execute_in_process(
            instance=instance, asset_selection=[dg.AssetKey("padded_dataset")], raise_on_error=False
        )
    )
    assert not result.success
    assert "stemmed_corpus [reviews_sample-02] was materialized but its stored value" in (
        failure_message(result)
    )


def test_the_stored_drop_is_verified_and_a_bad_one_is_never_stemmed(
    data_dir: Path, instance, monkeypatch
) -> None:
    # A bug in the reading path lets a drop through that validation should have refused ...
    monkeypatch.setattr("sentiment_assets.defs.ingestion.assets.validation_problems", lambda _: [])
    (data_dir / "landing" / "sparse.csv").write_bytes(BAD_DROPS["mostly_blank_text"][0])

    result = ingest(instance, ["sparse"])["sparse"]

    # ... and the blocking check on what was stored catches it before anything downstream.
    checks = {c.check_name: c for c in result.get_asset_check_evaluations()}
    check = checks["valid_reviews"]
    assert not check.passed
    assert check.description == "67% of reviews have no text (more than 20%)"
    # The drop's own metadata counts the blank reviews as the check does.
    (stored,) = result.asset_materializations_for_node("raw_reviews")
    assert stored.metadata["reviews_without_text"].value == 2
    assert instance.get_materialized_partitions(dg.AssetKey("stemmed_corpus")) == set()


def test_a_cut_export_saved_again_neither_hides_nor_pushes_out_the_full_content(
    data_dir: Path, instance
) -> None:
    from sentiment_assets.cli.sample_drops import sample_reviews
    from sentiment_assets.lib.storage.store import Slot
    from sentiment_assets.lib.storage.values import read_value

    landed = data_dir / "landing" / "reviews_x.csv"
    reviews = sample_reviews(300, seed=5)

    def land(rows: int, line_end: str = "\n") -> list[str]:
        reviews.head(rows).to_csv(landed, index=False, lineterminator=line_end)
        result = ingest(instance, ["reviews_x"])["reviews_x"]
        assert result.success, failure_message(result)
        return [c.description or "" for c in result.get_asset_check_evaluations() if not c.passed]

    assert land(300) == []
    assert land(160) == []  # 53%: a correction, say
    # Cut short, then saved again as Excel would (CRLF), then back: other bytes, the same
    # reviews, each read as new content. Each still warns against the largest content kept,
    # not only the latest (160), and none pushes it out of the kept versions.
    for line_end in ("\n", "\r\n", "\n", "\r\n"):
        (warning,) = land(100, line_end)
        assert "100 reviews, 33% of the 300 of an earlier content" in warning
    store, slot = ArtifactIOManager().store(), Slot("raw_reviews", "reviews_x")
    kept = [len(store.read(slot, read_value, v)) for v in store.versions(slot)]
    assert kept == [100, 160, 300]


def test_a_cut_accepted_and_then_added_to_passes(data_dir: Path, instance) -> None:
    from sentiment_assets.cli.sample_drops import sample_reviews

    landed = data_dir / "landing" / "reviews_x.csv"
    reviews = sample_reviews(300, seed=5)

    def warned(rows: int) -> bool:
        reviews.head(rows).to_csv(landed, index=False, lineterminator="\n")
        result = ingest(instance, ["reviews_x"])["reviews_x"]
        assert result.success, failure_message(result)
        return not next(
            c for c in result.get_asset_check_evaluations() if c.check_name == "replaced_drop_size"
        ).passed

    assert [warned(rows) for rows in (300, 100, 110)] == [False, True, False]


def test_new_content_much_smaller_than_what_it_replaces_warns(data_dir: Path, instance) -> None:
    # A filtered re-save, or an export cut short, under a drop's name: it replaces the drop.
    from sentiment_assets.cli.sample_drops import sample_reviews

    landed = data_dir / "landing" / "reviews_x.csv"

    def replaced_drop_size(rows: int, seed: int = 5):
        sample_reviews(300, seed=seed).head(rows).to_csv(landed, index=False, lineterminator="\n")
        result = ingest(instance, ["reviews_x"])["reviews_x"]
        assert result.success, failure_message(result)
        (check,) = [
            c for c in result.get_asset_check_evaluations() if c.check_name == "replaced_drop_size"
        ]
        return check

    def warned(check) -> str:
        assert not check.passed and check.severity == dg.AssetCheckSeverity.WARN
        return check.description

    first = replaced_drop_size(300)
    assert first.passed and first.metadata["reviews_before"].value is None
    assert replaced_drop_size(280).passed  # a correction, say
    assert replaced_drop_size(250).passed
    # Against the largest earlier content still kept: 280 (the first, 300, has made way for
    # the three contents after it).
    cut = replaced_drop_size(100)
    assert warned(cut).startswith(
        "the drop's content holds 100 reviews, 36% of the 280 of an earlier content (threshold "
        "50%); that content stays readable as an earlier stored version of the drop"
    )
    assert cut.metadata["reviews_before"].value == 280  # the largest, not the latest (250)
    # Read again (a retry, a backfill): still against the earlier contents, not against itself.
    assert "36% of the 280" in warned(replaced_drop_size(100))
    # Removed for good, then landed again smaller: nothing stored is replaced.
    for asset in ("raw_reviews", "stemmed_corpus", "live_quality", "drop_predictions"):
        ArtifactIOManager().remove_partition(dg.AssetKey(asset), "reviews_x")
    instance.delete_dynamic_partition("review_drops", "reviews_x")
    again = replaced_drop_size(30, seed=6)
    assert again.passed and again.metadata["reviews_before"].value is None
