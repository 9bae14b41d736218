"""The I/O manager through Dagster: keys typed by hand, drops whose names look like the storage's
own, a changed drop replacing a kept version, and a full disk."""

import errno
from pathlib import Path

import dagster as dg
import pandas as pd
import pytest
from pydantic import BaseModel

from sentiment_assets.cli.sample_drops import sample_reviews
from sentiment_assets.defs.platform import io_manager
from sentiment_assets.defs.platform.io_manager import ArtifactIOManager
from sentiment_assets.lib.storage.objects import open_files
from sentiment_assets.lib.storage.store import POINTER, Slot
from sentiment_assets.lib.storage.values import read_value
from sentiment_assets_tests.support import QUICK_TRAINING, failure_message, ingest, train


def _land(data_dir: Path, name: str, rows: int, seed: int) -> pd.DataFrame:
    reviews = sample_reviews(rows, seed=seed)
    reviews.to_csv(data_dir / "landing" / f"{name}.csv", index=False, lineterminator="\n")
    return reviews


def _stored(asset: str, partition: str | None = None, version: str | None = None):
    return ArtifactIOManager().store().read(Slot(asset, partition), read_value, version=version)


@pytest.mark.slow  # a training run
def test_a_drop_named_like_an_old_version_keeps_its_value_and_trains(
    data_dir: Path, instance
) -> None:
    _land(data_dir, "reviews_x.old", rows=600, seed=1)
    _land(data_dir, "reviews_x", rows=500, seed=2)
    assert ingest(instance, ["reviews_x.old"])["reviews_x.old"].success
    assert ingest(instance, ["reviews_x"])["reviews_x"].success

    assert len(_stored("raw_reviews", "reviews_x.old")) == 600
    assert len(_stored("raw_reviews", "reviews_x")) == 500
    result = train(instance, **QUICK_TRAINING)
    assert result.success
    dataset = result.asset_materializations_for_node("padded_dataset")[0]
    assert dataset.metadata["drops"].value == ["reviews_x", "reviews_x.old"]


HAND_TYPED = ["a/b", "a_b", "a%2Fb", "..", ".", "x" * 250, "x" * 249 + "y"]
typed = dg.DynamicPartitionsDefinition(name="typed")


@dg.asset(partitions_def=typed)
def table(context: dg.AssetExecutionContext) -> pd.DataFrame:
    return pd.DataFrame({"key": [context.partition_key]})


@dg.asset
def together(table: dict[str, pd.DataFrame]) -> dict[str, str]:
    return {key: frame["key"].iloc[0] for key, frame in table.items()}


def test_keys_typed_by_hand_are_stored_apart_inside_the_storage_folder(
    tmp_path: Path, instance
) -> None:
    root = tmp_path / "storage"
    resources = {"io_manager": ArtifactIOManager(base_dir=str(root))}
    never = [f"never-stored-{i}" for i in range(7)]
    instance.add_dynamic_partitions(typed.name, [*HAND_TYPED, *never])
    for key in HAND_TYPED:
        result = dg.materialize([table], partition_key=key, instance=instance, resources=resources)
        metadata = result.asset_materializations_for_node("table")[0].metadata
        assert Path(metadata["stored_at"].value).resolve().is_relative_to(root)

    result = dg.materialize(
        [table, together], selection=[together], instance=instance, resources=resources
    )
    # Every key reads back its own value; the partitions never stored are skipped, in one line.
    assert result.output_for_node("together") == {key: key for key in HAND_TYPED}
    warned = [
        e.user_message
        for e in instance.all_logs(result.run_id)
        if "not stored for" in (e.user_message or "")
    ]
    assert warned == [
        "table is not stored for 7 partition(s), skipped: never-stored-0, never-stored-1, "
        "never-stored-2, never-stored-3, never-stored-4 and 2 more (a drop whose ingestion is "
        "still queued or running counts from the next run on; one whose reading failed stays a "
        "partition until sentiment-platform remove-drop removes it)"
    ]
    assert {p.name for p in tmp_path.iterdir()} == {"storage", "dagster_home"}


def test_a_changed_drop_replaces_its_value_and_the_old_one_stays_readable(
    data_dir: Path, instance
) -> None:
    first = _land(data_dir, "reviews_y", rows=300, seed=3)
    ingest(instance, ["reviews_y"])
    _land(data_dir, "reviews_y", rows=200, seed=4)  # a wrong file under the same name
    result = ingest(instance, ["reviews_y"])["reviews_y"]
    assert result.success

    store = ArtifactIOManager().store()
    new, old = store.versions(Slot("raw_reviews", "reviews_y"))[:2]
    assert len(_stored("raw_reviews", "reviews_y")) == 200
    assert _stored("raw_reviews", "reviews_y", version=old)["Review Text"].equals(
        first["Review Text"]
    )
    logged = [entry.user_message for entry in instance.all_logs(result.run_id)]
    replaced = str(store.path(Slot("raw_reviews", "reviews_y"), old))
    assert any(
        f"raw_reviews [reviews_y]: stored version {new}; the value it replaces stays readable "
        f"at {replaced}" in line
        for line in logged
    )


def test_a_full_disk_fails_the_run_saying_so_and_keeps_the_stored_values(
    data_dir: Path, instance, monkeypatch: pytest.MonkeyPatch
) -> None:
    _land(data_dir, "reviews_z", rows=300, seed=5)
    ingest(instance, ["reviews_z"])
    before = _stored("stemmed_corpus", "reviews_z")
    _land(data_dir, "reviews_z", rows=200, seed=6)
    _land(data_dir, "reviews_new", rows=200, seed=7)

    def full(frame: pd.DataFrame, path: Path, **kwargs) -> None:
        Path(path).write_bytes(b"PAR1 cut short")
        raise OSError(errno.ENOSPC, "No space left on device")

    with monkeypatch.context() as patch:
        patch.setattr("sentiment_assets.lib.storage.values.write_parquet", full)
        results = ingest(instance, ["reviews_z", "reviews_new"])

    for key, result in results.items():
        assert not result.success
        message = failure_message(result)
        assert f"storing raw_reviews [{key}] failed: the disk is full" in message
        assert not [e for e in result.all_events if e.event_type_value == "STEP_UP_FOR_RETRY"]
    pd.testing.assert_frame_equal(_stored("stemmed_corpus", "reviews_z"), before)
    assert len(_stored("raw_reviews", "reviews_z")) == 300
    assert instance.get_materialized_partitions(dg.AssetKey("raw_reviews")) == {"reviews_z"}
    partial = ArtifactIOManager().store().files.path(Slot("raw_reviews", "reviews_new").folder)
    assert list(partial.glob("versions/*")) == []  # what the failed write began is gone


def test_a_partition_whose_stored_value_is_lost_fails_naming_it_and_a_removed_one_is_skipped(
    tmp_path: Path, instance
) -> None:
    manager = ArtifactIOManager(base_dir=str(tmp_path / "storage"))
    instance.add_dynamic_partitions(typed.name, ["kept", "lost", "removed"])
    for key in ["kept", "lost", "removed"]:
        dg.materialize(
            [table], partition_key=key, instance=instance, resources={"io_manager": manager}
        )
    manager.remove_partition(table.key, "removed")
    instance.delete_dynamic_partition(typed.name, "removed")
    assert list(manager.load_partitions(instance, table.key, partitions=typed)) == ["kept", "lost"]

    lost = manager.store().files.path(Slot("table", "lost").folder)
    (lost / POINTER).unlink()
    with pytest.raises(dg.Failure) as failure:
        manager.load_partitions(instance, table.key, partitions=typed)
    assert "table [lost] was materialized but its stored value is missing" in str(failure.value)
    assert str(lost) in str(failure.value)


def test_one_store_and_its_client_serve_every_read_of_a_location(
    tmp_path: Path, instance, monkeypatch: pytest.MonkeyPatch
) -> None:
    opened: list[str] = []

    def counted(location: str):
        opened.append(location)
        return open_files(location)

    monkeypatch.setattr(io_manager, "open_files", counted)
    manager = ArtifactIOManager(base_dir=str(tmp_path / "storage"))
    instance.add_dynamic_partitions(typed.name, ["a", "b"])
    for key in ["a", "b"]:
        dg.materialize(
            [table], partition_key=key, instance=instance, resources={"io_manager": manager}
        )
    opened.clear()  # each run sets up a copy of the resource, with a store of its own
    for _ in range(3):
        assert list(manager.load_partitions(instance, table.key, partitions=typed)) == ["a", "b"]
    assert opened == [str(tmp_path / "storage")]


class Note(BaseModel):
    text: str


class NoteConfig(dg.Config):
    text: str


@dg.asset
def note(config: NoteConfig) -> Note:
    return Note(text=config.text)


@dg.asset
def note_table(config: NoteConfig) -> pd.DataFrame:
    return pd.DataFrame({"text": [config.text]})


@pytest.mark.parametrize("asset", [note, note_table], ids=["json value", "table"])
def test_a_value_stored_again_replaces_its_own_version_not_another_value(
    tmp_path: Path, instance, asset: dg.AssetsDefinition
) -> None:
    """One kept version per content: re-running an asset that gives the value it gave before does
    not push the other values it gave out of the kept versions."""
    manager = ArtifactIOManager(base_dir=str(tmp_path / "storage"))
    for text in ["full", "cut", "cut", "cut"]:
        dg.materialize(
            [asset],
            instance=instance,
            resources={"io_manager": manager},
            run_config=dg.RunConfig({asset.key.path[-1]: NoteConfig(text=text)}),
        )
    slot = Slot(asset.key.path[-1], None)
    kept = [
        manager.store().read(slot, read_value, version=version)
        for version in manager.store().versions(slot)
    ]
    # A JSON value reads back as a dict, a table as a frame.
    texts = [value["text"] if isinstance(value, dict) else value["text"].iloc[0] for value in kept]
    assert texts == ["cut", "full"]
